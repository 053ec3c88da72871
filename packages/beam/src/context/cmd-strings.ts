import type { ClientState } from './api.js';
import type { Keyspace, Impl } from './keyspace.js';
import { ErrorReply, OK, type Reply } from '../wire/reply.js';
import { T_STRING, type Entry, type Db, keyString as kstr } from './store.js';
import { INT64_MAX, INT64_MIN, int64Buffer, intReply, parseInt64 } from './numbers.js';
import { addLongDouble, formatLongDoubleHuman, longDoubleFromInt, parseLongDouble } from './longdouble.js';
import {
  E_NAN_INF,
  E_NOT_FLOAT,
  E_NOT_INT,
  E_OVERFLOW,
  E_STRING_LIMIT,
  E_SYNTAX,
  E_WRONGTYPE,
  invalidExpire,
  wrongArgs,
} from './replies.js';

import { lcs } from './cmd-lcs.js';

export const MAX_STRING = 512 * 1024 * 1024;
const B_SET = Buffer.from('SET');
const B_PXAT = Buffer.from('PXAT');
const B_KEEPTTL = Buffer.from('KEEPTTL');
const B_PEXPIREAT = Buffer.from('PEXPIREAT');
const B_PERSIST = Buffer.from('PERSIST');
const B_DEL = Buffer.from('DEL');
const EMPTY = Buffer.alloc(0);

/** Copies a Buffer that is a small view into a big one (e.g. a socket chunk), so storing it does not pin the chunk. */
export function own(b: Buffer): Buffer {
  const backing = b.buffer.byteLength;
  return backing > 16384 && b.byteLength * 2 < backing ? Buffer.from(b) : b;
}

const F_NX = 1;
const F_XX = 2;
const F_GET = 4;
const F_KEEPTTL = 8;
const F_PERSIST = 16;
const F_EX = 32;
const F_PX = 64;
const F_EXAT = 128;
const F_PXAT = 256;
const F_ANY_EXPIRE = F_EX | F_PX | F_EXAT | F_PXAT;

interface ExtArgs {
  flags: number;
  /** Absolute ms deadline, or -1 when none. */
  at: number;
}

function optIs(b: Buffer, upper: string): boolean {
  if (b.length !== upper.length) return false;
  for (let i = 0; i < b.length; i++) {
    let c = b[i]!;
    if (c >= 0x61 && c <= 0x7a) c -= 32;
    if (c !== upper.charCodeAt(i)) return false;
  }
  return true;
}

/** Redis' parseExtendedStringArgumentsOrReply + getExpireMillisecondsOrReply for SET and GETEX. */
function parseExtended(ctx: Keyspace, argv: Buffer[], from: number, isSet: boolean, name: string): ExtArgs | ErrorReply {
  let flags = 0;
  let expireArg: Buffer | null = null;
  for (let j = from; j < argv.length; j++) {
    const opt = argv[j]!;
    const hasNext = j < argv.length - 1;
    if (isSet && optIs(opt, 'NX') && !(flags & F_XX)) flags |= F_NX;
    else if (isSet && optIs(opt, 'XX') && !(flags & F_NX)) flags |= F_XX;
    else if (isSet && optIs(opt, 'GET')) flags |= F_GET;
    else if (isSet && optIs(opt, 'KEEPTTL') && !(flags & (F_PERSIST | F_ANY_EXPIRE))) flags |= F_KEEPTTL;
    else if (!isSet && optIs(opt, 'PERSIST') && !(flags & (F_ANY_EXPIRE | F_KEEPTTL))) flags |= F_PERSIST;
    else if (optIs(opt, 'EX') && !(flags & (F_KEEPTTL | F_PERSIST | F_EXAT | F_PX | F_PXAT)) && hasNext) {
      flags |= F_EX;
      expireArg = argv[++j]!;
    } else if (optIs(opt, 'PX') && !(flags & (F_KEEPTTL | F_PERSIST | F_EX | F_EXAT | F_PXAT)) && hasNext) {
      flags |= F_PX;
      expireArg = argv[++j]!;
    } else if (optIs(opt, 'EXAT') && !(flags & (F_KEEPTTL | F_PERSIST | F_EX | F_PX | F_PXAT)) && hasNext) {
      flags |= F_EXAT;
      expireArg = argv[++j]!;
    } else if (optIs(opt, 'PXAT') && !(flags & (F_KEEPTTL | F_PERSIST | F_EX | F_EXAT | F_PX)) && hasNext) {
      flags |= F_PXAT;
      expireArg = argv[++j]!;
    } else {
      return E_SYNTAX;
    }
  }
  let at = -1;
  if (expireArg !== null) {
    const r = expireMs(ctx, expireArg, (flags & (F_EX | F_EXAT)) !== 0, (flags & (F_EX | F_PX)) !== 0, name);
    if (r instanceof ErrorReply) return r;
    at = r;
  }
  return { flags, at };
}

/** getExpireMillisecondsOrReply: positive integer, scaled and made absolute, within int64. */
export function expireMs(ctx: Keyspace, arg: Buffer, seconds: boolean, relative: boolean, name: string): number | ErrorReply {
  const v = parseInt64(arg);
  if (v === null) return E_NOT_INT;
  let ms = BigInt(v);
  if (ms <= 0n || (seconds && ms > INT64_MAX / 1000n)) return invalidExpire(name);
  if (seconds) ms *= 1000n;
  if (relative) ms += BigInt(ctx.t);
  if (ms <= 0n || ms > INT64_MAX) return invalidExpire(name);
  return Number(ms);
}

/** Reads a string key: Buffer, null when missing, WRONGTYPE otherwise. */
function getString(ctx: Keyspace, db: Db, key: string): Buffer | null | ErrorReply {
  const e = ctx.lookup(db, key);
  if (e === undefined) return null;
  if (e.t !== T_STRING) return E_WRONGTYPE;
  return e.v as Buffer;
}

/** Shared body of SET/SETNX/SETEX/PSETEX (Redis' setGenericCommand). */
function setGeneric(
  ctx: Keyspace,
  client: ClientState,
  argv: Buffer[],
  keyBuf: Buffer,
  val: Buffer,
  flags: number,
  at: number,
  okReply: Reply,
  abortReply: Reply,
): Reply {
  const db = ctx.dbs[client.db]!;
  const key = kstr(keyBuf);
  let old: Reply = null;
  const found = ctx.lookup(db, key);
  if (flags & F_GET) {
    if (found !== undefined) {
      if (found.t !== T_STRING) return E_WRONGTYPE;
      old = found.v as Buffer;
    }
  }
  if (((flags & F_NX) && found !== undefined) || ((flags & F_XX) && found === undefined)) {
    return flags & F_GET ? old : abortReply;
  }
  let e: Entry;
  if (found !== undefined) {
    e = found;
    // A stream replaced by SET ends its XREADGROUP waiters.
    if (e.t !== T_STRING) ctx.signalList(db, key);
    e.t = T_STRING;
    e.v = own(val);
    if (!(flags & F_KEEPTTL)) ctx.clearExpire(db, e);
  } else {
    e = ctx.addKey(db, key, T_STRING, own(val));
  }
  ctx.dirty++;
  ctx.notify(db.id, 'set', keyBuf, '$');
  if (at >= 0) {
    ctx.setExpire(db, key, e, at);
    ctx.propagateAs([[B_SET, keyBuf, val, B_PXAT, int64Buffer(at)]]);
    ctx.notify(db.id, 'expire', keyBuf, 'g');
  }
  return flags & F_GET ? old : okReply;
}

const set: Impl = (ctx, client, argv) => {
  if (argv.length === 3) return setGeneric(ctx, client, argv, argv[1]!, argv[2]!, 0, -1, OK, null);
  const ext = parseExtended(ctx, argv, 3, true, 'set');
  if (ext instanceof ErrorReply) return ext;
  return setGeneric(ctx, client, argv, argv[1]!, argv[2]!, ext.flags, ext.at, OK, null);
};

const setnx: Impl = (ctx, client, argv) => setGeneric(ctx, client, argv, argv[1]!, argv[2]!, F_NX, -1, 1, 0);

function setexLike(seconds: boolean, name: string): Impl {
  return (ctx, client, argv) => {
    const at = expireMs(ctx, argv[2]!, seconds, true, name);
    if (at instanceof ErrorReply) return at;
    return setGeneric(ctx, client, argv, argv[1]!, argv[3]!, seconds ? F_EX : F_PX, at, OK, null);
  };
}

const get: Impl = (ctx, client, argv) => getString(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));

const getset: Impl = (ctx, client, argv) => {
  const db = ctx.dbs[client.db]!;
  const key = kstr(argv[1]!);
  const old = getString(ctx, db, key);
  if (old instanceof ErrorReply) return old;
  const e = db.data.get(key);
  if (e !== undefined) {
    e.v = own(argv[2]!);
    ctx.clearExpire(db, e);
  } else ctx.addKey(db, key, T_STRING, own(argv[2]!));
  ctx.notify(db.id, 'set', argv[1]!, '$');
  ctx.dirty++;
  ctx.propagateAs([[B_SET, argv[1]!, argv[2]!]]);
  return old;
};

const getdel: Impl = (ctx, client, argv) => {
  const db = ctx.dbs[client.db]!;
  const key = kstr(argv[1]!);
  const e = ctx.lookup(db, key);
  if (e === undefined) return null;
  if (e.t !== T_STRING) return E_WRONGTYPE;
  ctx.removeEntry(db, key, e);
  ctx.notify(db.id, 'del', argv[1]!, 'g');
  ctx.dirty++;
  ctx.propagateAs([[B_DEL, argv[1]!]]);
  return e.v as Buffer;
};

const getex: Impl = (ctx, client, argv) => {
  const ext = parseExtended(ctx, argv, 2, false, 'getex');
  if (ext instanceof ErrorReply) return ext;
  const db = ctx.dbs[client.db]!;
  const keyBuf = argv[1]!;
  const key = kstr(keyBuf);
  const e = ctx.lookup(db, key);
  if (e === undefined) return null;
  if (e.t !== T_STRING) return E_WRONGTYPE;
  const value = e.v as Buffer;
  if (ext.flags & (F_EXAT | F_PXAT) && ext.at <= ctx.t && !ctx.fromMaster) {
    ctx.removeEntry(db, key, e);
    ctx.notify(db.id, 'del', keyBuf, 'g');
    ctx.dirty++;
    ctx.propagateAs([[B_DEL, keyBuf]]);
  } else if (ext.at >= 0) {
    ctx.setExpire(db, key, e, ext.at);
    ctx.notify(db.id, 'expire', keyBuf, 'g');
    ctx.dirty++;
    ctx.propagateAs([[B_PEXPIREAT, keyBuf, int64Buffer(ext.at)]]);
  } else if (ext.flags & F_PERSIST) {
    if (e.x !== 0) {
      ctx.clearExpire(db, e);
      ctx.notify(db.id, 'persist', keyBuf, 'g');
      ctx.dirty++;
      ctx.propagateAs([[B_PERSIST, keyBuf]]);
    }
  }
  return value;
};

const mget: Impl = (ctx, client, argv) => {
  const db = ctx.dbs[client.db]!;
  const out: Reply[] = new Array<Reply>(argv.length - 1);
  for (let i = 1; i < argv.length; i++) {
    const e = ctx.lookup(db, kstr(argv[i]!));
    out[i - 1] = e !== undefined && e.t === T_STRING ? (e.v as Buffer) : null;
  }
  return out;
};

function msetGeneric(ctx: Keyspace, client: ClientState, argv: Buffer[], nx: boolean): Reply {
  if (argv.length % 2 === 0) return wrongArgs(nx ? 'msetnx' : 'mset');
  const db = ctx.dbs[client.db]!;
  if (nx) {
    for (let i = 1; i < argv.length; i += 2) if (ctx.lookup(db, kstr(argv[i]!)) !== undefined) return 0;
  }
  for (let i = 1; i < argv.length; i += 2) {
    const key = kstr(argv[i]!);
    const e = ctx.lookup(db, key);
    if (e !== undefined) {
      if (e.t !== T_STRING) ctx.signalList(db, key);
      e.t = T_STRING;
      e.v = own(argv[i + 1]!);
      ctx.clearExpire(db, e);
    } else ctx.addKey(db, key, T_STRING, own(argv[i + 1]!));
    ctx.notify(db.id, 'set', argv[i]!, '$');
  }
  ctx.dirty += (argv.length - 1) / 2;
  return nx ? 1 : OK;
}

const mset: Impl = (ctx, client, argv) => msetGeneric(ctx, client, argv, false);
const msetnx: Impl = (ctx, client, argv) => msetGeneric(ctx, client, argv, true);

function incrGeneric(ctx: Keyspace, client: ClientState, keyBuf: Buffer, incr: number | bigint): Reply {
  const db = ctx.dbs[client.db]!;
  const key = kstr(keyBuf);
  const e = ctx.lookup(db, key);
  let cur: number | bigint = 0;
  if (e !== undefined) {
    if (e.t !== T_STRING) return E_WRONGTYPE;
    const p = parseInt64(e.v as Buffer);
    if (p === null) return E_NOT_INT;
    cur = p;
  }
  let next: number | bigint;
  if (typeof cur === 'number' && typeof incr === 'number' && Number.isSafeInteger(cur + incr)) {
    next = cur + incr;
  } else {
    const c = BigInt(cur);
    const i = BigInt(incr);
    const sum = c + i;
    if (sum > INT64_MAX || sum < INT64_MIN) return E_OVERFLOW;
    next = intReply(sum);
  }
  const buf = int64Buffer(next);
  if (e !== undefined) e.v = buf;
  else ctx.addKey(db, key, T_STRING, buf);
  ctx.dirty++;
  ctx.notify(db.id, 'incrby', keyBuf, '$');
  return next;
}

const incr: Impl = (ctx, client, argv) => incrGeneric(ctx, client, argv[1]!, 1);
const decr: Impl = (ctx, client, argv) => incrGeneric(ctx, client, argv[1]!, -1);
const incrby: Impl = (ctx, client, argv) => {
  const v = parseInt64(argv[2]!);
  if (v === null) return E_NOT_INT;
  return incrGeneric(ctx, client, argv[1]!, v);
};
const decrby: Impl = (ctx, client, argv) => {
  const v = parseInt64(argv[2]!);
  if (v === null) return E_NOT_INT;
  if (typeof v === 'bigint' && v === INT64_MIN) return new ErrorReply('ERR decrement would overflow');
  return incrGeneric(ctx, client, argv[1]!, typeof v === 'number' ? -v : -v);
};

const incrbyfloat: Impl = (ctx, client, argv) => {
  const db = ctx.dbs[client.db]!;
  const keyBuf = argv[1]!;
  const key = kstr(keyBuf);
  const e = ctx.lookup(db, key);
  let cur = longDoubleFromInt(0n);
  if (e !== undefined) {
    if (e.t !== T_STRING) return E_WRONGTYPE;
    const p = parseLongDouble(e.v as Buffer);
    if (p === null) return E_NOT_FLOAT;
    cur = p;
  }
  const inc = parseLongDouble(argv[2]!);
  if (inc === null) return E_NOT_FLOAT;
  const sum = addLongDouble(cur, inc);
  if (sum.inf) return E_NAN_INF;
  const buf = Buffer.from(formatLongDoubleHuman(sum), 'latin1');
  if (e !== undefined) e.v = buf;
  else ctx.addKey(db, key, T_STRING, buf);
  ctx.dirty++;
  ctx.notify(db.id, 'incrbyfloat', keyBuf, '$');
  ctx.propagateAs([[B_SET, keyBuf, buf, B_KEEPTTL]]);
  return buf;
};

const append: Impl = (ctx, client, argv) => {
  const db = ctx.dbs[client.db]!;
  const keyBuf = argv[1]!;
  const key = kstr(keyBuf);
  const e = ctx.lookup(db, key);
  let len: number;
  if (e === undefined) {
    const v = Buffer.from(argv[2]!);
    ctx.addKey(db, key, T_STRING, v);
    len = v.length;
  } else {
    if (e.t !== T_STRING) return E_WRONGTYPE;
    const cur = e.v as Buffer;
    if (cur.length + argv[2]!.length > MAX_STRING) return E_STRING_LIMIT;
    const v = Buffer.concat([cur, argv[2]!]);
    e.v = v;
    len = v.length;
  }
  ctx.notify(db.id, 'append', keyBuf, '$');
  ctx.dirty++;
  return len;
};

const strlen: Impl = (ctx, client, argv) => {
  const v = getString(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (v instanceof ErrorReply) return v;
  return v === null ? 0 : v.length;
};

const getrange: Impl = (ctx, client, argv) => {
  const s = parseInt64(argv[2]!);
  const en = parseInt64(argv[3]!);
  if (s === null || en === null) return E_NOT_INT;
  const v = getString(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (v instanceof ErrorReply) return v;
  if (v === null) return EMPTY;
  let start = Number(s);
  let end = Number(en);
  const len = v.length;
  if (start < 0 && end < 0 && start > end) return EMPTY;
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len === 0) return EMPTY;
  return v.subarray(start, end + 1);
};

const setrange: Impl = (ctx, client, argv) => {
  const off = parseInt64(argv[2]!);
  if (off === null) return E_NOT_INT;
  const offset = Number(off);
  if (offset < 0) return new ErrorReply('ERR offset is out of range');
  const db = ctx.dbs[client.db]!;
  const keyBuf = argv[1]!;
  const key = kstr(keyBuf);
  const val = argv[3]!;
  const e = ctx.lookup(db, key);
  let result: Buffer;
  if (e === undefined) {
    if (val.length === 0) return 0;
    if (offset + val.length > MAX_STRING) return E_STRING_LIMIT;
    result = Buffer.alloc(offset + val.length);
    val.copy(result, offset);
    ctx.addKey(db, key, T_STRING, result);
  } else {
    if (e.t !== T_STRING) return E_WRONGTYPE;
    const cur = e.v as Buffer;
    if (val.length === 0) return cur.length;
    if (offset + val.length > MAX_STRING) return E_STRING_LIMIT;
    result = Buffer.alloc(Math.max(cur.length, offset + val.length));
    cur.copy(result, 0);
    val.copy(result, offset);
    e.v = result;
  }
  ctx.notify(db.id, 'setrange', keyBuf, '$');
  ctx.dirty++;
  return result.length;
};

export const STRING_COMMANDS: Record<string, Impl> = {
  set,
  setnx,
  setex: setexLike(true, 'setex'),
  psetex: setexLike(false, 'psetex'),
  get,
  getset,
  getdel,
  getex,
  mget,
  mset,
  msetnx,
  incr,
  decr,
  incrby,
  decrby,
  incrbyfloat,
  append,
  strlen,
  getrange,
  substr: getrange,
  setrange,
  lcs,
};
