import type { ClientState } from './api.js';
import type { Keyspace, Impl } from './keyspace.js';
import { ErrorReply, OK, SimpleString, type Reply } from '../wire/reply.js';
import { T_HASH, T_LIST, T_STRING, TYPE_NAMES, eqi, type Db, type Entry, type Value, keyString as kstr } from './store.js';
import { Deque } from './deque.js';
import { INT64_MAX, INT64_MIN, int64Buffer, parseInt32, parseInt64 } from './numbers.js';
import { globMatch } from './glob.js';
import { E_DB_RANGE, E_NOT_INT, E_NO_KEY, E_SAME_OBJECT, E_SYNTAX, invalidExpire } from './replies.js';
import { advanceScan, keepScanIterator, parseScanArgs, scanCursorReply } from './scan.js';
import { ZSet } from './zset.js';
import { Stream } from './stream.js';

const B_DEL = Buffer.from('DEL');
const B_PEXPIREAT = Buffer.from('PEXPIREAT');
const TYPE_REPLIES = TYPE_NAMES.map((n) => new SimpleString(n));
const NONE = new SimpleString('none');

/** Deep copy of a value (COPY). */
export function cloneValue(t: number, v: Value): Value {
  if (t === T_STRING) return v;
  if (t === T_LIST) return Deque.from((v as Deque).toArray());
  if (t === T_HASH) return new Map(v as Map<string, Buffer>);
  if (v instanceof ZSet) return v.clone();
  if (v instanceof Stream) return v.clone();
  return new Set(v as Set<string>);
}

const del: Impl = (ctx, client, argv) => {
  const db = ctx.dbs[client.db]!;
  let n = 0;
  for (let i = 1; i < argv.length; i++) {
    if (ctx.deleteKey(db, kstr(argv[i]!))) {
      ctx.notify(db.id, 'del', argv[i]!, 'g');
      ctx.dirty++;
      n++;
    }
  }
  return n;
};

const exists: Impl = (ctx, client, argv) => {
  const db = ctx.dbs[client.db]!;
  let n = 0;
  for (let i = 1; i < argv.length; i++) if (ctx.peek(db, kstr(argv[i]!)) !== undefined) n++;
  return n;
};

const touch: Impl = (ctx, client, argv) => {
  const db = ctx.dbs[client.db]!;
  let n = 0;
  for (let i = 1; i < argv.length; i++) if (ctx.lookup(db, kstr(argv[i]!)) !== undefined) n++;
  return n;
};

const type: Impl = (ctx, client, argv) => {
  const e = ctx.peek(ctx.dbs[client.db]!, kstr(argv[1]!));
  return e === undefined ? NONE : TYPE_REPLIES[e.t]!;
};

const keys: Impl = (ctx, client, argv) => {
  const db = ctx.dbs[client.db]!;
  const pat = argv[1]!;
  const all = pat.length === 1 && pat[0] === 0x2a;
  const out: Reply[] = [];
  for (const [k, e] of db.data) {
    if (e.x !== 0 && e.x <= ctx.t) continue;
    if (db.hidden > 0 && ctx.isHidden(k)) continue;
    const kb = Buffer.from(k, 'latin1');
    if (all || globMatch(pat, kb)) out.push(kb);
  }
  return out;
};

const scan: Impl = (ctx, client, argv) => {
  const args = parseScanArgs(argv, 1, true);
  if (args instanceof ErrorReply) return args;
  const db = ctx.dbs[client.db]!;
  const cacheKey = (c: number): string => db.id + ':' + c;
  let it = args.cursor === 0 ? undefined : (ctx.scanCursors.get(cacheKey(args.cursor)) as Iterator<[string, Entry]> | undefined);
  if (it !== undefined) ctx.scanCursors.delete(cacheKey(args.cursor));
  else it = db.data.entries();
  const out: Reply[] = [];
  const typeId = args.type === null ? -1 : TYPE_NAMES.indexOf(args.type as (typeof TYPE_NAMES)[number]);
  let lastSeq = -1;
  const { done } = advanceScan(it, args.count, ([k, e]) => {
    if (e.seq < args.cursor) return false; // resuming without a cached iterator: skip what was already returned
    lastSeq = e.seq;
    if (e.x !== 0 && e.x <= ctx.t) {
      if (db.data.get(k) === e && !ctx.replica) ctx.expireEntry(db, k, e);
      return true;
    }
    if (args.type !== null && e.t !== typeId) return true;
    if (db.hidden > 0 && ctx.isHidden(k)) return true;
    const kb = Buffer.from(k, 'latin1');
    if (args.match === null || globMatch(args.match, kb)) out.push(kb);
    return true;
  });
  let next = 0;
  if (!done) {
    next = lastSeq + 1;
    keepScanIterator(ctx.scanCursors, cacheKey(next), it, ctx.scanCursorLimit);
  }
  return [scanCursorReply(next), out];
};

function renameGeneric(ctx: Keyspace, client: ClientState, argv: Buffer[], nx: boolean): Reply {
  const db = ctx.dbs[client.db]!;
  const src = kstr(argv[1]!);
  const dst = kstr(argv[2]!);
  const e = ctx.lookup(db, src);
  if (e === undefined) return E_NO_KEY;
  if (src === dst) return nx ? 0 : OK;
  const d = ctx.lookup(db, dst);
  if (d !== undefined) {
    if (nx) return 0;
    ctx.removeEntry(db, dst, d);
  }
  const expire = e.x;
  ctx.removeEntry(db, src, e);
  const ne = ctx.addKey(db, dst, e.t, e.v);
  if (expire !== 0) ctx.setExpire(db, dst, ne, expire);
  ctx.notify(db.id, 'rename_from', argv[1]!, 'g');
  ctx.notify(db.id, 'rename_to', argv[2]!, 'g');
  ctx.dirty++;
  return nx ? 1 : OK;
}

const rename: Impl = (ctx, client, argv) => renameGeneric(ctx, client, argv, false);
const renamenx: Impl = (ctx, client, argv) => renameGeneric(ctx, client, argv, true);

const X_NX = 1;
const X_XX = 2;
const X_GT = 4;
const X_LT = 8;

function expireGeneric(ctx: Keyspace, client: ClientState, argv: Buffer[], seconds: boolean, relative: boolean, name: string): Reply {
  let flags = 0;
  for (let j = 3; j < argv.length; j++) {
    const o = argv[j]!.toString('latin1').toLowerCase();
    if (o === 'nx') flags |= X_NX;
    else if (o === 'xx') flags |= X_XX;
    else if (o === 'gt') flags |= X_GT;
    else if (o === 'lt') flags |= X_LT;
    else return new ErrorReply(`ERR Unsupported option ${argv[j]!.toString('latin1')}`);
  }
  if (flags & X_NX && flags & (X_XX | X_GT | X_LT))
    return new ErrorReply('ERR NX and XX, GT or LT options at the same time are not compatible');
  if (flags & X_GT && flags & X_LT) return new ErrorReply('ERR GT and LT options at the same time are not compatible');
  const p = parseInt64(argv[2]!);
  if (p === null) return E_NOT_INT;
  let when = BigInt(p);
  if (seconds) {
    if (when > INT64_MAX / 1000n || when < INT64_MIN / 1000n) return invalidExpire(name);
    when *= 1000n;
  }
  const base = relative ? BigInt(ctx.t) : 0n;
  if (when > INT64_MAX - base) return invalidExpire(name);
  when += base;
  const db = ctx.dbs[client.db]!;
  const keyBuf = argv[1]!;
  const key = kstr(keyBuf);
  const e = ctx.lookup(db, key);
  if (e === undefined) return 0;
  const w = Number(when);
  if (flags) {
    const cur = e.x === 0 ? -1 : e.x;
    if (flags & X_NX && cur !== -1) return 0;
    if (flags & X_XX && cur === -1) return 0;
    if (flags & X_GT && (w <= cur || cur === -1)) return 0;
    if (flags & X_LT && cur !== -1 && w >= cur) return 0;
  }
  // A time already past deletes the key, except on a replica applying its master's write (Redis'
  // checkAlreadyExpired): the master's clock said it was still live, and its DEL follows when it expires there.
  if (w <= ctx.t && !ctx.fromMaster) {
    ctx.removeEntry(db, key, e);
    ctx.dirty++;
    ctx.propagateAs([[B_DEL, keyBuf]]);
    ctx.notify(db.id, 'del', keyBuf, 'g');
    return 1;
  }
  ctx.setExpire(db, key, e, w);
  const prop = argv.slice();
  prop[0] = B_PEXPIREAT;
  if (seconds || relative) prop[2] = int64Buffer(w);
  ctx.propagateAs([prop]);
  ctx.notify(db.id, 'expire', keyBuf, 'g');
  ctx.dirty++;
  return 1;
}

const expire: Impl = (ctx, client, argv) => expireGeneric(ctx, client, argv, true, true, 'expire');
const pexpire: Impl = (ctx, client, argv) => expireGeneric(ctx, client, argv, false, true, 'pexpire');
const expireat: Impl = (ctx, client, argv) => expireGeneric(ctx, client, argv, true, false, 'expireat');
const pexpireat: Impl = (ctx, client, argv) => expireGeneric(ctx, client, argv, false, false, 'pexpireat');

function ttlGeneric(ctx: Keyspace, client: ClientState, argv: Buffer[], ms: boolean, abs: boolean): Reply {
  const e = ctx.peek(ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e === undefined) return -2;
  if (e.x === 0) return -1;
  let ttl = abs ? e.x : e.x - ctx.t;
  if (ttl < 0) ttl = 0;
  return ms ? ttl : Math.floor((ttl + 500) / 1000);
}

const ttl: Impl = (ctx, client, argv) => ttlGeneric(ctx, client, argv, false, false);
const pttl: Impl = (ctx, client, argv) => ttlGeneric(ctx, client, argv, true, false);
const expiretime: Impl = (ctx, client, argv) => ttlGeneric(ctx, client, argv, false, true);
const pexpiretime: Impl = (ctx, client, argv) => ttlGeneric(ctx, client, argv, true, true);

const persist: Impl = (ctx, client, argv) => {
  const db = ctx.dbs[client.db]!;
  const e = ctx.lookup(db, kstr(argv[1]!));
  if (e === undefined || e.x === 0) return 0;
  ctx.clearExpire(db, e);
  ctx.notify(db.id, 'persist', argv[1]!, 'g');
  ctx.dirty++;
  return 1;
};

/** A random live key of a database (O(N) walk: Map has no random access), or null when empty. */
export function randomKeyOf(ctx: Keyspace, db: Db): string | null {
  for (let tries = 0; tries < 100 && db.data.size - db.hidden > 0; tries++) {
    let i = Math.floor(ctx.random() * db.data.size);
    for (const [k, e] of db.data) {
      if (i-- > 0) continue;
      if (e.x !== 0 && e.x <= ctx.t) {
        if (!ctx.replica) ctx.expireEntry(db, k, e);
        break;
      }
      if (db.hidden > 0 && ctx.isHidden(k)) break;
      return k;
    }
  }
  return null;
}

const randomkey: Impl = (ctx, client) => {
  const k = randomKeyOf(ctx, ctx.dbs[client.db]!);
  return k === null ? null : Buffer.from(k, 'latin1');
};

const dbsize: Impl = (ctx, client) => ctx.dbsize(client.db);

function flushFlags(argv: Buffer[]): ErrorReply | null {
  if (argv.length === 2) {
    if (eqi(argv[1]!, 'sync') || eqi(argv[1]!, 'async')) return null;
    return E_SYNTAX;
  }
  if (argv.length > 2) return E_SYNTAX;
  return null;
}

function emptyDb(ctx: Keyspace, db: Db): number {
  const n = db.data.size;
  db.data = new Map();
  db.heap.clear();
  db.expires = 0;
  db.hidden = 0;
  if (ctx.blocking.count > 0) ctx.blocking.signalDb(db.id);
  return n;
}

/** Answers FlushEvent.existed from the key maps a flush emptied or a swap exchanged (per db), skipping stale keys. */
function liveIn(ctx: Keyspace, maps: ReadonlyMap<number, ReadonlyArray<Map<string, Entry>>>): (db: number, key: string) => boolean {
  const now = ctx.now();
  return (db, key) => (maps.get(db) ?? []).some((m) => {
    const e = m.get(key);
    return e !== undefined && (e.x === 0 || e.x > now);
  });
}

const flushdb: Impl = (ctx, client, argv) => {
  const bad = flushFlags(argv);
  if (bad !== null) return bad;
  const old = ctx.dbs[client.db]!.data;
  ctx.dirty += emptyDb(ctx, ctx.dbs[client.db]!);
  ctx.propagateAs([argv]);
  ctx.emitFlush(client.db, liveIn(ctx, new Map([[client.db, [old]]])));
  return OK;
};

const flushall: Impl = (ctx, client, argv) => {
  const bad = flushFlags(argv);
  if (bad !== null) return bad;
  const old = new Map(ctx.dbs.map((db, i) => [i, [db.data]]));
  for (const db of ctx.dbs) ctx.dirty += emptyDb(ctx, db);
  ctx.dirty++;
  ctx.propagateAs([argv]);
  ctx.emitFlush(-1, liveIn(ctx, old));
  return OK;
};

const copy: Impl = (ctx, client, argv) => {
  let dbid = client.db;
  let replace = false;
  for (let j = 3; j < argv.length; j++) {
    const more = argv.length - j - 1;
    if (eqi(argv[j]!, 'replace')) replace = true;
    else if (eqi(argv[j]!, 'db') && more >= 1) {
      const v = parseInt32(argv[j + 1]!);
      if (v === null) return E_NOT_INT;
      if (v < 0 || v >= ctx.dbs.length) return E_DB_RANGE;
      dbid = v;
      j++;
    } else return E_SYNTAX;
  }
  const src = ctx.dbs[client.db]!;
  const dst = ctx.dbs[dbid]!;
  const key = kstr(argv[1]!);
  const newkey = kstr(argv[2]!);
  if (src === dst && key === newkey) return E_SAME_OBJECT;
  const e = ctx.lookup(src, key);
  if (e === undefined) return 0;
  const d = ctx.lookup(dst, newkey);
  if (d !== undefined) {
    if (!replace) return 0;
    ctx.removeEntry(dst, newkey, d);
  }
  const ne = ctx.addKey(dst, newkey, e.t, cloneValue(e.t, e.v));
  if (e.x !== 0) ctx.setExpire(dst, newkey, ne, e.x);
  ctx.notify(dst.id, 'copy_to', argv[2]!, 'g');
  ctx.dirty++;
  return 1;
};

const move: Impl = (ctx, client, argv) => {
  const v = parseInt32(argv[2]!);
  if (v === null) return E_NOT_INT;
  if (v < 0 || v >= ctx.dbs.length) return E_DB_RANGE;
  const src = ctx.dbs[client.db]!;
  const dst = ctx.dbs[v]!;
  if (src === dst) return E_SAME_OBJECT;
  const key = kstr(argv[1]!);
  const e = ctx.lookup(src, key);
  if (e === undefined) return 0;
  if (ctx.lookup(dst, key) !== undefined) return 0;
  const ne = ctx.addKey(dst, key, e.t, e.v);
  if (e.x !== 0) ctx.setExpire(dst, key, ne, e.x);
  ctx.removeEntry(src, key, e);
  ctx.notify(src.id, 'move_from', argv[1]!, 'g');
  ctx.notify(dst.id, 'move_to', argv[1]!, 'g');
  ctx.dirty++;
  return 1;
};

const swapdb: Impl = (ctx, _client, argv) => {
  const a = parseInt32(argv[1]!);
  if (a === null) return new ErrorReply('ERR invalid first DB index');
  const b = parseInt32(argv[2]!);
  if (b === null) return new ErrorReply('ERR invalid second DB index');
  if (a < 0 || a >= ctx.dbs.length || b < 0 || b >= ctx.dbs.length) return E_DB_RANGE;
  const da = ctx.dbs[a]!;
  const dbb = ctx.dbs[b]!;
  if (a !== b) {
    const { data, heap, expires, hidden } = da;
    da.data = dbb.data;
    da.heap = dbb.heap;
    da.expires = dbb.expires;
    da.hidden = dbb.hidden;
    dbb.data = data;
    dbb.heap = heap;
    dbb.expires = expires;
    dbb.hidden = hidden;
    for (const db of [da, dbb]) {
      for (const [k, e] of db.data) if (e.t === T_LIST) ctx.signalList(db, k);
    }
  }
  ctx.dirty++;
  // A watched key is touched if it was live on either side (the data leaving or the data arriving).
  const both = [da.data, dbb.data];
  const existed = liveIn(ctx, new Map([[a, both], [b, both]]));
  ctx.emitFlush(a, existed);
  if (a !== b) ctx.emitFlush(b, existed);
  return OK;
};


const unlink: Impl = del;

export const KEY_COMMANDS: Record<string, Impl> = {
  del,
  unlink,
  exists,
  type,
  keys,
  scan,
  rename,
  renamenx,
  expire,
  pexpire,
  expireat,
  pexpireat,
  ttl,
  pttl,
  expiretime,
  pexpiretime,
  persist,
  randomkey,
  dbsize,
  flushdb,
  flushall,
  copy,
  move,
  swapdb,
  touch,
};
