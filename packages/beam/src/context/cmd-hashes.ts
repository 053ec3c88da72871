import type { ClientState } from './api.js';
import type { Keyspace, Impl } from './keyspace.js';
import { ErrorReply, OK, RespMap, type Reply } from '../wire/reply.js';
import { T_HASH, type Db, type Entry, keyString as kstr } from './store.js';
import { INT64_MAX, INT64_MIN, int64Buffer, intReply, parseInt64 } from './numbers.js';
import { addLongDouble, formatLongDoubleHuman, longDoubleFromInt, parseLongDouble } from './longdouble.js';
import { own } from './cmd-strings.js';
import { parseCursor, parseScanOptions, scanCollection } from './scan.js';
import { E_COUNT_RANGE, E_HASH_NOT_FLOAT, E_HASH_NOT_INT, E_NAN_INF, E_NOT_FLOAT, E_NOT_INT, E_OVERFLOW, E_WRONGTYPE, wrongArgs } from './replies.js';
import { randomIndexes, randomSample } from './random.js';

const B_HSET = Buffer.from('HSET');

function getHash(ctx: Keyspace, db: Db, key: string): Entry | undefined | ErrorReply {
  const e = ctx.lookup(db, key);
  if (e !== undefined && e.t !== T_HASH) return E_WRONGTYPE;
  return e;
}

function hashForWrite(ctx: Keyspace, db: Db, key: string): Map<string, Buffer> | ErrorReply {
  const e = getHash(ctx, db, key);
  if (e instanceof ErrorReply) return e;
  if (e !== undefined) return e.v as Map<string, Buffer>;
  const h = new Map<string, Buffer>();
  ctx.addKey(db, key, T_HASH, h);
  return h;
}

function fieldBuf(f: string): Buffer {
  return Buffer.from(f, 'latin1');
}

function hsetGeneric(ctx: Keyspace, client: ClientState, argv: Buffer[], name: string): Reply {
  if (argv.length % 2 === 1) return wrongArgs(name);
  const db = ctx.dbs[client.db]!;
  const h = hashForWrite(ctx, db, kstr(argv[1]!));
  if (h instanceof ErrorReply) return h;
  let created = 0;
  for (let i = 2; i < argv.length; i += 2) {
    const f = kstr(argv[i]!);
    if (!h.has(f)) created++;
    h.set(f, own(argv[i + 1]!));
  }
  ctx.notify(db.id, 'hset', argv[1]!, 'h');
  ctx.dirty += (argv.length - 2) / 2;
  return name === 'hmset' ? OK : created;
}

const hset: Impl = (ctx, c, argv) => hsetGeneric(ctx, c, argv, 'hset');
const hmset: Impl = (ctx, c, argv) => hsetGeneric(ctx, c, argv, 'hmset');

const hsetnx: Impl = (ctx, client, argv) => {
  const db = ctx.dbs[client.db]!;
  const h = hashForWrite(ctx, db, kstr(argv[1]!));
  if (h instanceof ErrorReply) return h;
  const f = kstr(argv[2]!);
  if (h.has(f)) return 0;
  h.set(f, own(argv[3]!));
  ctx.notify(db.id, 'hset', argv[1]!, 'h');
  ctx.dirty++;
  return 1;
};

const hget: Impl = (ctx, client, argv) => {
  const e = getHash(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  if (e === undefined) return null;
  return (e.v as Map<string, Buffer>).get(kstr(argv[2]!)) ?? null;
};

const hmget: Impl = (ctx, client, argv) => {
  const e = getHash(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  const out: Reply[] = new Array<Reply>(argv.length - 2);
  const h = e === undefined ? undefined : (e.v as Map<string, Buffer>);
  for (let i = 2; i < argv.length; i++) out[i - 2] = h?.get(kstr(argv[i]!)) ?? null;
  return out;
};

const hgetall: Impl = (ctx, client, argv) => {
  const e = getHash(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  const entries: Array<[Reply, Reply]> = [];
  if (e !== undefined) for (const [f, v] of e.v as Map<string, Buffer>) entries.push([fieldBuf(f), v]);
  return new RespMap(entries);
};

const hkeys: Impl = (ctx, client, argv) => {
  const e = getHash(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  const out: Reply[] = [];
  if (e !== undefined) for (const f of (e.v as Map<string, Buffer>).keys()) out.push(fieldBuf(f));
  return out;
};

const hvals: Impl = (ctx, client, argv) => {
  const e = getHash(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  return e === undefined ? [] : [...(e.v as Map<string, Buffer>).values()];
};

const hdel: Impl = (ctx, client, argv) => {
  const db = ctx.dbs[client.db]!;
  const key = kstr(argv[1]!);
  const e = getHash(ctx, db, key);
  if (e instanceof ErrorReply) return e;
  if (e === undefined) return 0;
  const h = e.v as Map<string, Buffer>;
  let n = 0;
  let emptied = false;
  for (let i = 2; i < argv.length; i++) {
    if (h.delete(kstr(argv[i]!))) {
      n++;
      if (h.size === 0) {
        ctx.removeEntry(db, key, e);
        emptied = true;
        break;
      }
    }
  }
  if (n > 0) {
    ctx.notify(db.id, 'hdel', argv[1]!, 'h');
    if (emptied) ctx.notify(db.id, 'del', argv[1]!, 'g');
    ctx.dirty += n;
  }
  return n;
};

const hexists: Impl = (ctx, client, argv) => {
  const e = getHash(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  return e !== undefined && (e.v as Map<string, Buffer>).has(kstr(argv[2]!)) ? 1 : 0;
};

const hlen: Impl = (ctx, client, argv) => {
  const e = getHash(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  return e === undefined ? 0 : (e.v as Map<string, Buffer>).size;
};

const hstrlen: Impl = (ctx, client, argv) => {
  const e = getHash(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  return e === undefined ? 0 : ((e.v as Map<string, Buffer>).get(kstr(argv[2]!))?.length ?? 0);
};

const hincrby: Impl = (ctx, client, argv) => {
  const incr = parseInt64(argv[3]!);
  if (incr === null) return E_NOT_INT;
  const db = ctx.dbs[client.db]!;
  const h = hashForWrite(ctx, db, kstr(argv[1]!));
  if (h instanceof ErrorReply) return h;
  const f = kstr(argv[2]!);
  const curBuf = h.get(f);
  let cur: number | bigint = 0;
  if (curBuf !== undefined) {
    const p = parseInt64(curBuf);
    if (p === null) return E_HASH_NOT_INT;
    cur = p;
  }
  let next: number | bigint;
  if (typeof cur === 'number' && typeof incr === 'number' && Number.isSafeInteger(cur + incr)) next = cur + incr;
  else {
    const s = BigInt(cur) + BigInt(incr);
    if (s > INT64_MAX || s < INT64_MIN) return E_OVERFLOW;
    next = intReply(s);
  }
  h.set(f, int64Buffer(next));
  ctx.notify(db.id, 'hincrby', argv[1]!, 'h');
  ctx.dirty++;
  return next;
};

const hincrbyfloat: Impl = (ctx, client, argv) => {
  const incr = parseLongDouble(argv[3]!);
  if (incr === null) return E_NOT_FLOAT;
  if (incr.inf) return new ErrorReply('ERR value is NaN or Infinity');
  const db = ctx.dbs[client.db]!;
  const h = hashForWrite(ctx, db, kstr(argv[1]!));
  if (h instanceof ErrorReply) return h;
  const f = kstr(argv[2]!);
  const curBuf = h.get(f);
  let cur = longDoubleFromInt(0n);
  if (curBuf !== undefined) {
    const p = parseLongDouble(curBuf);
    if (p === null) return E_HASH_NOT_FLOAT;
    cur = p;
  }
  const sum = addLongDouble(cur, incr);
  if (sum.inf) return E_NAN_INF;
  const buf = Buffer.from(formatLongDoubleHuman(sum), 'latin1');
  h.set(f, buf);
  ctx.notify(db.id, 'hincrbyfloat', argv[1]!, 'h');
  ctx.dirty++;
  ctx.propagateAs([[B_HSET, argv[1]!, argv[2]!, buf]]);
  return buf;
};

const hrandfield: Impl = (ctx, client, argv) => {
  let count = 0;
  let withValues = false;
  if (argv.length >= 3) {
    const v = parseInt64(argv[2]!);
    if (v === null) return E_NOT_INT;
    if (v < -9223372036854775807n) return E_COUNT_RANGE; // Redis takes -LONG_MAX..LONG_MAX
    count = Number(v);
    if (argv.length === 4) {
      if (argv[3]!.toString('latin1').toLowerCase() !== 'withvalues') return new ErrorReply('ERR syntax error');
      withValues = true;
    } else if (argv.length > 4) return new ErrorReply('ERR syntax error');
    if (withValues && (count > Number.MAX_SAFE_INTEGER / 2 || count < -Number.MAX_SAFE_INTEGER / 2))
      return new ErrorReply(`ERR value is out of range`);
  }
  const e = getHash(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  if (argv.length < 3) {
    if (e === undefined) return null;
    const h = e.v as Map<string, Buffer>;
    const [f] = randomSample(ctx.random, [...h.keys()], 1);
    return f === undefined ? null : fieldBuf(f);
  }
  if (e === undefined || count === 0) return [];
  const h = e.v as Map<string, Buffer>;
  const fields = [...h.keys()];
  const picked = count < 0 ? randomIndexes(ctx.random, fields.length, -count).map((i) => fields[i]!) : randomSample(ctx.random, fields, count);
  if (!withValues) return picked.map(fieldBuf);
  if (client.resp === 3) return picked.map((f) => [fieldBuf(f), h.get(f)!]);
  const out: Reply[] = [];
  for (const f of picked) out.push(fieldBuf(f), h.get(f)!);
  return out;
};

const hscan: Impl = (ctx, client, argv) => {
  const cursor = parseCursor(argv[2]!);
  if (cursor instanceof ErrorReply) return cursor;
  const e = getHash(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  if (e === undefined) return [Buffer.from('0'), []];
  const args = parseScanOptions(argv, 3, false, cursor);
  if (args instanceof ErrorReply) return args;
  const h = e.v as Map<string, Buffer>;
  return scanCollection(h, args, (f, out) => {
    out.push(fieldBuf(f), h.get(f)!);
  });
};

export const HASH_COMMANDS: Record<string, Impl> = {
  hset,
  hmset,
  hsetnx,
  hget,
  hmget,
  hgetall,
  hkeys,
  hvals,
  hdel,
  hexists,
  hlen,
  hstrlen,
  hincrby,
  hincrbyfloat,
  hrandfield,
  hscan,
};
