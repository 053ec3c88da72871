import { expect } from 'chai';
import { Redis } from 'ioredis';
import { words, type Parsed } from '../context/helpers.js';
import { differentialPair, rawExchange, serverPerTest } from './helpers.js';
import { until } from './tools-helpers.js';

const resp = (...lines: string[]): Buffer => Buffer.from(lines.map((l) => {
  const w = l.split(' ');
  return `*${w.length}\r\n${w.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`;
}).join(''));

describe('server: CLIENT TRACKING', function () {
  this.timeout(30000);
  const srv = serverPerTest();
  const conn = (): Redis => {
    const r = new Redis({ port: srv.port, host: '127.0.0.1', protocol: 2, maxRetriesPerRequest: 1, retryStrategy: () => null });
    srv.track(() => r.disconnect());
    return r;
  };
  /** A RESP2 connection subscribed to __redis__:invalidate; `got` collects the invalidated key lists (null = all). */
  const redirection = async (): Promise<{ id: number; got: Array<string[] | null> }> => {
    const sub = conn();
    const id = Number(await sub.client('ID'));
    const got: Array<string[] | null> = [];
    sub.on('messageBuffer', (_c: Buffer, keys: Buffer[] | null) => got.push(keys === null ? null : keys.map(String)));
    await sub.subscribe('__redis__:invalidate');
    return { id, got };
  };

  it('RESP3: an invalidation caused by the client itself comes after its command\'s reply (and after EXEC\'s)', async () => {
    const r = await rawExchange(srv.port, resp('HELLO 3', 'CLIENT TRACKING on', 'SET k 1', 'GET k', 'INCR k', 'GET k',
      'MULTI', 'INCR k', 'EXEC', 'PING'), (d) => d.includes('+PONG'));
    const text = r.data.toString();
    const tail = text.slice(text.indexOf('+OK\r\n+OK\r\n'));
    expect(tail).to.equal('+OK\r\n+OK\r\n$1\r\n1\r\n:2\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n$1\r\n2\r\n'
      + '+OK\r\n+QUEUED\r\n*1\r\n:3\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n+PONG\r\n');
  });

  it('RESP3: a client blocked in BLPOP still gets invalidations of keys others change meanwhile', async () => {
    const w = conn();
    await w.set('k', '1');
    let triggered = false;
    const r = await rawExchange(srv.port, resp('HELLO 3', 'CLIENT TRACKING on', 'GET k', 'BLPOP nolist 0'), (d) => {
      const s = d.toString();
      if (!triggered && s.endsWith('$1\r\n1\r\n')) {
        triggered = true;
        // Once BLPOP blocks, another client changes k.
        void until(async () => (/blocked_clients:1\r\n/.test(await w.info('clients')) || undefined)).then(() => w.set('k', '2'));
      }
      return s.includes('invalidate');
    }, 20, 10000);
    expect(r.data.toString()).to.match(/\$1\r\n1\r\n>2\r\n\$10\r\ninvalidate\r\n\*1\r\n\$1\r\nk\r\n$/);
  });

  it('OPTIN tracks only after CLIENT CACHING yes, for one command; OPTOUT skips after CLIENT CACHING no', async () => {
    const { id, got } = await redirection();
    const c = conn();
    const w = conn();
    await w.mset('a', '1', 'b', '1', 'c', '1', 'd', '1');
    await c.call('CLIENT', 'TRACKING', 'ON', 'OPTIN', 'REDIRECT', String(id));
    await c.get('a');
    await c.call('CLIENT', 'CACHING', 'YES');
    await c.get('b');
    await c.get('c'); // CACHING covered only the previous command
    await w.mset('a', '2', 'b', '2', 'c', '2');
    await until(() => got.length >= 1 || undefined);
    expect(await c.call('CLIENT', 'TRACKINGINFO')).to.deep.equal(['flags', ['on', 'optin'], 'redirect', id, 'prefixes', []]);
    await c.call('CLIENT', 'TRACKING', 'OFF');
    await c.call('CLIENT', 'TRACKING', 'ON', 'OPTOUT', 'REDIRECT', String(id));
    await c.call('CLIENT', 'CACHING', 'NO');
    await c.get('d');
    await c.get('a');
    await w.mset('d', '3', 'a', '3');
    await until(() => got.length >= 2 || undefined);
    await w.set('b', '3'); // not tracked any more since its invalidation
    await w.ping();
    expect(got).to.deep.equal([['b'], ['a']]);
  });

  it('FLUSHALL sends a null invalidation; the table is bounded by tracking-table-max-keys', async () => {
    const { id, got } = await redirection();
    const c = conn();
    const w = conn();
    await c.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(id));
    await c.mget('k1', 'k2');
    expect(await w.info('stats')).to.match(/tracking_total_keys:2\r\n/);
    await w.flushall();
    await until(() => got.length >= 1 || undefined);
    expect(got).to.deep.equal([null]);
    expect(await w.info('stats')).to.match(/tracking_total_keys:0\r\n/);
    await c.mget('k1', 'k2', 'k3', 'k4', 'k5');
    await w.config('SET', 'tracking-table-max-keys', '2');
    // Three keys are dropped (their clients told, as if they changed); two stay.
    await until(() => got.length >= 4 || undefined);
    expect(got.slice(1).flat().sort()).to.deep.equal(['k1', 'k2', 'k3']);
    expect(await w.info('stats')).to.match(/tracking_total_keys:2\r\n/);
    await w.set('k5', 'x');
    await until(() => got.length >= 5 || undefined);
    expect(got[4]).to.deep.equal(['k5']);
  });

  it('a RESP3 client whose redirection closed gets tracking-redir-broken', async () => {
    const sub = conn();
    const id = Number(await sub.client('ID'));
    const w = conn();
    await w.set('k', '1');
    const seen: string[] = [];
    const r3 = await new Promise<string>((resolve) => {
      // RESP3 over a raw socket: the push arrives without a command of ours.
      void rawExchange(srv.port, resp('HELLO 3', `CLIENT TRACKING on REDIRECT ${id}`, 'GET k'), (d) => {
        const s = d.toString();
        if (s.endsWith('$1\r\n1\r\n') && seen.length === 0) {
          seen.push('read');
          sub.disconnect();
          void until(async () => (/^id=/m.test(await w.client('LIST', 'ID', String(id)) as string) ? undefined : true))
            .then(() => w.set('k', '2'));
        }
        return s.includes('tracking-redir-broken');
      }, 20, 10000).then((x) => resolve(x.data.toString()));
    });
    expect(r3).to.match(/>2\r\n\$21\r\ntracking-redir-broken\r\n:\d+\r\n$/);
  });

  it('works while MONITOR runs: both see the commands', async () => {
    const { id, got } = await redirection();
    const mon = await conn().monitor(); // ioredis opens a connection of its own for MONITOR
    srv.track(() => mon.disconnect());
    const monitored: string[] = [];
    mon.on('monitor', (_t: string, args: string[]) => monitored.push(args.join(' ')));
    const c = conn();
    await c.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(id));
    await c.get('m');
    await conn().set('m', '1');
    await until(() => got.length >= 1 || undefined);
    expect(got).to.deep.equal([['m']]);
    await until(() => monitored.includes('set m 1') || undefined);
  });
});

describe('server: CLIENT TRACKING replies and errors, differential vs redis-server', function () {
  this.timeout(30000);
  const pair = differentialPair();

  it('gives the same replies to the same CLIENT TRACKING/CACHING/GETREDIR/TRACKINGINFO lines', async () => {
    const lines = [
      'CLIENT TRACKINGINFO', 'CLIENT GETREDIR', 'CLIENT CACHING yes', 'CLIENT TRACKING maybe',
      'CLIENT TRACKING on PREFIX a', 'CLIENT TRACKING on OPTIN OPTOUT', 'CLIENT TRACKING on BCAST OPTIN',
      'CLIENT TRACKING on REDIRECT 987654', 'CLIENT TRACKING on REDIRECT abc', 'CLIENT TRACKING on FOO',
      'CLIENT TRACKING on BCAST PREFIX ab PREFIX a', 'CLIENT TRACKING on BCAST PREFIX a PREFIX ab',
      'CLIENT TRACKING on BCAST PREFIX foo PREFIX bar', 'CLIENT TRACKINGINFO', 'CLIENT TRACKING on BCAST PREFIX fo',
      'CLIENT TRACKING on BCAST PREFIX baz', 'CLIENT TRACKINGINFO', 'CLIENT TRACKING on', 'CLIENT GETREDIR',
      'CLIENT CACHING yes', 'CLIENT TRACKING off', 'CLIENT TRACKING on OPTIN NOLOOP', 'CLIENT CACHING no',
      'CLIENT CACHING maybe', 'CLIENT CACHING yes', 'CLIENT TRACKINGINFO', 'CLIENT TRACKING on OPTOUT', 'CLIENT TRACKING off',
      'CLIENT TRACKING on OPTOUT', 'CLIENT CACHING no', 'CLIENT TRACKINGINFO', 'CLIENT GETREDIR', 'CLIENT TRACKING off',
      'CLIENT TRACKINGINFO', 'CLIENT TRACKING on BCAST', 'CLIENT TRACKINGINFO', 'CLIENT TRACKING off',
    ];
    for (const l of lines) {
      const [o, t] = await Promise.all([pair.ours.send(words(l)), pair.theirs.send(words(l))]) as [Parsed, Parsed];
      expect(o, l).to.deep.equal(t);
    }
  });
});
