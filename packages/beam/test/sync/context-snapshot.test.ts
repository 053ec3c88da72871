import { expect } from 'chai';
import { Context } from '../../src/context/context.js';
import { ReplicationMaster } from '../../src/server/replication.js';
import { parseRdb } from '../../src/sync/rdb-reader.js';
import { rdbChunks } from '../../src/sync/rdb-writer.js';
import type { LazySnapshot } from '../../src/sync/lazy-snapshot.js';

const B = (s: string): Buffer => Buffer.from(s, 'latin1');
const hex = (b: unknown): string => (Buffer.isBuffer(b) ? b.toString('hex') : Buffer.from(String(b), 'latin1').toString('hex'));

/** One key as `db/keyhex -> type:value@expireAt`, members sorted where order does not matter. */
function canonKey(type: string, value: unknown, expireAt: number | null): string {
  let v: string;
  switch (type) {
    case 'string':
      v = hex(value);
      break;
    case 'list': {
      const arr = Array.isArray(value) ? value : (value as { toArray(): Buffer[] }).toArray();
      v = arr.map(hex).join(',');
      break;
    }
    case 'set':
      v = [...(value as Iterable<unknown>)].map(hex).sort().join(',');
      break;
    default: {
      // hash / zset: pairs
      const pairs = [...(value as Iterable<[unknown, unknown]>)];
      v = pairs.map(([f, x]) => `${hex(f)}=${typeof x === 'number' ? x : hex(x)}`).sort().join(',');
    }
  }
  return `${type}:${v}@${expireAt ?? '-'}`;
}

/** The Context's live keys (as of its clock) with their expiries. */
function contextState(ctx: Context): Record<string, string> {
  const out: Record<string, string> = {};
  for (let db = 0; db < ctx.dbs.length; db++) {
    for (const e of ctx.entries(db)) out[`${db}/${hex(e.key)}`] = canonKey(e.type, e.value, e.expireAt);
  }
  return out;
}

function rdbState(rdb: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of parseRdb(rdb).entries) out[`${e.db}/${hex(e.key)}`] = canonKey(e.type, e.value, e.expireAt);
  return out;
}

/** Drives a snapshot's RDB by hand: `next()` writes one chunk. */
function driver(snap: LazySnapshot): { parts: Buffer[]; next: () => Promise<boolean> } {
  const it = rdbChunks(snap, { yieldEveryKeys: 7, chunkSize: 256 })[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  return {
    parts,
    next: async () => {
      const r = await it.next();
      if (r.done === true) return false;
      parts.push(r.value);
      return true;
    },
  };
}

describe('sync: lazy copy-on-write snapshots of the real Context', function () {
  this.timeout(20000);
  let ctx: Context;
  let now: number;
  beforeEach(() => {
    now = 1_700_000_000_000;
    ctx = new Context({ activeExpireInterval: 0, now: () => now });
  });
  afterEach(() => ctx.close());

  function populate(): (...a: string[]) => unknown {
    const c = ctx.createInternalClient();
    const call = (...a: string[]): unknown => ctx.call(c, a.map(B));
    const inDb = (db: number, ...a: string[]): unknown => {
      c.db = db;
      return call(...a);
    };
    for (let i = 0; i < 300; i++) {
      const db = i % 4;
      inDb(db, 'RPUSH', `l${i}`, 'a', 'b', 'c');
      inDb(db, 'HSET', `h${i}`, 'f', String(i), 'g', 'x');
      inDb(db, 'SADD', `s${i}`, 'x', 'y');
      inDb(db, 'ZADD', `z${i}`, '1', 'one', String(i), 'two');
      inDb(db, 'SET', `k${i}`, `v${i}`);
      if (i % 5 === 0) inDb(db, 'PEXPIREAT', `k${i}`, String(now + 100_000));
      if (i % 10 === 0) inDb(db, 'PEXPIREAT', `l${i}`, String(now + 100_000));
      // Present in the maps but already expired when the snapshot is captured.
      if (i < 20) {
        inDb(db, 'SET', `gone${i}`, 'old');
        inDb(db, 'PEXPIREAT', `gone${i}`, String(now + 10));
      }
    }
    for (let i = 0; i < 50; i++) {
      inDb(5, 'SET', `f${i}`, 'flushed later');
      inDb(6, 'RPUSH', `w${i}`, 'six');
      inDb(7, 'SET', `w${i}`, 'seven');
      inDb(9, 'HSET', `a${i}`, 'n', String(i));
    }
    inDb(6, 'RPUSH', 'wl', 'p', 'q');
    c.db = 0;
    now += 20;
    return (...a: string[]) => call(...a);
  }

  it('the RDB equals the keyspace (with expiries) at capture while every kind of write runs between chunks', async () => {
    populate();
    const c = ctx.createInternalClient();
    const inDb = (db: number, ...a: string[]): unknown => {
      c.db = db;
      return ctx.call(c, a.map(B));
    };
    // Clients blocked on empty lists, served while the snapshot is written: one pushes into a captured list the
    // writer has not reached (l288), one pops from a captured list SWAPDB brings into its database (wl).
    const waiter = ctx.createInternalClient();
    const blocked = ctx.call(waiter, ['BLMOVE', 'empty', 'l288', 'LEFT', 'LEFT', '0'].map(B));
    expect(blocked).to.be.instanceOf(Promise);
    const waiter2 = ctx.createInternalClient();
    waiter2.db = 7;
    const blocked2 = ctx.call(waiter2, ['BLMOVE', 'wl', 'wdest', 'LEFT', 'RIGHT', '0'].map(B));
    expect(blocked2).to.be.instanceOf(Promise);

    const before = contextState(ctx);
    expect(Object.keys(before).some((k) => k.startsWith('0/') && k.endsWith(hex('gone0')))).to.equal(false);
    const master = new ReplicationMaster(ctx);
    const snap = master.snapshot();
    const d = driver(snap);
    let step = 0;
    const n = 300;
    while (await d.next()) {
      const s = step++;
      // In-place and replacing writes to keys before and after the writer's position.
      for (const i of [s % n, n - 1 - (s % n), (s * 7) % n]) {
        const db = i % 4;
        inDb(db, 'RPUSH', `l${i}`, `new${s}`);
        inDb(db, 'LPOP', `l${i}`);
        inDb(db, 'HSET', `h${i}`, 'f', `changed${s}`, `g${s}`, 'x');
        inDb(db, 'HDEL', `h${i}`, 'g');
        inDb(db, 'SADD', `s${i}`, `m${s}`);
        inDb(db, 'SREM', `s${i}`, 'x');
        inDb(db, 'ZADD', `z${i}`, String(s), 'one', '5', `n${s}`);
        inDb(db, 'APPEND', `k${i}`, '+');
        inDb(db, 'SETRANGE', `k${i}`, '0', 'Z');
      }
      const j = (s * 11) % n;
      const jd = j % 4;
      inDb(jd, 'DEL', `k${j}`);
      inDb(jd, 'UNLINK', `h${(s * 13) % n}`);
      inDb(jd, 'PEXPIRE', `l${(s * 17) % n}`, '500000');
      inDb(jd, 'PERSIST', `k${(s * 5) % n}`);
      inDb(jd, 'SET', `s${(s * 19) % n}`, 'replaced by a string');
      inDb(jd, 'RENAME', `z${(s * 23) % n}`, `renamed${s}`);
      inDb(jd, 'RENAME', `l${(s * 29) % n}`, `l${(s * 31) % n}`);
      inDb(jd, 'MOVE', `s${(s * 37) % n}`, '8');
      inDb(jd, 'COPY', `k${(s * 41) % n}`, `k${(s * 43) % n}`, 'DB', String((jd + 1) % 4), 'REPLACE');
      inDb(jd, 'SET', `fresh${s}`, 'new key');
      inDb(jd, 'DEL', `fresh${s - 1}`);
      inDb(jd, 'RPUSH', `k${j}`, 'deleted then created again');
      inDb(jd, 'SET', `gone${s % 20}`, 'expired at capture, set again');
      inDb(jd, 'GETDEL', `k${(s * 47) % n}`);
      if (s === 1) inDb(0, 'SWAPDB', '6', '7');
      if (s > 1 && s < 20) {
        inDb(6, 'SET', `w${s}`, 'after swap'); // was db 7's string
        inDb(7, 'RPUSH', `w${s + 20}`, 'after swap'); // was db 6's list
        inDb(7, 'DEL', `w${s + 25}`);
      }
      if (s === 2) inDb(5, 'FLUSHDB');
      if (s > 2) inDb(5, 'SET', `f${s}`, 'after flush');
      if (s === 3) inDb(0, 'RPUSH', 'empty', 'served');
      if (s === 6) {
        // Every TTL key of the capture expires: some lazily (GET), the rest actively.
        now += 200_000;
        for (let i = 0; i < 20; i++) inDb(i % 4, 'GET', `k${i * 5}`);
        ctx.activeExpire();
      }
      if (s === 60) inDb(0, 'FLUSHALL');
    }
    snap.release();
    expect(step).to.be.greaterThan(60);
    expect(await blocked).to.deep.equal(B('served'));
    expect(await blocked2).to.deep.equal(B('p'));
    expect(snap.preservedCount).to.be.greaterThan(50);
    const got = rdbState(Buffer.concat(d.parts));
    expect(got).to.deep.equal(before);
    expect(contextState(ctx)).to.not.deep.equal(before);
  });

  it('two concurrent snapshots each equal the keyspace at their own capture', async () => {
    populate();
    const c = ctx.createInternalClient();
    const call = (...a: string[]): unknown => ctx.call(c, a.map(B));
    const master = new ReplicationMaster(ctx);
    const before1 = contextState(ctx);
    const s1 = master.snapshot();
    const d1 = driver(s1);
    for (let i = 0; i < 40; i++) {
      await d1.next();
      call('RPUSH', `l${i * 4}`, 'between captures');
      call('DEL', `k${i * 4}`);
      call('SET', `new${i}`, 'x');
    }
    const before2 = contextState(ctx);
    const s2 = master.snapshot();
    const d2 = driver(s2);
    let more1 = true;
    let more2 = true;
    for (let step = 0; more1 || more2; step++) {
      if (more1) more1 = await d1.next();
      if (more2) more2 = await d2.next();
      const i = (step * 4) % 300;
      call('HSET', `h${i}`, 'f', `s${step}`);
      call('RENAME', `s${i}`, `moved${step}`);
      call('DEL', `new${step % 40}`);
      call('LPOP', `l${i}`);
      if (step === 30) call('FLUSHDB');
    }
    s1.release();
    s2.release();
    expect(rdbState(Buffer.concat(d1.parts))).to.deep.equal(before1);
    expect(rdbState(Buffer.concat(d2.parts))).to.deep.equal(before2);
    expect(before1).to.not.deep.equal(before2);
  });

  it('captures without walking the keyspace, preserves only keys changed ahead of the writer, then unhooks', async () => {
    const c = ctx.createInternalClient();
    const call = (...a: string[]): unknown => ctx.call(c, a.map(B));
    call('RPUSH', 'a', '1');
    call('RPUSH', 'b', '1');
    const data = ctx.dbs[0]!.data;
    const iter = data.entries;
    let walked = 0;
    data.entries = function (this: typeof data) {
      walked++;
      return iter.call(this);
    };
    const snap = new ReplicationMaster(ctx).snapshot();
    expect(walked).to.equal(0);
    expect(snap.pendingDatabases).to.equal(1);
    const db = [...snap.databases()][0]!;
    const it = db.entries()[Symbol.iterator]();
    const first = it.next().value!;
    expect(String(first.key)).to.equal('a');
    expect(walked).to.equal(1);
    call('RPUSH', 'a', '2'); // already written: nothing saved
    expect(snap.preservedCount).to.equal(0);
    call('RPUSH', 'b', '2'); // not reached yet: pre-image saved
    call('RPUSH', 'b', '3'); // saved once
    expect(snap.preservedCount).to.equal(1);
    call('SET', 'c', 'created after capture');
    const second = it.next().value!;
    expect(String(second.key)).to.equal('b');
    expect((second.value as Buffer[]).map(String)).to.deep.equal(['1']);
    expect(it.next().done).to.equal(true);
    expect(snap.pendingDatabases).to.equal(0);
    call('RPUSH', 'a', '4');
    expect(snap.preservedCount).to.equal(1);
    snap.release();
    data.entries = iter;
  });

  it('release() drops the hook when writing is abandoned; the hot path then reports nothing', async () => {
    const c = ctx.createInternalClient();
    for (let i = 0; i < 100; i++) ctx.call(c, [B('SET'), B(`k${i}`), B('v')]);
    const snap = new ReplicationMaster(ctx).snapshot();
    const d = driver(snap);
    await d.next();
    snap.release();
    snap.release();
    expect(snap.pendingDatabases).to.equal(0);
    ctx.call(c, [B('DEL'), B('k99')]);
    expect(snap.preservedCount).to.equal(0);
    expect(await d.next()).to.equal(true); // the abandoned writer still ends its RDB cleanly
  });

  it('onBeforeMutate (container form) still reports containers before in-place writes', () => {
    const c = ctx.createInternalClient();
    ctx.call(c, [B('RPUSH'), B('l'), B('a')]);
    const seen: object[] = [];
    const off = ctx.onBeforeMutate((x) => seen.push(x));
    const list = ctx.dbs[0]!.data.get('l')!.v;
    ctx.call(c, [B('RPUSH'), B('l'), B('b')]);
    expect(seen).to.deep.equal([list]);
    off();
    ctx.call(c, [B('RPUSH'), B('l'), B('c')]);
    expect(seen.length).to.equal(1);
  });
});
