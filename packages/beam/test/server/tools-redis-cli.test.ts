import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { BeamServer } from '../../src/server/server.js';
import { startServer } from './helpers.js';
import { runMonitor, runTool, until, type ToolOptions } from './tools-helpers.js';

/** redis-cli (Debian's redis-tools 7.0) in the modes people use, against a Beam server. */
describe('server: redis-cli modes', function () {
  this.timeout(30000);
  let server: BeamServer;
  let port: number;
  let dir: string;
  const cli = (args: string[], opts: ToolOptions = {}): ReturnType<typeof runTool> => runTool('redis-cli', ['-p', String(port), ...args], opts);
  const cleanups: Array<() => unknown> = [];

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'beam-cli-'));
    ({ server, port } = await startServer({ config: { dir } }));
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('-x, -r/-i, --raw/--no-raw, -3 and --scan --pattern', async () => {
    expect((await cli(['-x', 'set', 'fromstdin'], { input: 'line1\nline2\n' })).stdout.trim()).to.equal('OK');
    expect((await cli(['--raw', 'get', 'fromstdin'])).stdout).to.equal('line1\nline2\n\n');
    expect((await cli(['--no-raw', 'get', 'fromstdin'])).stdout.trim()).to.equal('"line1\\nline2\\n"');
    expect((await cli(['-r', '5', '-i', '0.01', 'incr', 'ctr'])).stdout.trim().split('\n')).to.deep.equal(['1', '2', '3', '4', '5']);
    const hello = (await cli(['-3', 'hello', '3'])).stdout;
    expect(hello).to.match(/^proto\s*\n?3$/m);
    for (let i = 0; i < 30; i++) await cli(['set', `user:${i}`, 'x']);
    const scan = (await cli(['--scan', '--pattern', 'user:1*'])).stdout.trim().split('\n').sort();
    expect(scan).to.deep.equal(['user:1', ...Array.from({ length: 10 }, (_, i) => `user:1${i}`)].sort());
  });

  it('--bigkeys and --memkeys see every type, --pipe mass insertion', async () => {
    const lines: string[] = [];
    const resp = (...a: string[]): string => `*${a.length}\r\n${a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`;
    for (let i = 0; i < 500; i++) lines.push(resp('SET', `k${i}`, `v${i}`));
    for (let i = 0; i < 50; i++) lines.push(resp('RPUSH', 'biglist', `e${i}`), resp('HSET', 'bighash', `f${i}`, 'v'), resp('SADD', 'bigset', `m${i}`), resp('ZADD', 'bigz', String(i), `m${i}`));
    const pipe = await cli(['--pipe'], { input: lines.join('') });
    expect(pipe.code).to.equal(0);
    expect(pipe.stdout).to.contain('errors: 0, replies: 700');
    expect((await cli(['dbsize'])).stdout.trim()).to.equal('504');
    const big = (await cli(['--bigkeys'])).stdout;
    expect(big).to.contain('Biggest   list found \'"biglist"\' has 50 items').and.contain('Biggest   zset found \'"bigz"\' has 50 members');
    expect(big).to.match(/500 strings with/).and.match(/1 zsets with 50 members/).and.match(/1 hashs with 50 fields/);
    const mem = (await cli(['--memkeys'])).stdout;
    expect(mem).to.match(/1 zsets with [1-9]\d* bytes/).and.match(/500 strings with [1-9]\d* bytes/);
  });

  it('MONITOR streams other clients\' commands in Redis\' format, hides admin commands, redacts AUTH', async () => {
    const monitor = runMonitor(['-p', String(port)], { until: (o) => o.includes('"ping"'), timeoutMs: 8000 });
    const mon = monitor.done;
    await Promise.race([monitor.started, mon]);
    await cli(['set', 'a b', 'x"y\n\x01']);
    await cli(['-n', '3', 'incr', 'n']);
    await cli(['config', 'get', 'maxmemory']);
    expect((await cli(['client', 'list'])).stdout).to.match(/ flags=O .* cmd=monitor /);
    await cli(['monitor'], { stopAfterMs: 200 });
    await cli(['ping']);
    const out = (await mon).stdout;
    const lines = out.split('\n').filter((l) => /^\d+\.\d{6} \[/.test(l));
    expect(lines.find((l) => l.includes('"set"'))).to.match(/^\d{10}\.\d{6} \[0 127\.0\.0\.1:\d+\] "set" "a b" "x\\"y\\n\\x01"$/);
    expect(lines.some((l) => /^\d+\.\d+ \[3 127\.0\.0\.1:\d+\] "incr" "n"$/.test(l))).to.equal(true);
    expect(out).not.to.contain('"config"');
    expect(out).not.to.match(/"client" "list"/);
  });

  it('--stat and --latency run against the server', async () => {
    await cli(['set', 'k', 'v']);
    // redis-cli block-buffers a pipe: stdbuf makes --stat's lines arrive as printed.
    const stat = await runTool('stdbuf', ['-oL', 'redis-cli', '-p', String(port), '--stat', '-i', '0.2'], {
      until: (o) => o.split('\n').length > 4, timeoutMs: 5000,
    });
    expect(stat.stdout).to.contain('keys       mem      clients blocked requests');
    expect(stat.stdout).to.match(/^1\s+\S+\s+1\s+0\s+\d+ \(\+\d+\)\s+\d+/m);
    // Without a terminal --latency samples for about a second, prints `min max avg samples` and exits.
    const lat = await cli(['--latency'], { timeoutMs: 5000 });
    expect(lat.stdout.trim()).to.match(/^\d+ \d+ [\d.]+ \d+$/);
  });

  it('SAVE/BGSAVE write dir/dbfilename (redis-check-rdb accepts it); LASTSAVE, INFO persistence, protected dir', async () => {
    await cli(['set', 's', 'v']);
    await cli(['zadd', 'z', '1', 'a', '2.5', 'b']);
    await cli(['hset', 'h', 'f', 'v']);
    expect((await cli(['config', 'set', 'dir', '/tmp'])).stdout).to.contain("can't set protected config");
    const before = Number((await cli(['lastsave'])).stdout.trim());
    expect((await cli(['save'])).stdout.trim()).to.equal('OK');
    const file = path.join(dir, 'dump.rdb');
    expect(existsSync(file)).to.equal(true);
    const check = await runTool('redis-check-rdb', [file]);
    expect(check.stdout + check.stderr).to.contain('RDB looks OK');
    expect(check.stdout + check.stderr).to.match(/keys read: 3|3 keys read|\[info\] 3 keys read/);
    expect(Number((await cli(['lastsave'])).stdout.trim())).to.be.at.least(before);
    expect((await cli(['info', 'persistence'])).stdout).to.match(/rdb_changes_since_last_save:0/);
    rmSync(file);
    expect((await cli(['bgsave'])).stdout.trim()).to.equal('Background saving started');
    await until(() => (existsSync(file) ? true : undefined));
  });

  it('--user/--pass and -a authenticate; a wrong password is refused', async () => {
    await server.close();
    ({ server, port } = await startServer({ requirepass: 'sekret', config: { dir } }));
    expect((await cli(['ping'])).stdout).to.contain('NOAUTH');
    expect((await cli(['--user', 'default', '--pass', 'sekret', 'ping'])).stdout.trim()).to.equal('PONG');
    expect((await cli(['-a', 'sekret', '--no-auth-warning', 'ping'])).stdout.trim()).to.equal('PONG');
    const bad = await cli(['--user', 'default', '--pass', 'nope', 'ping']);
    expect(bad.stdout + bad.stderr).to.match(/WRONGPASS|NOAUTH/);
  });

  it('CLIENT LIST/INFO in Redis 7.0 field order, CLIENT KILL variants, NO-EVICT, SELECT range', async () => {
    const r = new Redis({ port, host: '127.0.0.1', connectionName: 'victim', retryStrategy: () => null, maxRetriesPerRequest: 0 });
    r.on('error', () => undefined);
    cleanups.push(() => r.disconnect());
    await r.ping();
    const list = (await cli(['client', 'list'])).stdout;
    const mine = list.split('\n').find((l) => l.includes('cmd=client|list'))!;
    const fields = mine.split(' ').map((f) => f.split('=')[0]);
    expect(fields).to.deep.equal(['id', 'addr', 'laddr', 'fd', 'name', 'age', 'idle', 'flags', 'db', 'sub', 'psub', 'ssub', 'multi',
      'qbuf', 'qbuf-free', 'argv-mem', 'multi-mem', 'rbs', 'rbp', 'obl', 'oll', 'omem', 'tot-mem', 'events', 'cmd', 'user', 'redir', 'resp']);
    expect((await cli(['client', 'info'])).stdout).to.match(/^id=\d+ addr=127\.0\.0\.1:\d+ .* cmd=client\|info /);
    const victim = list.split('\n').find((l) => l.includes('name=victim'))!;
    const id = /id=(\d+)/.exec(victim)![1]!;
    const addr = /addr=(\S+)/.exec(victim)![1]!;
    expect((await cli(['client', 'kill', 'id', '999999'])).stdout.trim()).to.equal('0');
    expect((await cli(['client', 'kill', addr])).stdout.trim()).to.equal('OK');
    await until(() => (r.status === 'end' || r.status === 'close' ? true : undefined));
    expect((await cli(['client', 'kill', 'id', id])).stdout.trim()).to.equal('0');
    expect((await cli(['client', 'kill', 'user', 'default', 'skipme', 'yes'])).stdout.trim()).to.equal('0');
    expect((await cli(['client', 'kill', 'laddr', `127.0.0.1:${port}`, 'skipme', 'no'])).stdout.trim()).to.equal('1');
    expect((await cli(['client', 'no-evict', 'on'])).stdout.trim()).to.equal('OK');
    expect((await cli(['select', '16'])).stdout).to.contain('ERR DB index is out of range');
    expect((await cli(['-n', '15', 'ping'])).stdout.trim()).to.equal('PONG');
  });

  it('SHUTDOWN: the server emits shutdown (or closes itself without a listener); SHUTDOWN ABORT errors', async () => {
    expect((await cli(['shutdown', 'abort'])).stdout).to.contain('ERR No shutdown in progress.');
    let fired = 0;
    server.on('shutdown', () => fired++);
    const r = await cli(['shutdown', 'nosave']);
    expect(r.stdout + r.stderr).not.to.contain('ERR');
    expect(fired).to.equal(1);
    server.removeAllListeners('shutdown');
    await cli(['shutdown']);
    await until(() => (server.address() === null ? true : undefined));
  });
});
