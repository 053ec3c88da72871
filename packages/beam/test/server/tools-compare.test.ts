import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { BeamServer } from '../../src/server/server.js';
import { startServer } from './helpers.js';
import { runMonitor, runTool, until } from './tools-helpers.js';

/** A free TCP port on 127.0.0.1 (for redis-server, which cannot report a port it picked). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address() as net.AddressInfo;
      s.close(() => resolve(a.port));
    });
  });
}

/** The same redis-cli invocations against a real redis-server 7.0 and against Beam give the same output. */
describe('server: Beam vs a real redis-server (redis-cli output)', function () {
  this.timeout(30000);
  let server: BeamServer;
  let beamPort: number;
  let redisPort: number;
  let redis: ChildProcess | null = null;
  let redisDir = '';

  before(async function () {
    redisPort = await freePort();
    redisDir = mkdtempSync(path.join(os.tmpdir(), 'beam-redis-'));
    redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', redisDir], { stdio: 'ignore' });
    try {
      await until(async () => ((await runTool('redis-cli', ['-p', String(redisPort), 'ping'])).stdout.trim() === 'PONG' ? true : undefined), 5000);
    } catch {
      this.skip();
    }
    ({ server, port: beamPort } = await startServer());
  });
  after(async () => {
    redis?.kill('SIGKILL');
    await server?.close();
    if (redisDir) rmSync(redisDir, { recursive: true, force: true });
  });

  async function both(cmds: string[][], resp3 = false): Promise<[string, string]> {
    const out: string[] = [];
    for (const p of [redisPort, beamPort]) {
      await runTool('redis-cli', ['-p', String(p), 'flushall']);
      let s = '';
      for (const c of cmds) {
        const r = await runTool('redis-cli', ['-p', String(p), ...(resp3 ? ['-3'] : []), ...c]);
        s += `> ${c.join(' ')}\n${r.stdout}${r.stderr}`;
      }
      out.push(s);
    }
    return [out[0]!, out[1]!];
  }

  it('sorted set commands: replies, errors and score formatting', async () => {
    const [want, got] = await both([
      ['zadd', 'zz', '1.1', 'a', '1e20', 'b', 'inf', 'c', '-0.0', 'd', '123456789012345678', 'e'],
      ['zrange', 'zz', '0', '-1', 'withscores'], ['zscore', 'zz', 'a'], ['zadd', 'zz', '1.1.1', 'x'], ['zadd', 'zz', 'nan', 'x'],
      ['zincrby', 'zz', '0.1', 'a'], ['zadd', 'zz', 'xx', 'nx', '1', 'a'], ['zadd', 'zz', 'incr', '1', 'a', '2', 'b'],
      ['zadd', 'zz', 'gt', 'lt', '1', 'a'], ['zadd', 'zz', 'ch', 'gt', '5', 'e', '200', 'new'], ['zpopmin', 'zz', '2'],
      ['zpopmin', 'zz', '-1'], ['zrangebyscore', 'zz', '(1', '+inf', 'limit', '0', '1'],
      ['zrange', 'zz', '(1', '+inf', 'byscore', 'withscores'], ['zrange', 'zz', '0', '-1', 'rev'],
      ['zrevrangebyscore', 'zz', '+inf', '0', 'withscores', 'limit', '1', '2'], ['zcount', 'zz', '(1', '1e20'],
      ['zrank', 'zz', 'e'], ['zrevrank', 'zz', 'e'], ['zrank', 'zz', 'nope'], ['zadd', 'zz', 'nx', 'incr', '1', 'e'],
      ['zincrby', 'zz', 'inf', 'c'], ['zincrby', 'zz', '-inf', 'c'], ['zpopmax', 'zz'], ['zrem', 'zz', 'nope', 'c'],
      ['zmscore', 'zz', 'e', 'nope'], ['zcard', 'zz'], ['type', 'zz'], ['zrange', 'zz', '0', '-1', 'limit', '0', '1'],
      ['zadd', 'lex', '0', 'a', '0', 'b', '0', 'c', '0', 'd'], ['zrangebylex', 'lex', '(a', '[c'],
      ['zrevrangebylex', 'lex', '+', '-', 'limit', '1', '2'], ['zlexcount', 'lex', '-', '+'], ['zremrangebylex', 'lex', '-', '(b'],
      ['zremrangebyrank', 'lex', '0', '0'], ['zremrangebyscore', 'lex', '-inf', 'inf'], ['exists', 'lex'],
      ['zrange', 'lex', '[a', '+', 'bylex', 'withscores'], ['set', 's', 'x'], ['zadd', 's', '1', 'a'], ['zpopmin', 'nokey'],
    ]);
    expect(got).to.equal(want);
  });

  it('large ZADD/ZREM calls (the bulk paths) with repeated members, GT and CH', async () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pairs = Array.from({ length: 400 }, () => [String(rnd(50) / 4), `m${rnd(300)}`]).flat();
    const [want, got] = await both([
      ['zadd', 'big', ...pairs], ['zrange', 'big', '0', '-1', 'withscores'],
      ['zrem', 'big', ...Array.from({ length: 150 }, (_, i) => `m${i * 2}`)], ['zrange', 'big', '0', '-1', 'withscores'],
      ['zadd', 'big', 'ch', 'gt', ...pairs.reverse()], ['zrange', 'big', '0', '-1', 'withscores'],
    ]);
    expect(got).to.equal(want);
  });

  it('sorted set replies in RESP3', async () => {
    const [want, got] = await both([
      ['zadd', 'z', '1', 'a', '2', 'b', '3', 'c'], ['zrange', 'z', '0', '-1', 'withscores'], ['zpopmin', 'z'], ['zpopmin', 'z', '1'],
      ['zscore', 'z', 'c'], ['zadd', 'z', 'incr', '1', 'c'], ['zmscore', 'z', 'c', 'x'], ['zrevrange', 'z', '0', '-1', 'withscores'],
    ], true);
    expect(got).to.equal(want);
  });

  it('OBJECT ENCODING/REFCOUNT/FREQ and MEMORY USAGE of small values', async () => {
    const [want, got] = await both([
      ['set', 'int', '12345'], ['set', 'shared', '12'], ['set', 'emb', 'hello world'], ['set', 'raw', 'x'.repeat(50)],
      ['rpush', 'l', 'a', 'b'], ['hset', 'h', 'f', 'v'], ['sadd', 'si', '1', '2'], ['sadd', 'ss', 'a'], ['zadd', 'z', '1', 'a'],
      ...['int', 'shared', 'emb', 'raw', 'l', 'h', 'si', 'ss', 'z', 'nokey'].flatMap((k) => [
        ['object', 'encoding', k], ['object', 'refcount', k], ['memory', 'usage', k],
      ]),
      ['object', 'freq', 'int'], ['memory', 'usage', 'int', 'samples'], ['object', 'nosuch', 'x'],
    ]);
    expect(got).to.equal(want);
  });

  it('an RDB written by SAVE loads into redis-server with the same values (zsets included)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'beam-save-'));
    const { server: saver, port: sp } = await startServer({ config: { dir } });
    const cmds = [['zadd', 'z', '1.5', 'a', '-inf', 'b', '1e300', 'c', '0', 'd'], ['rpush', 'l', 'x', 'y'], ['hset', 'h', 'f', 'v'],
      ['sadd', 's', '1', 'two'], ['set', 'n', '42'], ['set', 't', 'text'], ['pexpire', 't', '600000']];
    let child: ChildProcess | null = null;
    try {
      for (const c of cmds) await runTool('redis-cli', ['-p', String(sp), ...c]);
      expect((await runTool('redis-cli', ['-p', String(sp), 'save'])).stdout.trim()).to.equal('OK');
      const lp = await freePort();
      child = spawn('redis-server', ['--port', String(lp), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', 'dump.rdb', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      await until(async () => ((await runTool('redis-cli', ['-p', String(lp), 'ping'])).stdout.trim() === 'PONG' ? true : undefined), 5000);
      const reads = [['zrange', 'z', '0', '-1', 'withscores'], ['lrange', 'l', '0', '-1'], ['hgetall', 'h'], ['smembers', 's'],
        ['get', 'n'], ['get', 't'], ['dbsize']];
      const outs: string[] = [];
      for (const p of [sp, lp]) {
        let o = '';
        for (const c of reads) o += (await runTool('redis-cli', ['-p', String(p), ...c])).stdout.split('\n').sort().join('\n');
        outs.push(o);
      }
      expect(outs[1]).to.equal(outs[0]);
      expect(outs[0]).to.contain('1.5').and.contain('-inf').and.contain('1e+300');
      expect(Number((await runTool('redis-cli', ['-p', String(lp), 'pttl', 't'])).stdout)).to.be.within(1, 600000);
    } finally {
      child?.kill('SIGKILL');
      await saver.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a redis-server replica of Beam receives sorted sets in the RDB and in the stream', async () => {
    const { server: master, port: mp } = await startServer();
    // The replica writes the RDB it receives to its dir.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'beam-replica-'));
    let child: ChildProcess | null = null;
    try {
      const cli = (p: number, ...a: string[]): Promise<string> => runTool('redis-cli', ['-p', String(p), ...a]).then((r) => r.stdout);
      await cli(mp, 'zadd', 'before', '1', 'a', '2', 'b', '3', 'c');
      const rp = await freePort();
      child = spawn('redis-server', ['--port', String(rp), '--bind', '127.0.0.1', '--replicaof', '127.0.0.1', String(mp), '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
      await until(async () => ((await cli(rp, 'info', 'replication')).includes('master_link_status:up') ? true : undefined), 8000);
      await cli(mp, 'zadd', 'after', '1.25', 'x', '2', 'y');
      await cli(mp, 'zincrby', 'before', '10', 'a');
      await cli(mp, 'zpopmin', 'before');
      await cli(mp, 'zremrangebyscore', 'after', '2', '2');
      const want = (await cli(mp, 'zrange', 'before', '0', '-1', 'withscores')) + (await cli(mp, 'zrange', 'after', '0', '-1', 'withscores'));
      await until(async () => {
        const got = (await cli(rp, 'zrange', 'before', '0', '-1', 'withscores')) + (await cli(rp, 'zrange', 'after', '0', '-1', 'withscores'));
        return got === want ? true : undefined;
      }, 5000);
      expect(want).to.equal('c\n3\na\n11\nx\n1.25\n');
    } finally {
      child?.kill('SIGKILL');
      await master.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('MONITOR lines match Redis\' (timestamps and ports aside)', async () => {
    const lines: string[] = [];
    for (const p of [redisPort, beamPort]) {
      const monitor = runMonitor(['-p', String(p)], { until: (o) => o.includes('"lastsave"'), timeoutMs: 8000 });
      const mon = monitor.done;
      await Promise.race([monitor.started, mon]);
      for (const c of [['set', 'k', 'a b"c\n\x01\\'], ['-n', '2', 'incr', 'n'], ['auth', 'pw'], ['hello', '3', 'auth', 'default', 'pw'],
        ['config', 'get', 'maxmemory'], ['client', 'setname', 'x'], ['client', 'list'], ['object', 'encoding', 'k'], ['slowlog', 'len'],
        ['get'], ['nosuchcommand'], ['lastsave']]) {
        await runTool('redis-cli', ['-p', String(p), ...c]);
      }
      const out = (await mon).stdout;
      lines.push(out.split('\n').filter((l) => /^\d+\.\d{6} \[/.test(l))
        .map((l) => l.replace(/^\d+\.\d{6} \[(\d+) 127\.0\.0\.1:\d+\]/, '[$1]').replace(/^\[\d+\] "COMMAND" "DOCS"$/, ''))
        .filter((l) => l !== '').join('\n'));
    }
    expect(lines[0]).to.contain('[0] "set" "k"').and.contain('"(redacted)"');
    expect(lines[1]).to.equal(lines[0]);
  });
});
