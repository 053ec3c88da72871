import { expect } from 'chai';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { BeamClient } from '../../src/client/beam-client.js';
import { createServer } from '../../src/server/server.js';
import { serverPerTest } from './helpers.js';
import { until } from './tools-helpers.js';

/** ioredis 6 and node-redis 6 features people rely on, against a Beam server. */
describe('server: client libraries (ioredis, node-redis)', function () {
  this.timeout(30000);
  const srv = serverPerTest();
  const ioredis = (opts: Record<string, unknown> = {}): Redis => {
    const r = new Redis({ port: srv.port, host: '127.0.0.1', maxRetriesPerRequest: 1, ...opts });
    r.on('error', () => undefined);
    srv.track(() => r.disconnect());
    return r;
  };
  const nodeRedis = async () => {
    const c = createClient({ socket: { port: srv.port, host: '127.0.0.1', reconnectStrategy: false } });
    c.on('error', () => undefined);
    await c.connect();
    srv.track(() => c.destroy());
    return c;
  };

  it('ioredis: ready check, keyPrefix, lazyConnect, scanStream, multi, autopipelining, zsets, monitor', async () => {
    const lazy = ioredis({ lazyConnect: true, keyPrefix: 'app:' });
    expect(lazy.status).to.equal('wait');
    await lazy.connect();
    expect(lazy.status).to.equal('ready');
    await lazy.set('k', 'v');
    const plain = ioredis();
    expect(await plain.get('app:k')).to.equal('v');
    const p = plain.pipeline();
    for (let i = 0; i < 250; i++) p.set(`scan:${i}`, String(i));
    await p.exec();
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const s = plain.scanStream({ match: 'scan:*', count: 50 });
      s.on('data', (keys: string[]) => seen.push(...keys));
      s.on('end', () => resolve());
      s.on('error', reject);
    });
    expect(new Set(seen).size).to.equal(250);
    const m = await plain.multi().incr('ctr').incr('ctr').get('ctr').exec();
    expect(m!.map(([e, v]) => [e, v])).to.deep.equal([[null, 1], [null, 2], [null, '2']]);
    const auto = ioredis({ enableAutoPipelining: true });
    const res = await Promise.all(Array.from({ length: 100 }, (_, i) => auto.incrby('auto', i)));
    expect(res[99]).to.equal(4950);
    await plain.zadd('board', 10, 'ann', 20, 'bob', 15, 'cy');
    expect(await plain.zrange('board', '0', '-1', 'WITHSCORES')).to.deep.equal(['ann', '10', 'cy', '15', 'bob', '20']);
    expect(await plain.zrevrangebyscore('board', '+inf', '12')).to.deep.equal(['bob', 'cy']);
    const monitor = await plain.monitor();
    srv.track(() => monitor.disconnect());
    const got: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => got.push(args));
    await auto.set('watched', '1');
    await until(() => (got.some((a) => a[0] === 'set' && a[1] === 'watched') ? true : undefined));
  });

  it('ioredis: pub/sub with patterns, and reconnect after a server restart', async () => {
    const sub = ioredis();
    const pub = ioredis();
    const msgs: string[] = [];
    sub.on('message', (ch: string, m: string) => msgs.push(`${ch}:${m}`));
    sub.on('pmessage', (pat: string, ch: string, m: string) => msgs.push(`${pat}|${ch}:${m}`));
    await sub.subscribe('news');
    await sub.psubscribe('ev.*');
    await pub.publish('news', 'hi');
    await pub.publish('ev.one', 'x');
    await until(() => (msgs.length === 2 ? true : undefined));
    expect(msgs).to.deep.equal(['news:hi', 'ev.*|ev.one:x']);

    const r = ioredis({ retryStrategy: () => 50, maxRetriesPerRequest: 20 });
    await r.set('before', '1');
    await srv.server.close();
    srv.server = createServer({ host: '127.0.0.1', port: srv.port, contextOptions: { activeExpireInterval: 0 } });
    await until(async () => {
      try {
        await srv.server.listen();
        return true;
      } catch {
        return undefined;
      }
    });
    expect(await r.get('before')).to.equal(null);
    expect(await r.set('after', '2')).to.equal('OK');
    await until(() => (sub.status === 'ready' ? true : undefined));
    await r.publish('news', 'again');
    await until(() => (msgs.includes('news:again') ? true : undefined));
  });

  it('the Beam mirror loads sorted sets from the snapshot and follows ZADD/ZPOPMIN in the stream', async () => {
    const r = ioredis();
    await r.zadd('z', 1, 'a', 2.5, 'b', 3, 'c');
    const client = new BeamClient({ port: srv.port });
    srv.track(() => client.close());
    const mirror = await client.sync();
    srv.track(() => mirror.close());
    expect(mirror.type('z')).to.equal('zset');
    expect(mirror.get('z')).to.deep.equal(new Map([['a', 1], ['b', 2.5], ['c', 3]]));
    await r.zadd('z', 0.5, 'new');
    await r.zpopmax('z');
    await until(() => ((mirror.get('z') as Map<string, number>).has('new') ? true : undefined));
    expect(mirror.get('z')).to.deep.equal(new Map([['a', 1], ['b', 2.5], ['new', 0.5]]));
  });

  it('node-redis: RESP3 HELLO + CLIENT SETINFO, scan iterators, WATCH on a duplicate, blocking pop, pub/sub, sendCommand', async () => {
    const c = await nodeRedis();
    const info = await c.sendCommand(['CLIENT', 'INFO']);
    expect(String(info)).to.match(/resp=3/).and.match(/lib-name=node-redis/);
    for (let i = 0; i < 150; i++) await c.set(`it:${i}`, 'v');
    await c.hSet('h', Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`f${i}`, String(i)])));
    await c.sAdd('s', Array.from({ length: 300 }, (_, i) => `m${i}`));
    await c.zAdd('z', Array.from({ length: 140 }, (_, i) => ({ score: i, value: `z${i}` })));
    const keys: string[] = [];
    for await (const batch of c.scanIterator({ MATCH: 'it:*', COUNT: 40 })) keys.push(...batch);
    expect(new Set(keys).size).to.equal(150);
    const fields: string[] = [];
    for await (const batch of c.hScanIterator('h', { COUNT: 50 })) fields.push(...batch.map((e) => e.field));
    expect(new Set(fields).size).to.equal(200);
    const members: string[] = [];
    for await (const batch of c.sScanIterator('s', { COUNT: 50 })) members.push(...batch);
    expect(new Set(members).size).to.equal(300);
    const zs: number[] = [];
    for await (const batch of c.zScanIterator('z', { COUNT: 50 })) zs.push(...batch.map((e) => e.score));
    expect(zs.length).to.equal(140);
    expect(zs.reduce((a, b) => a + b, 0)).to.equal((139 * 140) / 2);
    expect(await c.zRangeWithScores('z', 0, 1)).to.deep.equal([{ value: 'z0', score: 0 }, { value: 'z1', score: 1 }]);

    const iso = c.duplicate();
    iso.on('error', () => undefined);
    await iso.connect();
    srv.track(() => iso.destroy());
    await iso.watch('w');
    await c.set('w', 'changed');
    const aborted = await iso.multi().set('w', 'mine').exec().then(() => 'ran', (e: Error) => e.message);
    expect(aborted).to.match(/watched keys has been changed/);
    expect(await c.get('w')).to.equal('changed');
    await iso.watch('w');
    expect(await iso.multi().set('w', 'mine').exec()).to.deep.equal(['OK']);

    const blocked = iso.blPop('q', 5);
    await until(async () => ((await c.info('clients')).includes('blocked_clients:1') ? true : undefined));
    await c.rPush('q', 'job');
    expect(await blocked).to.deep.equal({ key: 'q', element: 'job' });

    const sub = c.duplicate();
    sub.on('error', () => undefined);
    await sub.connect();
    srv.track(() => sub.destroy());
    const got: string[] = [];
    await sub.subscribe('chan', (m) => got.push(`chan:${m}`));
    await sub.pSubscribe('p.*', (m, ch) => got.push(`${ch}:${m}`));
    await c.publish('chan', 'a');
    await c.publish('p.x', 'b');
    await until(() => (got.length === 2 ? true : undefined));
    expect(got.sort()).to.deep.equal(['chan:a', 'p.x:b']);
    expect(await c.sendCommand(['ECHO', 'raw'])).to.equal('raw');
  });
});
