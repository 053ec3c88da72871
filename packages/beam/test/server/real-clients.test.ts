import { expect } from 'chai';
import net from 'node:net';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { rawExchange, runCli, serverPerTest } from './helpers.js';
import { until } from './tools-helpers.js';


describe('server: real Redis clients', function () {
  this.timeout(30000);
  const srv = serverPerTest();
  const ioredis = (opts: Record<string, unknown> = {}): Redis => {
    const r = new Redis({ port: srv.port, host: '127.0.0.1', lazyConnect: false, maxRetriesPerRequest: 1, retryStrategy: () => null, ...opts });
    srv.track(() => r.disconnect());
    return r;
  };

  it('redis-cli: commands, INFO and a raw inline PING', async () => {
    expect((await runCli('redis-cli', ['-p', String(srv.port), 'ping'])).trim()).to.equal('PONG');
    expect((await runCli('redis-cli', ['-p', String(srv.port), 'set', 'k', 'hello world'])).trim()).to.equal('OK');
    expect((await runCli('redis-cli', ['-p', String(srv.port), 'get', 'k'])).trim()).to.equal('hello world');
    const info = await runCli('redis-cli', ['-p', String(srv.port), 'info', 'server']);
    expect(info).to.match(/^redis_version:7\.0\.\d+\r?$/m);
    expect(info).to.match(/^redis_mode:standalone\r?$/m);
    const ks = await runCli('redis-cli', ['-p', String(srv.port), 'info', 'keyspace']);
    expect(ks).to.match(/^db0:keys=1,expires=0,avg_ttl=0\r?$/m);
    const r = await rawExchange(srv.port, Buffer.from('PING\r\n'), (d) => d.length >= 7);
    expect(r.data.toString()).to.equal('+PONG\r\n');
    expect(r.closed).to.equal(false);
  });

  it('ioredis: connect, set/get, pipeline, connection name, binary values', async () => {
    const r = ioredis({ connectionName: 'beam-test' });
    expect(await r.set('a', '1')).to.equal('OK');
    expect(await r.get('a')).to.equal('1');
    const p = r.pipeline();
    for (let i = 0; i < 100; i++) p.incr('n');
    const res = await p.exec();
    expect(res!.map(([, v]) => v)).to.deep.equal(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(await r.client('GETNAME')).to.equal('beam-test');
    const bin = Buffer.from([0, 13, 10, 255, 128]);
    await r.set('bin', bin);
    expect((await r.getBuffer('bin'))!.equals(bin)).to.equal(true);
    expect(await r.config('GET', 'appendonly')).to.deep.equal(['appendonly', 'no']);
  });

  // node-redis 6 defaults to RESP3 (HELLO 3 on connect); RESP: 2 skips HELLO.
  for (const resp of [undefined, 2, 3] as const) {
    it(`node-redis (${resp === undefined ? 'default' : `RESP: ${resp}`}): connect, set/get, HELLO, CLIENT LIST, INFO`, async () => {
      const c = createClient({ socket: { port: srv.port, host: '127.0.0.1', reconnectStrategy: false }, ...(resp ? { RESP: resp } : {}) });
      c.on('error', () => undefined);
      await c.connect();
      srv.track(() => c.destroy());
      expect(await c.set('x', 'y')).to.equal('OK');
      expect(await c.get('x')).to.equal('y');
      expect(await c.ping()).to.equal('PONG');
      const list = await c.clientList();
      expect(list.length).to.be.greaterThan(0);
      const info = await c.info('server');
      expect(info).to.include('redis_version:7.0');
      const hello = JSON.stringify(await c.sendCommand(['HELLO']));
      // RESP2: a flat array; RESP3: a map, which node-redis turns into an object.
      expect(hello).to.include(resp === 2 ? '"proto",2' : '"proto":3');
      const me = (await c.sendCommand(['CLIENT', 'INFO'])) as unknown as string;
      expect(String(me)).to.match(new RegExp(`resp=${resp ?? 3} lib-name=node-redis`));
    });
  }

  it('pub/sub: PSUBSCRIBE with ioredis, RESP3 SUBSCRIBE with node-redis, PUBSUB introspection', async () => {
    const sub = ioredis();
    const pub = ioredis();
    const got: string[] = [];
    sub.on('pmessage', (pattern: string, channel: string, message: string) => got.push(`${pattern}|${channel}|${message}`));
    await sub.psubscribe('news.[a-c]*');
    const c3 = createClient({ socket: { port: srv.port, host: '127.0.0.1', reconnectStrategy: false }, RESP: 3 });
    c3.on('error', () => undefined);
    await c3.connect();
    srv.track(() => c3.destroy());
    const got3: string[] = [];
    await c3.subscribe('news.art', (m: string, ch: string) => got3.push(`${ch}|${m}`));
    expect(await pub.publish('news.art', 'hello')).to.equal(2);
    expect(await pub.publish('news.zoo', 'nope')).to.equal(0);
    await until(() => (got.length === 1 && got3.length === 1 ? true : undefined));
    expect(got).to.deep.equal(['news.[a-c]*|news.art|hello']);
    expect(got3).to.deep.equal(['news.art|hello']);
    expect(await pub.pubsub('NUMPAT')).to.equal(1);
    expect(await pub.pubsub('NUMSUB', 'news.art')).to.deep.equal(['news.art', 1]);
    expect(await pub.pubsub('CHANNELS')).to.deep.equal(['news.art']);
  });

  it('keyspace notifications follow notify-keyspace-events', async () => {
    const sub = ioredis();
    const w = ioredis();
    const got: string[] = [];
    sub.on('pmessage', (_p: string, ch: string, msg: string) => got.push(`${ch}=${msg}`));
    await sub.psubscribe('__key*@0__:*');
    await w.set('quiet', '1');
    expect(await w.config('SET', 'notify-keyspace-events', 'KE$g')).to.equal('OK');
    await w.set('k1', 'v');
    await w.del('k1');
    await until(() => (got.length >= 4 ? true : undefined));
    expect(got).to.deep.equal(['__keyspace@0__:k1=set', '__keyevent@0__:set=k1', '__keyspace@0__:k1=del', '__keyevent@0__:del=k1']);
  });

  it('MULTI/EXEC: a WATCHed key changed by another client aborts EXEC', async () => {
    const a = ioredis();
    const b = ioredis();
    await a.set('w', '1');
    await a.watch('w');
    await b.set('w', '2');
    expect(await a.multi().set('w', '3').get('w').exec()).to.equal(null);
    expect(await a.get('w')).to.equal('2');
    await a.watch('w');
    expect(await a.multi().set('w', '4').get('w').exec()).to.deep.equal([[null, 'OK'], [null, '4']]);
  });

  it('BLPOP blocks one connection only; the commands pipelined behind it wait', async () => {
    const a = ioredis();
    const b = ioredis();
    const order: string[] = [];
    const popped = a.blpop('q', 0).then((v) => {
      order.push('blpop');
      return v;
    });
    const after = a.echo('after').then((v) => {
      order.push('echo');
      return v;
    });
    expect(await b.ping()).to.equal('PONG');
    await until(async () => ((await b.info('clients')).includes('blocked_clients:1') ? true : undefined));
    expect(order).to.deep.equal([]);
    expect(await b.rpush('q', 'job')).to.equal(1);
    expect(await popped).to.deep.equal(['q', 'job']);
    expect(await after).to.equal('after');
    expect(order).to.deep.equal(['blpop', 'echo']);
  });

  it('bad input gets -ERR Protocol error and closes only that connection', async () => {
    const healthy = ioredis();
    await healthy.set('alive', 'yes');
    const bad: Array<[string, Buffer, string]> = [
      ['oversized bulk length', Buffer.from('*1\r\n$999999999999\r\n'), 'invalid bulk length'],
      ['broken array', Buffer.from('*2\r\n$3\r\nGET\r\n:1\r\n'), "expected '$', got ':'"],
      ['deep nesting', Buffer.from(`${'*1\r\n'.repeat(1000)}$4\r\nPING\r\n`), "expected '$', got '*'"],
      ['bad multibulk length', Buffer.from('*-x\r\n'), 'invalid multibulk length'],
      ['binary garbage', Buffer.concat([Buffer.from('*'), Buffer.from([0xff, 0xfe, 0x00, 0x01, 13, 10])]), 'invalid multibulk length'],
      ['unterminated inline line', Buffer.alloc(70 * 1024, 0x61), 'too big inline request'],
    ];
    for (const [name, bytes, why] of bad) {
      const r = await rawExchange(srv.port, bytes, () => false, 0, 3000);
      expect(r.data.toString('latin1'), name).to.equal(`-ERR Protocol error: ${why}\r\n`);
      expect(r.closed, name).to.equal(true);
    }
    expect(await healthy.get('alive')).to.equal('yes');
  });

  it('requirepass: NOAUTH before AUTH, clients with a password work', async () => {
    await srv.restart({ requirepass: 's3cret' });
    const r = await rawExchange(srv.port, Buffer.from('GET a\r\nAUTH nope\r\nAUTH s3cret\r\nPING\r\n'), (d) => d.toString().endsWith('+PONG\r\n'));
    expect(r.data.toString()).to.equal('-NOAUTH Authentication required.\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n+OK\r\n+PONG\r\n');
    const io = ioredis({ password: 's3cret' });
    expect(await io.ping()).to.equal('PONG');
    const c = createClient({ socket: { port: srv.port, host: '127.0.0.1', reconnectStrategy: false }, password: 's3cret', RESP: 3 });
    c.on('error', () => undefined);
    await c.connect();
    srv.track(() => c.destroy());
    expect(await c.ping()).to.equal('PONG');
  });

  it('contextPerConnection gives every connection its own keyspace', async () => {
    await srv.restart({ contextPerConnection: true });
    const a = ioredis();
    const b = ioredis();
    await a.set('mine', 'a');
    expect(await b.get('mine')).to.equal(null);
    expect(await a.get('mine')).to.equal('a');
  });

  it('reserved /beam keys: writes refused for clients, reads allowed', async () => {
    const a = ioredis();
    let msg = '';
    try {
      await a.set('/beam/x', '1');
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).to.match(/^ERR .*reserved/);
    expect(await a.get('/beam/x')).to.equal(null);
  });

  it('stops executing for a client that does not read its replies, and catches up later', async () => {
    const w = ioredis();
    await w.set('big', 'x'.repeat(100_000));
    const n = 400;
    const s = net.connect(srv.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    s.pause();
    s.write(Buffer.from('*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n'.repeat(n)));
    // The server stops executing that client's commands: the count stays put over two successive reads.
    const count = async (): Promise<number> => Number(/total_commands_processed:(\d+)/.exec(await w.info('stats'))![1]);
    let last = -1;
    const processed = await until(async () => {
      const now = await count();
      const stable = now === last + 1; // our own INFO is the only command in between
      last = now;
      return stable && now > 2 ? now : undefined;
    }, 10000);
    expect(processed).to.be.lessThan(n);
    let bytes = 0;
    const expected = n * (100_000 + 2 + '$100000\r\n'.length);
    await new Promise<void>((resolve) => {
      s.on('data', (d: Buffer) => {
        bytes += d.length;
        if (bytes >= expected) resolve();
      });
      s.resume();
    });
    expect(bytes).to.equal(expected);
    s.destroy();
  });

  it('closes a pub/sub client whose unread output passes the hard limit', async () => {
    await srv.restart({ limits: { pubsubHardLimit: 1024 * 1024 } });
    const s = net.connect(srv.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    s.write('SUBSCRIBE flood\r\n');
    await new Promise((r) => s.once('data', r));
    s.pause();
    const closed = new Promise((r) => s.once('close', r));
    const pub = ioredis();
    const big = 'x'.repeat(256 * 1024);
    let receivers = 1;
    for (let i = 0; i < 400 && receivers > 0; i++) receivers = await pub.publish('flood', big);
    expect(receivers).to.equal(0);
    s.resume();
    await closed;
    expect(await pub.ping()).to.equal('PONG');
  });

  it('redis-benchmark -t ping,set,get completes without errors', async function () {
    this.timeout(60000);
    const out = await runCli('redis-benchmark', ['-p', String(srv.port), '-t', 'ping,set,get', '-n', '20000', '-c', '50', '-q'], 60000);
    for (const t of ['PING_INLINE', 'PING_MBULK', 'SET', 'GET']) expect(out).to.match(new RegExp(`${t}: [\\d.]+ requests per second`));
    expect(out).to.not.match(/error/i);
  });
});
