import { expect } from 'chai';
import { Context } from '../../src/context/context.js';
import type { KeyspaceEvent, PropagateEvent } from '../../src/context/api.js';
import { globMatch } from '../../src/context/glob.js';
import { NULL_ARRAY, RespMap, RespSet, SimpleString } from '../../src/wire/reply.js';
import { client, run, words } from './helpers.js';

function str(argv: Buffer[]): string {
  return argv.map((b) => b.toString('latin1')).join(' ');
}

describe('context: Context', () => {
  let now = 1_000_000;
  let ctx: Context;
  let events: string[];
  let props: string[];
  beforeEach(() => {
    now = 1_000_000;
    ctx = new Context({ now: () => now, activeExpireInterval: 0 });
    events = [];
    props = [];
    // 'new' events (notify-keyspace-events n) have their own test.
    ctx.on('keyspace', (e: KeyspaceEvent) => e.cls !== 'n' && events.push(`${e.db}:${e.cls}:${e.event}:${e.key.toString('latin1')}`));
    ctx.on('propagate', (p: PropagateEvent) => props.push(`${p.db}:${str(p.argv)}`));
  });
  afterEach(() => ctx.close());

  it('exposes every data command with Redis metadata', () => {
    const get = ctx.commands.get('get')!;
    expect([get.arity, get.firstKey, get.lastKey, get.step]).to.deep.equal([2, 1, 1, 1]);
    expect(get.flags).to.include('readonly');
    expect(ctx.commands.get('blpop')!.flags).to.include('blocking');
    for (const n of ['set', 'lmpop', 'blmpop', 'hrandfield', 'sintercard', 'scan', 'copy', 'swapdb']) expect(ctx.commands.has(n), n).to.equal(true);
    expect(ctx.call(client(), words('NOPE a'))).to.have.property('message', "ERR unknown command 'NOPE', with args beginning with: 'a' ");
  });

  it("emits 'new' (class n) when a key is created, before the command's own event", () => {
    const all: string[] = [];
    ctx.on('keyspace', (e: KeyspaceEvent) => all.push(`${e.cls}:${e.event}:${e.key.toString('latin1')}`));
    ctx.call(client(), words('SET pre v'));
    ctx.newKeyEvents = true; // what the notifier does while notify-keyspace-events has `n`
    ctx.call(client(), words('SET k v'));
    ctx.call(client(), words('SET k w'));
    ctx.call(client(), words('RPUSH l a'));
    expect(all).to.deep.equal(['$:set:pre', 'n:new:k', '$:set:k', '$:set:k', 'n:new:l', 'l:rpush:l']);
  });

  it('runs through spec.handler the same way as call()', () => {
    const c = client();
    const argv = words('SET k v');
    const r = ctx.commands.get('set')!.handler({ argv, client: c, propagate: () => undefined });
    expect(r).to.be.instanceOf(SimpleString);
    expect(run(ctx, c, 'GET k')).to.deep.equal(Buffer.from('v'));
    expect(events).to.deep.equal(['0:$:set:k']);
  });

  it('emits keyspace events with Redis names and classes', () => {
    const c = client();
    for (const l of ['SET k v EX 10', 'APPEND k x', 'INCR n', 'RPUSH l a b', 'LPOP l 2', 'HSET h f v', 'HDEL h f', 'SADD s m', 'SPOP s', 'RENAME k k2', 'EXPIRE k2 0']) run(ctx, c, l);
    expect(events).to.deep.equal([
      '0:$:set:k', '0:g:expire:k', '0:$:append:k', '0:$:incrby:n', '0:l:rpush:l', '0:l:lpop:l', '0:g:del:l',
      '0:h:hset:h', '0:h:hdel:h', '0:g:del:h', '0:s:sadd:s', '0:s:spop:s', '0:g:del:s', '0:g:rename_from:k', '0:g:rename_to:k2', '0:g:del:k2',
    ]);
  });

  it('propagates deterministic rewrites', () => {
    const c = client(2);
    run(ctx, c, 'SET a v EX 10');
    run(ctx, c, 'SETEX b 5 v');
    run(ctx, c, 'EXPIRE a 100');
    run(ctx, c, 'INCRBYFLOAT f 1.5');
    run(ctx, c, 'HINCRBYFLOAT h f 2.5');
    run(ctx, c, 'GET a');
    run(ctx, c, 'SADD s x');
    run(ctx, c, 'SPOP s');
    run(ctx, c, 'RPUSH l x');
    run(ctx, c, 'BLPOP l 0');
    run(ctx, c, 'DEL nothing');
    expect(props).to.deep.equal([
      '2:SET a v PXAT 1010000', '2:SET b v PXAT 1005000', '2:PEXPIREAT a 1100000', '2:SET f 1.5 KEEPTTL', '2:HSET h f 2.5',
      '2:SADD s x', '2:SREM s x', '2:RPUSH l x', '2:LPOP l',
    ]);
    expect(ctx.dirty).to.be.greaterThan(5);
  });

  it('expires lazily and actively with the injected clock', () => {
    const c = client();
    run(ctx, c, 'SET a 1 PX 100');
    run(ctx, c, 'SET b 1 PX 200');
    expect(ctx.expiresCount(0)).to.equal(2);
    now += 150;
    expect(run(ctx, c, 'GET a')).to.equal(null);
    expect(events).to.include('0:x:expired:a');
    expect(props).to.include('0:DEL a');
    now += 100;
    ctx.activeExpire();
    expect(ctx.dbsize(0)).to.equal(0);
    expect(events).to.include('0:x:expired:b');
    expect(ctx.stats.expiredKeys).to.equal(2);
  });

  it('uses binary-safe keys and values', () => {
    const c = client();
    const k = Buffer.from([0, 255, 13, 10, 128]);
    const v = Buffer.from([1, 2, 0, 250]);
    ctx.call(c, [Buffer.from('SET'), k, v]);
    expect(ctx.call(c, [Buffer.from('GET'), k])).to.deep.equal(v);
    const snap = [...ctx.entries(0)];
    expect(snap).to.have.length(1);
    expect(snap[0]!.key).to.deep.equal(k);
    expect(snap[0]!.type).to.equal('string');
  });

  it('returns RESP3-friendly shapes', () => {
    const c = client();
    run(ctx, c, 'HSET h a 1');
    run(ctx, c, 'SADD s a');
    expect(run(ctx, c, 'HGETALL h')).to.be.instanceOf(RespMap);
    expect(run(ctx, c, 'SMEMBERS s')).to.be.instanceOf(RespSet);
  });

  it('SCAN returns every key present for the whole scan despite changes', () => {
    const c = client();
    for (let i = 0; i < 500; i++) run(ctx, c, `SET k${i} v`);
    const seen = new Set<string>();
    let cursor = '0';
    let round = 0;
    do {
      const r = run(ctx, c, `SCAN ${cursor} COUNT 7`) as [Buffer, Buffer[]];
      cursor = r[0].toString();
      for (const k of r[1]) seen.add(k.toString());
      // churn: delete some keys that were never guaranteed, add new ones
      run(ctx, c, `DEL k${450 + (round % 50)}`);
      run(ctx, c, `SET new${round} v`);
      round++;
    } while (cursor !== '0' && round < 10000);
    for (let i = 0; i < 450; i++) expect(seen.has(`k${i}`), `k${i}`).to.equal(true);
  });

  it('SCAN still completes when its cursor is not cached', () => {
    const small = new Context({ scanCursorCache: 1, activeExpireInterval: 0 });
    const c = client();
    for (let i = 0; i < 100; i++) run(small, c, `SET k${i} v`);
    const seen = new Set<string>();
    let a = '0';
    let b = '0';
    do {
      const r = run(small, c, `SCAN ${a} COUNT 5`) as [Buffer, Buffer[]];
      a = r[0].toString();
      r[1].forEach((k) => seen.add(k.toString()));
      const r2 = run(small, c, `SCAN ${b} COUNT 3`) as [Buffer, Buffer[]]; // a second scan evicts the first's iterator
      b = r2[0].toString();
    } while (a !== '0');
    expect(seen.size).to.equal(100);
    small.close();
  });

  it('glob matching follows stringmatchlen', () => {
    const m = (p: string, s: string): boolean => globMatch(Buffer.from(p), Buffer.from(s));
    expect(m('h?llo', 'hello')).to.equal(true);
    expect(m('h*llo', 'heeeello')).to.equal(true);
    expect(m('h[ae]llo', 'hallo')).to.equal(true);
    expect(m('h[^e]llo', 'hello')).to.equal(false);
    expect(m('h[a-b]llo', 'hbllo')).to.equal(true);
    expect(m('h\\*', 'h*')).to.equal(true);
    expect(m('h\\*', 'hx')).to.equal(false);
    expect(m('*a*b*c*', 'xxaxxbxxcxx')).to.equal(true);
    expect(m('a*', '')).to.equal(false);
    expect(m('*', '')).to.equal(true);
  });

  describe('blocking pops', () => {
    it('serves waiters first come first served, after the pushing command', async () => {
      const c1 = client();
      const c2 = client();
      const c3 = client();
      const p1 = ctx.call(c1, words('BLPOP q 0')) as Promise<unknown>;
      const p2 = ctx.call(c2, words('BRPOP other q 0')) as Promise<unknown>;
      const p3 = ctx.call(c3, words('BLPOP q 0')) as Promise<unknown>;
      expect(p1).to.be.instanceOf(Promise);
      expect(run(ctx, client(), 'RPUSH q a b')).to.equal(2);
      expect(await p1).to.deep.equal([Buffer.from('q'), Buffer.from('a')]);
      expect(await p2).to.deep.equal([Buffer.from('q'), Buffer.from('b')]);
      expect(ctx.dbsize(0)).to.equal(0);
      run(ctx, client(), 'LPUSH q c');
      expect(await p3).to.deep.equal([Buffer.from('q'), Buffer.from('c')]);
      expect(props).to.deep.equal(['0:RPUSH q a b', '0:LPOP q', '0:RPOP q', '0:LPUSH q c', '0:LPOP q']);
    });

    it('times out with a null array and handles abort', async () => {
      const real = new Context({ activeExpireInterval: 0 });
      const t0 = Date.now();
      const r = await (real.call(client(), words('BLPOP q 0.05')) as Promise<unknown>);
      expect(r).to.equal(NULL_ARRAY);
      expect(Date.now() - t0).to.be.at.least(40);
      const c = client();
      const p = real.call(c, words('BLMOVE q d LEFT RIGHT 0')) as Promise<unknown>;
      const other = real.call(client(), words('BLPOP q 0')) as Promise<unknown>;
      c.abort();
      expect(await p).to.equal(NULL_ARRAY);
      run(real, client(), 'RPUSH q x');
      expect(await other).to.deep.equal([Buffer.from('q'), Buffer.from('x')]);
      expect(real.dbsize(0)).to.equal(0);
      real.close();
    });

    it('BLMOVE and BLMPOP are served and propagated as LMOVE / LPOP count', async () => {
      const p = ctx.call(client(), words('BLMOVE src dst RIGHT LEFT 0')) as Promise<unknown>;
      const p2 = ctx.call(client(), words('BLMPOP 0 2 x dst LEFT COUNT 5')) as Promise<unknown>;
      run(ctx, client(), 'RPUSH src 1 2');
      expect(await p).to.deep.equal(Buffer.from('2'));
      expect(await p2).to.deep.equal([Buffer.from('dst'), [Buffer.from('2')]]);
      expect(props).to.deep.equal(['0:RPUSH src 1 2', '0:LMOVE src dst RIGHT LEFT', '0:LPOP dst 1']);
    });

    it('does not block inside EXEC', () => {
      const c = client();
      c.inExec = true;
      expect(ctx.call(c, words('BLPOP q 0'))).to.equal(NULL_ARRAY);
      expect(ctx.call(c, words('BLMOVE q d LEFT LEFT 0'))).to.equal(null);
      expect(ctx.call(c, words('BLMPOP 0 1 q LEFT'))).to.equal(NULL_ARRAY);
    });

    it('a waiter whose destination has the wrong type gets WRONGTYPE and the element stays', async () => {
      run(ctx, client(), 'SET dst v');
      const p = ctx.call(client(), words('BLMOVE src dst LEFT LEFT 0')) as Promise<unknown>;
      run(ctx, client(), 'RPUSH src a');
      expect(await p).to.have.property('message').that.match(/^WRONGTYPE/);
      expect(run(ctx, client(), 'LLEN src')).to.equal(1);
    });
  });

  it('reports keyspace info and flush events', () => {
    const flushes: number[] = [];
    ctx.on('flush', (e: { db: number }) => flushes.push(e.db));
    const c = client(3);
    run(ctx, c, 'SET a 1 EX 10');
    run(ctx, c, 'SET b 1');
    expect(ctx.keyspaceInfoText()).to.equal('db3:keys=2,expires=1,avg_ttl=10000\r\n');
    run(ctx, c, 'FLUSHDB');
    run(ctx, c, 'FLUSHALL');
    expect(flushes).to.deep.equal([3, -1]);
    expect(ctx.keyspaceInfo()).to.deep.equal([]);
  });

  it('internal clients run commands', () => {
    const ic = ctx.createInternalClient();
    expect(ic.internal).to.equal(true);
    expect(ctx.call(ic, words('RPUSH /jobs echo'))).to.equal(1);
  });
});
