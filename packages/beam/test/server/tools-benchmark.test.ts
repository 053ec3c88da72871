import { expect } from 'chai';
import type { BeamServer } from '../../src/server/server.js';
import { startServer } from './helpers.js';
import { runTool } from './tools-helpers.js';

/** redis-benchmark's default suite and common flags run to the end without a server error. */
describe('server: redis-benchmark', function () {
  this.timeout(60000);
  let server: BeamServer;
  let port: number;
  const bench = (args: string[]): ReturnType<typeof runTool> =>
    runTool('redis-benchmark', ['-p', String(port), ...args], { timeoutMs: 45000 });

  beforeEach(async () => {
    ({ server, port } = await startServer());
  });
  afterEach(async () => {
    await server.close();
  });

  it('the default suite (-q) completes every test', async () => {
    const r = await bench(['-n', '200', '-c', '4', '-q']);
    expect(r.code).to.equal(0);
    const text = (r.stdout + r.stderr).replace(/\r/g, '\n');
    expect(text).not.to.match(/error/i);
    for (const t of ['PING_INLINE', 'PING_MBULK', 'SET', 'GET', 'INCR', 'LPUSH', 'RPUSH', 'LPOP', 'RPOP', 'SADD', 'HSET', 'SPOP',
      'ZADD', 'ZPOPMIN', 'LRANGE_100 (first 100 elements)', 'LRANGE_600 (first 600 elements)', 'MSET (10 keys)']) {
      expect(text).to.match(new RegExp(`^${t.replace(/[()]/g, '\\$&')}: [\\d.]+ requests per second`, 'm'), t);
    }
  });

  it('--csv -t, -P pipelining, -d sizes, -r random keys, --threads', async () => {
    const csv = await bench(['-n', '200', '-t', 'set,get,zadd,lpush', '--csv']);
    expect(csv.code).to.equal(0);
    const rows = csv.stdout.trim().split('\n');
    expect(rows[0]).to.match(/^"test","rps"/);
    expect(rows.slice(1).map((l) => l.split(',')[0])).to.deep.equal(['"SET"', '"GET"', '"LPUSH"', '"ZADD"']);
    const piped = await bench(['-n', '2000', '-P', '16', '-t', 'set', '-q']);
    expect(piped.stdout).to.match(/SET: [\d.]+ requests per second/);
    const sized = await bench(['-n', '200', '-d', '1000', '-t', 'set,get', '-q']);
    expect(sized.stdout).to.match(/GET: [\d.]+ requests per second/);
    const r = await bench(['-n', '500', '-r', '100000', '-t', 'set', '-q']);
    expect(r.stdout).to.match(/SET: [\d.]+ requests per second/);
    const keys = server.context!.dbsize(0);
    expect(keys).to.be.greaterThan(50);
    const threads = await bench(['-n', '400', '--threads', '2', '-t', 'get,incr', '-q']);
    expect(threads.code).to.equal(0);
    expect(threads.stdout).to.match(/INCR: [\d.]+ requests per second/);
  });
});
