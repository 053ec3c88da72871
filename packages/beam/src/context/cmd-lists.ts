import type { ClientState } from './api.js';
import type { Keyspace, Impl } from './keyspace.js';
import { ErrorReply, NULL_ARRAY, OK, type Reply } from '../wire/reply.js';
import { Deque } from './deque.js';
import { T_LIST, eqi, type Db, type Entry, keyString as kstr } from './store.js';
import { parseInt64, parseLong } from './numbers.js';
import { parseLongDouble, longDoubleToNumber } from './longdouble.js';
import { own } from './cmd-strings.js';
import { E_INDEX_RANGE, E_NOT_INT, E_NO_KEY, E_SYNTAX, E_TIMEOUT_FLOAT, E_TIMEOUT_NEG, E_TIMEOUT_RANGE, E_WRONGTYPE, wrongArgs } from './replies.js';
export const B_LPOP = Buffer.from('LPOP');
export const B_RPOP = Buffer.from('RPOP');
export const B_LMOVE = Buffer.from('LMOVE');
export const B_RPOPLPUSH = Buffer.from('RPOPLPUSH');
export const B_LEFT = Buffer.from('LEFT');
export const B_RIGHT = Buffer.from('RIGHT');
const E_POSITIVE = new ErrorReply('ERR value is out of range, must be positive');

/** LEFT -> true, RIGHT -> false, else null (syntax error). */
export function parseSide(b: Buffer): boolean | null {
  if (eqi(b, 'left')) return true;
  if (eqi(b, 'right')) return false;
  return null;
}

/** getTimeoutFromObjectOrReply(UNIT_SECONDS): absolute deadline in ms, 0 = forever. */
export function parseTimeout(ctx: Keyspace, b: Buffer): number | ErrorReply {
  const ld = parseLongDouble(b);
  if (ld === null) return E_TIMEOUT_FLOAT;
  const secs = longDoubleToNumber(ld);
  let ms = Math.trunc(secs * 1000);
  if (!Number.isFinite(ms) || Math.abs(ms) >= 9223372036854775807) ms = -1; // C cast of an out-of-range double: LLONG_MIN
  if (ms < 0) return E_TIMEOUT_NEG;
  if (ms > 0) {
    if (ms > 9223372036854775807 - ctx.t) return E_TIMEOUT_RANGE;
    ms += ctx.t;
  }
  return ms;
}

export function getList(ctx: Keyspace, db: Db, key: string): Entry | undefined | ErrorReply {
  const e = ctx.lookup(db, key);
  if (e !== undefined && e.t !== T_LIST) return E_WRONGTYPE;
  return e;
}

/** Redis' listElementsRemoved: pop event, delete when empty, dirty. */
export function elementsRemoved(ctx: Keyspace, db: Db, keyBuf: Buffer, key: string, e: Entry, left: boolean, n: number): void {
  ctx.notify(db.id, left ? 'lpop' : 'rpop', keyBuf, 'l');
  if ((e.v as Deque).length === 0) {
    ctx.removeEntry(db, key, e);
    ctx.notify(db.id, 'del', keyBuf, 'g');
  }
  ctx.dirty += n;
}

function pushGeneric(ctx: Keyspace, client: ClientState, argv: Buffer[], left: boolean, onlyExisting: boolean): Reply {
  const db = ctx.dbs[client.db]!;
  const keyBuf = argv[1]!;
  const key = kstr(keyBuf);
  const e = getList(ctx, db, key);
  if (e instanceof ErrorReply) return e;
  let list: Deque;
  if (e === undefined) {
    if (onlyExisting) return 0;
    list = new Deque(argv.length);
    ctx.addKey(db, key, T_LIST, list);
  } else {
    list = e.v as Deque;
    ctx.signalList(db, key);
  }
  if (left) for (let i = 2; i < argv.length; i++) list.pushFront(own(argv[i]!));
  else for (let i = 2; i < argv.length; i++) list.pushBack(own(argv[i]!));
  ctx.notify(db.id, left ? 'lpush' : 'rpush', keyBuf, 'l');
  ctx.dirty += argv.length - 2;
  return list.length;
}

const lpush: Impl = (ctx, c, argv) => pushGeneric(ctx, c, argv, true, false);
const rpush: Impl = (ctx, c, argv) => pushGeneric(ctx, c, argv, false, false);
const lpushx: Impl = (ctx, c, argv) => pushGeneric(ctx, c, argv, true, true);
const rpushx: Impl = (ctx, c, argv) => pushGeneric(ctx, c, argv, false, true);

export function popN(list: Deque, left: boolean, n: number): Buffer[] {
  const out = new Array<Buffer>(n);
  for (let i = 0; i < n; i++) out[i] = (left ? list.popFront() : list.popBack())!;
  return out;
}

function popGeneric(ctx: Keyspace, client: ClientState, argv: Buffer[], left: boolean): Reply {
  if (argv.length > 3) return wrongArgs(left ? 'lpop' : 'rpop');
  const hasCount = argv.length === 3;
  let count = 0;
  if (hasCount) {
    const v = parseInt64(argv[2]!);
    if (v === null || v < 0) return E_POSITIVE;
    count = Number(v);
  }
  const db = ctx.dbs[client.db]!;
  const keyBuf = argv[1]!;
  const key = kstr(keyBuf);
  const e = getList(ctx, db, key);
  if (e instanceof ErrorReply) return e;
  if (e === undefined) return hasCount ? NULL_ARRAY : null;
  if (hasCount && count === 0) return [];
  const list = e.v as Deque;
  if (!hasCount) {
    const v = left ? list.popFront()! : list.popBack()!;
    elementsRemoved(ctx, db, keyBuf, key, e, left, 1);
    return v;
  }
  const out = popN(list, left, Math.min(count, list.length));
  elementsRemoved(ctx, db, keyBuf, key, e, left, out.length);
  return out;
}

const lpop: Impl = (ctx, c, argv) => popGeneric(ctx, c, argv, true);
const rpop: Impl = (ctx, c, argv) => popGeneric(ctx, c, argv, false);

const lrange: Impl = (ctx, client, argv) => {
  let start = parseLong(argv[2]!);
  let end = parseLong(argv[3]!);
  if (start === null || end === null) return E_NOT_INT;
  const e = getList(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  if (e === undefined) return [];
  const list = e.v as Deque;
  const len = list.length;
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (start > end || start >= len) return [];
  if (end >= len) end = len - 1;
  return list.range(start, end);
};

const lindex: Impl = (ctx, client, argv) => {
  const e = getList(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  if (e === undefined) return null;
  let i = parseLong(argv[2]!);
  if (i === null) return E_NOT_INT;
  const list = e.v as Deque;
  if (i < 0) i = list.length + i;
  return list.at(i) ?? null;
};

const lset: Impl = (ctx, client, argv) => {
  const db = ctx.dbs[client.db]!;
  const e = getList(ctx, db, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  if (e === undefined) return E_NO_KEY;
  let i = parseLong(argv[2]!);
  if (i === null) return E_NOT_INT;
  const list = e.v as Deque;
  if (i < 0) i = list.length + i;
  if (i < 0 || i >= list.length) return E_INDEX_RANGE;
  list.set(i, own(argv[3]!));
  ctx.notify(db.id, 'lset', argv[1]!, 'l');
  ctx.dirty++;
  return OK;
};

const llen: Impl = (ctx, client, argv) => {
  const e = getList(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  return e === undefined ? 0 : (e.v as Deque).length;
};

const lrem: Impl = (ctx, client, argv) => {
  const toremove = parseLong(argv[2]!);
  if (toremove === null) return E_NOT_INT;
  const db = ctx.dbs[client.db]!;
  const keyBuf = argv[1]!;
  const key = kstr(keyBuf);
  const e = getList(ctx, db, key);
  if (e instanceof ErrorReply) return e;
  if (e === undefined) return 0;
  const list = e.v as Deque;
  const items = list.toArray();
  const target = argv[3]!;
  let removed = 0;
  const limit = toremove === 0 ? Infinity : Math.abs(toremove);
  const keep = new Array<boolean>(items.length).fill(true);
  if (toremove >= 0) {
    for (let i = 0; i < items.length && removed < limit; i++) if (items[i]!.equals(target)) (keep[i] = false), removed++;
  } else {
    for (let i = items.length - 1; i >= 0 && removed < limit; i--) if (items[i]!.equals(target)) (keep[i] = false), removed++;
  }
  if (removed > 0) {
    list.replace(items.filter((_, i) => keep[i]));
    ctx.notify(db.id, 'lrem', keyBuf, 'l');
    if (list.length === 0) {
      ctx.removeEntry(db, key, e);
      ctx.notify(db.id, 'del', keyBuf, 'g');
    }
    ctx.dirty += removed;
  }
  return removed;
};

const ltrim: Impl = (ctx, client, argv) => {
  let start = parseLong(argv[2]!);
  let end = parseLong(argv[3]!);
  if (start === null || end === null) return E_NOT_INT;
  const db = ctx.dbs[client.db]!;
  const keyBuf = argv[1]!;
  const key = kstr(keyBuf);
  const e = getList(ctx, db, key);
  if (e instanceof ErrorReply) return e;
  if (e === undefined) return OK;
  const list = e.v as Deque;
  const len = list.length;
  let ltrimN: number;
  let rtrimN: number;
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (start > end || start >= len) {
    ltrimN = len;
    rtrimN = 0;
  } else {
    if (end >= len) end = len - 1;
    ltrimN = start;
    rtrimN = len - end - 1;
  }
  list.dropFront(ltrimN);
  list.dropBack(rtrimN);
  ctx.notify(db.id, 'ltrim', keyBuf, 'l');
  if (list.length === 0) {
    ctx.removeEntry(db, key, e);
    ctx.notify(db.id, 'del', keyBuf, 'g');
  }
  ctx.dirty += ltrimN + rtrimN;
  return OK;
};

const linsert: Impl = (ctx, client, argv) => {
  let after: boolean;
  if (eqi(argv[2]!, 'after')) after = true;
  else if (eqi(argv[2]!, 'before')) after = false;
  else return E_SYNTAX;
  const db = ctx.dbs[client.db]!;
  const e = getList(ctx, db, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  if (e === undefined) return 0;
  const list = e.v as Deque;
  const pivot = argv[3]!;
  const n = list.length;
  let idx = -1;
  for (let i = 0; i < n; i++) {
    if (list.at(i)!.equals(pivot)) {
      idx = i;
      break;
    }
  }
  if (idx < 0) return -1;
  const items = list.toArray();
  items.splice(after ? idx + 1 : idx, 0, own(argv[4]!));
  list.replace(items);
  ctx.notify(db.id, 'linsert', argv[1]!, 'l');
  ctx.dirty++;
  return list.length;
};

const lpos: Impl = (ctx, client, argv) => {
  let rank = 1;
  let count = -1;
  let maxlen = 0;
  for (let j = 3; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    const opt = argv[j]!;
    if (eqi(opt, 'rank') && more) {
      j++;
      const v = parseInt64(argv[j]!);
      if (v === null) return E_NOT_INT;
      // Redis 7.0 negates LLONG_MIN into itself: it then behaves as "first match from the tail".
      if (v === -9223372036854775808n) {
        rank = -1;
        continue;
      }
      if (v === 0)
        return new ErrorReply(
          "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
        );
      rank = Number(v);
    } else if (eqi(opt, 'count') && more) {
      j++;
      const v = parseInt64(argv[j]!);
      if (v === null || v < 0) return new ErrorReply("ERR COUNT can't be negative");
      count = Number(v);
    } else if (eqi(opt, 'maxlen') && more) {
      j++;
      const v = parseInt64(argv[j]!);
      if (v === null || v < 0) return new ErrorReply("ERR MAXLEN can't be negative");
      maxlen = Number(v);
    } else return E_SYNTAX;
  }
  const fromTail = rank < 0;
  if (fromTail) rank = -rank;
  const e = getList(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  if (e === undefined) return count !== -1 ? [] : null;
  const list = e.v as Deque;
  const target = argv[2]!;
  const len = list.length;
  const matches: number[] = [];
  let seen = 0;
  for (let k = 0; k < len && (maxlen === 0 || k < maxlen); k++) {
    const i = fromTail ? len - 1 - k : k;
    if (list.at(i)!.equals(target)) {
      seen++;
      if (seen >= rank) {
        matches.push(i);
        if (count !== 0 && matches.length >= (count === -1 ? 1 : count)) break;
      }
    }
  }
  if (count === -1) return matches.length > 0 ? matches[0]! : null;
  return matches;
};

/** Pops from src and pushes to dst (LMOVE and served BLMOVE); returns the moved element or an error. */
export function moveElement(
  ctx: Keyspace,
  db: Db,
  srcBuf: Buffer,
  src: string,
  se: Entry,
  dstBuf: Buffer,
  left: boolean,
  destLeft: boolean,
): Buffer | ErrorReply {
  const dst = kstr(dstBuf);
  const de = getList(ctx, db, dst);
  if (de instanceof ErrorReply) return de;
  const slist = se.v as Deque;
  const value = (left ? slist.popFront() : slist.popBack())!;
  let dlist: Deque;
  if (de === undefined) {
    // The source may have just become empty and be the destination too: reuse it.
    if (dst === src) dlist = slist;
    else {
      dlist = new Deque();
      ctx.addKey(db, dst, T_LIST, dlist);
    }
  } else {
    dlist = de.v as Deque;
    ctx.signalList(db, dst);
  }
  if (destLeft) dlist.pushFront(value);
  else dlist.pushBack(value);
  ctx.notify(db.id, destLeft ? 'lpush' : 'rpush', dstBuf, 'l');
  ctx.notify(db.id, left ? 'lpop' : 'rpop', srcBuf, 'l');
  if (slist.length === 0) {
    ctx.removeEntry(db, src, se);
    ctx.notify(db.id, 'del', srcBuf, 'g');
  }
  ctx.dirty++;
  return value;
}

function lmoveGeneric(ctx: Keyspace, client: ClientState, argv: Buffer[], left: boolean, destLeft: boolean): Reply {
  const db = ctx.dbs[client.db]!;
  const src = kstr(argv[1]!);
  const se = getList(ctx, db, src);
  if (se instanceof ErrorReply) return se;
  if (se === undefined || (se.v as Deque).length === 0) return null;
  return moveElement(ctx, db, argv[1]!, src, se, argv[2]!, left, destLeft);
}

const lmove: Impl = (ctx, client, argv) => {
  const from = parseSide(argv[3]!);
  if (from === null) return E_SYNTAX;
  const to = parseSide(argv[4]!);
  if (to === null) return E_SYNTAX;
  return lmoveGeneric(ctx, client, argv, from, to);
};

const rpoplpush: Impl = (ctx, client, argv) => lmoveGeneric(ctx, client, argv, false, true);

interface MpopArgs {
  keys: Buffer[];
  left: boolean;
  count: number;
}

export function parseMpop(argv: Buffer[], numkeysIdx: number): MpopArgs | ErrorReply {
  const nk = parseInt64(argv[numkeysIdx]!);
  if (nk === null || nk < 1) return new ErrorReply('ERR numkeys should be greater than 0');
  const numkeys = Number(nk);
  const whereIdx = numkeysIdx + numkeys + 1;
  if (whereIdx >= argv.length) return E_SYNTAX;
  const left = parseSide(argv[whereIdx]!);
  if (left === null) return E_SYNTAX;
  let count = -1;
  for (let j = whereIdx + 1; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    if (count === -1 && eqi(argv[j]!, 'count') && more) {
      j++;
      const v = parseInt64(argv[j]!);
      if (v === null || v < 1) return new ErrorReply('ERR count should be greater than 0');
      count = Number(v);
    } else return E_SYNTAX;
  }
  if (count === -1) count = 1;
  return { keys: argv.slice(numkeysIdx + 1, whereIdx), left, count };
}

/** Pops up to `count` from the first non-empty list: [key, [elements]]; null when none. */
export function mpopFirst(ctx: Keyspace, db: Db, keys: Buffer[], left: boolean, count: number): Reply | undefined {
  for (const kb of keys) {
    const key = kstr(kb);
    const e = getList(ctx, db, key);
    if (e instanceof ErrorReply) return e;
    if (e === undefined || (e.v as Deque).length === 0) continue;
    const list = e.v as Deque;
    const out = popN(list, left, Math.min(count, list.length));
    elementsRemoved(ctx, db, kb, key, e, left, out.length);
    ctx.propagateAs([[left ? B_LPOP : B_RPOP, kb, Buffer.from(String(out.length))]]);
    return [kb, out];
  }
  return undefined;
}

const lmpop: Impl = (ctx, client, argv) => {
  const a = parseMpop(argv, 1);
  if (a instanceof ErrorReply) return a;
  return mpopFirst(ctx, ctx.dbs[client.db]!, a.keys, a.left, a.count) ?? NULL_ARRAY;
};

export const LIST_COMMANDS: Record<string, Impl> = {
  lpush,
  rpush,
  lpushx,
  rpushx,
  lpop,
  rpop,
  lrange,
  lindex,
  lset,
  llen,
  lrem,
  ltrim,
  linsert,
  lpos,
  lmove,
  rpoplpush,
  lmpop,
};
