import { expect } from 'chai';
import { Redis } from 'ioredis';
import { createClient, BasicClientSideCache } from 'redis';
import { serverPerTest } from './helpers.js';
import { until } from './tools-helpers.js';

describe('server: client-side caching with real clients (CLIENT TRACKING)', function () {
  this.timeout(30000);
  const srv = serverPerTest();
  // ioredis 6 speaks RESP3 by default and ignores `invalidate` pushes: RESP2 is the protocol it can cache with
  // (through a redirection to a subscribed connection).
  const ioredis = (): Redis => {
    const r = new Redis({ port: srv.port, host: '127.0.0.1', protocol: 2, maxRetriesPerRequest: 1, retryStrategy: () => null });
    srv.track(() => r.disconnect());
    return r;
  };
  const getCalls = async (r: Redis): Promise<number> => {
    const m = /cmdstat_get:calls=(\d+)/.exec(await r.info('commandstats'));
    return m ? Number(m[1]) : 0;
  };

  it('node-redis RESP3 clientSideCache: a cached GET is served locally, then invalidated by another client\'s SET', async () => {
    const cache = new BasicClientSideCache({ ttl: 0, maxEntries: 0 });
    const c = createClient({ socket: { port: srv.port, host: '127.0.0.1', reconnectStrategy: false }, RESP: 3, clientSideCache: cache });
    c.on('error', () => undefined);
    await c.connect();
    srv.track(() => c.destroy());
    const other = ioredis();
    await other.set('k', 'v1');
    expect(await c.get('k')).to.equal('v1');
    expect(await c.get('k')).to.equal('v1');
    // The second GET never reached the server: the library answered it from its cache.
    expect(cache.stats().hitCount).to.equal(1);
    expect(await getCalls(other)).to.equal(1);
    await other.set('k', 'v2');
    // The server's `>2 invalidate [k]` push drops the entry; without it the cache would answer v1 forever.
    await until(() => cache.size() === 0 || undefined, 5000);
    expect(await c.get('k')).to.equal('v2');
    expect(await getCalls(other)).to.equal(2);
    // FLUSHALL sends a null invalidation: the whole cache goes.
    expect(await c.get('k')).to.equal('v2');
    expect(cache.size()).to.equal(1);
    await other.flushall();
    await until(() => cache.size() === 0 || undefined, 5000);
    expect(await c.get('k')).to.equal(null);
  });

  it('ioredis RESP2: TRACKING ON REDIRECT sends invalidations to a client subscribed to __redis__:invalidate', async () => {
    const sub = ioredis();
    const reader = ioredis();
    const writer = ioredis();
    const id = Number(await sub.client('ID'));
    const got: unknown[] = [];
    // The payload is an array of keys (ioredis' 'message' would flatten it with toString()).
    sub.on('messageBuffer', (channel: Buffer, keys: Buffer[]) => got.push([channel.toString(), keys.map(String)]));
    await sub.subscribe('__redis__:invalidate');
    expect(await reader.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(id))).to.equal('OK');
    expect(await reader.call('CLIENT', 'GETREDIR')).to.equal(id);
    await writer.mset('a', '1', 'b', '1');
    expect(await reader.get('a')).to.equal('1');
    // b was not read through the tracking connection: no message for it.
    await writer.incr('b');
    await writer.incr('a');
    await until(() => got.length >= 1 || undefined, 5000);
    expect(got).to.deep.equal([['__redis__:invalidate', ['a']]]);
    // Once told, the server forgets the key for that client until it reads it again.
    await writer.incr('a');
    expect(await reader.get('b')).to.equal('2');
    await writer.incr('b');
    await until(() => got.length >= 2 || undefined, 5000);
    expect(got[1]).to.deep.equal(['__redis__:invalidate', ['b']]);
    const info = await writer.info('stats');
    expect(info).to.match(/tracking_total_keys:0\r\n/);
    expect(await writer.info('clients')).to.match(/tracking_clients:1\r\n/);
  });

  it('ioredis RESP2: BCAST with PREFIX and NOLOOP, redirected', async () => {
    const sub = ioredis();
    const bc = ioredis();
    const writer = ioredis();
    const id = Number(await sub.client('ID'));
    const got: unknown[] = [];
    sub.on('messageBuffer', (_channel: Buffer, keys: Buffer[]) => got.push(keys.map(String).sort()));
    await sub.subscribe('__redis__:invalidate');
    await bc.call('CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'user:', 'REDIRECT', String(id), 'NOLOOP');
    await bc.set('user:own', '1'); // its own change: NOLOOP leaves it out
    await writer.mset('user:1', 'x', 'user:2', 'x', 'other', 'x');
    await until(() => got.length >= 1 || undefined, 5000);
    expect(got).to.deep.equal([['user:1', 'user:2']]);
    expect(await bc.call('CLIENT', 'TRACKINGINFO')).to.deep.equal(['flags', ['on', 'bcast', 'noloop'], 'redirect', id, 'prefixes', ['user:']]);
  });
});
