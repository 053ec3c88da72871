import type { ClientState } from './api.js';
import type { Keyspace, Impl } from './keyspace.js';
import { ErrorReply, RespSet, type Reply } from '../wire/reply.js';
import { T_SET, type Db, type Entry, keyString as kstr } from './store.js';
import { parseInt64 } from './numbers.js';
import { parseCursor, parseScanOptions, scanCollection } from './scan.js';
import { E_COUNT_RANGE, E_NOT_INT, E_POSITIVE, E_SYNTAX, E_WRONGTYPE } from './replies.js';
import { randomIndexes, randomSample } from './random.js';

const B_SREM = Buffer.from('SREM');
const B_DEL = Buffer.from('DEL');
const EMPTY_SET = new RespSet([]);

function mb(m: string): Buffer {
  return Buffer.from(m, 'latin1');
}

function getSet(ctx: Keyspace, db: Db, key: string): Entry | undefined | ErrorReply {
  const e = ctx.lookup(db, key);
  if (e !== undefined && e.t !== T_SET) return E_WRONGTYPE;
  return e;
}

const sadd: Impl = (ctx, client, argv) => {
  const db = ctx.dbs[client.db]!;
  const key = kstr(argv[1]!);
  const e = getSet(ctx, db, key);
  if (e instanceof ErrorReply) return e;
  let s: Set<string>;
  if (e === undefined) {
    s = new Set();
    ctx.addKey(db, key, T_SET, s);
  } else s = e.v as Set<string>;
  let added = 0;
  for (let i = 2; i < argv.length; i++) {
    const before = s.size;
    s.add(kstr(argv[i]!));
    if (s.size !== before) added++;
  }
  if (added > 0) {
    ctx.notify(db.id, 'sadd', argv[1]!, 's');
    ctx.dirty += added;
  }
  return added;
};

const srem: Impl = (ctx, client, argv) => {
  const db = ctx.dbs[client.db]!;
  const key = kstr(argv[1]!);
  const e = getSet(ctx, db, key);
  if (e instanceof ErrorReply) return e;
  if (e === undefined) return 0;
  const s = e.v as Set<string>;
  let n = 0;
  let emptied = false;
  for (let i = 2; i < argv.length; i++) {
    if (s.delete(kstr(argv[i]!))) {
      n++;
      if (s.size === 0) {
        ctx.removeEntry(db, key, e);
        emptied = true;
        break;
      }
    }
  }
  if (n > 0) {
    ctx.notify(db.id, 'srem', argv[1]!, 's');
    if (emptied) ctx.notify(db.id, 'del', argv[1]!, 'g');
    ctx.dirty += n;
  }
  return n;
};

const smembers: Impl = (ctx, client, argv) => {
  const e = getSet(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  if (e === undefined) return EMPTY_SET;
  const out: Reply[] = [];
  for (const m of e.v as Set<string>) out.push(mb(m));
  return new RespSet(out);
};

const sismember: Impl = (ctx, client, argv) => {
  const e = getSet(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  return e !== undefined && (e.v as Set<string>).has(kstr(argv[2]!)) ? 1 : 0;
};

const smismember: Impl = (ctx, client, argv) => {
  const e = getSet(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  const s = e === undefined ? undefined : (e.v as Set<string>);
  const out: Reply[] = [];
  for (let i = 2; i < argv.length; i++) out.push(s !== undefined && s.has(kstr(argv[i]!)) ? 1 : 0);
  return out;
};

const scard: Impl = (ctx, client, argv) => {
  const e = getSet(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  return e === undefined ? 0 : (e.v as Set<string>).size;
};

const spop: Impl = (ctx, client, argv) => {
  if (argv.length > 3) return E_SYNTAX;
  const db = ctx.dbs[client.db]!;
  const keyBuf = argv[1]!;
  const key = kstr(keyBuf);
  if (argv.length === 2) {
    const e = getSet(ctx, db, key);
    if (e instanceof ErrorReply) return e;
    if (e === undefined) return null;
    const s = e.v as Set<string>;
    const [m] = randomSample(ctx.random, [...s], 1);
    s.delete(m!);
    ctx.notify(db.id, 'spop', keyBuf, 's');
    const mbuf = mb(m!);
    ctx.propagateAs([[B_SREM, keyBuf, mbuf]]);
    if (s.size === 0) {
      ctx.removeEntry(db, key, e);
      ctx.notify(db.id, 'del', keyBuf, 'g');
    }
    ctx.dirty++;
    return mbuf;
  }
  const v = parseInt64(argv[2]!);
  if (v === null || v < 0) return E_POSITIVE;
  const count = Number(v);
  const e = getSet(ctx, db, key);
  if (e instanceof ErrorReply) return e;
  if (e === undefined || count === 0) return EMPTY_SET;
  const s = e.v as Set<string>;
  ctx.notify(db.id, 'spop', keyBuf, 's');
  if (count >= s.size) {
    const all: Reply[] = [];
    for (const m of s) all.push(mb(m));
    ctx.dirty += s.size;
    ctx.removeEntry(db, key, e);
    ctx.notify(db.id, 'del', keyBuf, 'g');
    ctx.propagateAs([[B_DEL, keyBuf]]);
    return new RespSet(all);
  }
  const picked = randomSample(ctx.random, [...s], count);
  const out: Buffer[] = [];
  for (const m of picked) {
    s.delete(m);
    out.push(mb(m));
  }
  const props: Buffer[][] = [];
  for (let i = 0; i < out.length; i += 1024) props.push([B_SREM, keyBuf, ...out.slice(i, i + 1024)]);
  ctx.propagateAs(props);
  ctx.dirty += count;
  return new RespSet(out);
};

const srandmember: Impl = (ctx, client, argv) => {
  if (argv.length > 3) return E_SYNTAX;
  const db = ctx.dbs[client.db]!;
  if (argv.length === 2) {
    const e = getSet(ctx, db, kstr(argv[1]!));
    if (e instanceof ErrorReply) return e;
    if (e === undefined) return null;
    const [m] = randomSample(ctx.random, [...(e.v as Set<string>)], 1);
    return m === undefined ? null : mb(m);
  }
  const v = parseInt64(argv[2]!);
  if (v === null) return E_NOT_INT;
  if (v < -9223372036854775807n) return E_COUNT_RANGE; // Redis takes -LONG_MAX..LONG_MAX
  const count = Number(v);
  const e = getSet(ctx, db, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  if (e === undefined || count === 0) return [];
  const members = [...(e.v as Set<string>)];
  if (count < 0) return randomIndexes(ctx.random, members.length, -count).map((i) => mb(members[i]!));
  return randomSample(ctx.random, members, count).map(mb);
};

/** Looks up all source sets (null = missing), or WRONGTYPE. */
function sources(ctx: Keyspace, db: Db, keys: Buffer[]): Array<Set<string> | null> | ErrorReply {
  const out: Array<Set<string> | null> = [];
  for (const kb of keys) {
    const e = getSet(ctx, db, kstr(kb));
    if (e instanceof ErrorReply) return e;
    out.push(e === undefined ? null : (e.v as Set<string>));
  }
  return out;
}

function intersect(sets: Array<Set<string> | null>, limit = 0): Set<string> {
  const res = new Set<string>();
  if (sets.some((s) => s === null || s.size === 0)) return res;
  const sorted = (sets as Array<Set<string>>).slice().sort((a, b) => a.size - b.size);
  const [first, ...rest] = sorted;
  for (const m of first!) {
    if (rest.every((s) => s.has(m))) {
      res.add(m);
      if (limit > 0 && res.size >= limit) break;
    }
  }
  return res;
}

function union(sets: Array<Set<string> | null>): Set<string> {
  const res = new Set<string>();
  for (const s of sets) if (s !== null) for (const m of s) res.add(m);
  return res;
}

function diff(sets: Array<Set<string> | null>): Set<string> {
  const first = sets[0];
  const res = new Set<string>(first ?? []);
  for (let i = 1; i < sets.length && res.size > 0; i++) {
    const s = sets[i];
    if (s === null || s === undefined) continue;
    if (s === first) return new Set();
    for (const m of s) res.delete(m);
  }
  return res;
}

function toSetReply(s: Set<string>): RespSet {
  const out: Reply[] = [];
  for (const m of s) out.push(mb(m));
  return new RespSet(out);
}

function storeResult(ctx: Keyspace, client: ClientState, dstBuf: Buffer, res: Set<string>, event: string): Reply {
  const db = ctx.dbs[client.db]!;
  const dst = kstr(dstBuf);
  if (res.size > 0) {
    const old = ctx.lookup(db, dst);
    if (old !== undefined) ctx.removeEntry(db, dst, old);
    ctx.addKey(db, dst, T_SET, res);
    ctx.notify(db.id, event, dstBuf, 's');
    ctx.dirty++;
    return res.size;
  }
  if (ctx.deleteKey(db, dst)) {
    ctx.dirty++;
    ctx.notify(db.id, 'del', dstBuf, 'g');
  }
  return 0;
}

type SetOp = (sets: Array<Set<string> | null>) => Set<string>;

function setOp(op: SetOp): Impl {
  return (ctx, client, argv) => {
    const sets = sources(ctx, ctx.dbs[client.db]!, argv.slice(1));
    if (sets instanceof ErrorReply) return sets;
    return toSetReply(op(sets));
  };
}

function setOpStore(op: SetOp, event: string): Impl {
  return (ctx, client, argv) => {
    const sets = sources(ctx, ctx.dbs[client.db]!, argv.slice(2));
    if (sets instanceof ErrorReply) return sets;
    return storeResult(ctx, client, argv[1]!, op(sets), event);
  };
}

const sintercard: Impl = (ctx, client, argv) => {
  const nk = parseInt64(argv[1]!);
  if (nk === null || nk < 1) return new ErrorReply('ERR numkeys should be greater than 0');
  const numkeys = Number(nk);
  if (numkeys > argv.length - 2) return new ErrorReply("ERR Number of keys can't be greater than number of args");
  let limit = 0;
  for (let j = 2 + numkeys; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    if (argv[j]!.toString('latin1').toLowerCase() === 'limit' && more) {
      j++;
      const v = parseInt64(argv[j]!);
      if (v === null || v < 0) return new ErrorReply("ERR LIMIT can't be negative");
      limit = Number(v);
    } else return E_SYNTAX;
  }
  const sets = sources(ctx, ctx.dbs[client.db]!, argv.slice(2, 2 + numkeys));
  if (sets instanceof ErrorReply) return sets;
  return intersect(sets, limit).size;
};

const smove: Impl = (ctx, client, argv) => {
  const db = ctx.dbs[client.db]!;
  const src = kstr(argv[1]!);
  const dst = kstr(argv[2]!);
  const se = ctx.lookup(db, src);
  const de = ctx.lookup(db, dst);
  if (se === undefined) return 0;
  if (se.t !== T_SET || (de !== undefined && de.t !== T_SET)) return E_WRONGTYPE;
  const m = kstr(argv[3]!);
  const ss = se.v as Set<string>;
  if (se === de) return ss.has(m) ? 1 : 0;
  if (!ss.delete(m)) return 0;
  ctx.notify(db.id, 'srem', argv[1]!, 's');
  if (ss.size === 0) {
    ctx.removeEntry(db, src, se);
    ctx.notify(db.id, 'del', argv[1]!, 'g');
  }
  let ds: Set<string>;
  if (de === undefined) {
    ds = new Set();
    ctx.addKey(db, dst, T_SET, ds);
  } else ds = de.v as Set<string>;
  ctx.dirty++;
  if (!ds.has(m)) {
    ds.add(m);
    ctx.dirty++;
    ctx.notify(db.id, 'sadd', argv[2]!, 's');
  }
  return 1;
};

const sscan: Impl = (ctx, client, argv) => {
  const cursor = parseCursor(argv[2]!);
  if (cursor instanceof ErrorReply) return cursor;
  const e = getSet(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  if (e === undefined) return [Buffer.from('0'), []];
  const args = parseScanOptions(argv, 3, false, cursor);
  if (args instanceof ErrorReply) return args;
  return scanCollection(e.v as Set<string>, args, (m, out) => {
    out.push(mb(m));
  });
};

export const SET_COMMANDS: Record<string, Impl> = {
  sadd,
  srem,
  smembers,
  sismember,
  smismember,
  scard,
  spop,
  srandmember,
  sinter: setOp((s) => intersect(s)),
  sunion: setOp(union),
  sdiff: setOp(diff),
  sinterstore: setOpStore((s) => intersect(s), 'sinterstore'),
  sunionstore: setOpStore(union, 'sunionstore'),
  sdiffstore: setOpStore(diff, 'sdiffstore'),
  sintercard,
  smove,
  sscan,
};
