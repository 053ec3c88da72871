import { Buffer } from 'node:buffer';
import type { Keyspace, Impl } from './keyspace.js';
import type { CommandMeta } from './command-table.js';
import { ErrorReply, type Reply } from '../wire/reply.js';
import { Deque } from './deque.js';
import { T_HASH, T_LIST, T_SET, T_STRING, T_ZSET, type Db, keyString as kstr } from './store.js';
import type { ZSet } from './zset.js';
import { parseInt64 } from './numbers.js';
import { E_NOT_INT, E_SYNTAX, E_WRONGTYPE } from './replies.js';

/** SORT and SORT_RO with Redis 7.0's options and order of checks (sort.c). */

export const SORT_TABLE: readonly CommandMeta[] = [
  ['sort', -2, ['write', 'denyoom', 'movablekeys'], 1, 1, 1, ['@write', '@set', '@sortedset', '@list', '@slow', '@dangerous']],
  ['sort_ro', -2, ['readonly', 'movablekeys'], 1, 1, 1, ['@read', '@set', '@sortedset', '@list', '@slow', '@dangerous']],
];

interface Item {
  obj: Buffer;
  score: number;
  cmp: Buffer | null;
}

/** lookupKeyByPattern: `#` is the element; `pre*post` a string key; `pre*post->field` a hash field. */
function byPattern(ctx: Keyspace, db: Db, pattern: Buffer, subst: Buffer): Buffer | null {
  if (pattern.length === 1 && pattern[0] === 0x23) return subst;
  const star = pattern.indexOf(0x2a);
  if (star < 0) return null;
  const arrow = pattern.indexOf('->', star + 1, 'latin1');
  const hasField = arrow >= 0 && arrow + 2 < pattern.length;
  const keyEnd = hasField ? arrow : pattern.length;
  const key = Buffer.concat([pattern.subarray(0, star), subst, pattern.subarray(star + 1, keyEnd)]);
  const e = ctx.lookup(db, kstr(key));
  if (e === undefined) return null;
  if (hasField) {
    if (e.t !== T_HASH) return null;
    return (e.v as Map<string, Buffer>).get(pattern.toString('latin1', arrow + 2)) ?? null;
  }
  if (e.t !== T_STRING) return null;
  return e.v as Buffer;
}

/** strtod() over the whole text (leading spaces allowed), or null. */
function strtod(b: Buffer): number | null {
  const s = b.toString('latin1');
  const t = s.replace(/^[ \t\n\v\f\r]+/, '');
  let v: number;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) v = Number(t);
  else if (/^[+-]?(inf|infinity)$/i.test(t)) v = t.startsWith('-') ? -Infinity : Infinity;
  else if (/^[+-]?0x[0-9a-f]+$/i.test(t)) v = (t.startsWith('-') ? -1 : 1) * Number.parseInt(t.replace(/^[+-]/, ''), 16);
  else return null;
  if (Number.isNaN(v) || (!Number.isFinite(v) && !/inf/i.test(t))) return null;
  return v;
}

function lowerIs(b: Buffer, s: string): boolean {
  return b.length === s.length && b.toString('latin1').toLowerCase() === s;
}

function sortGeneric(readonly: boolean): Impl {
  return (ctx, client, argv) => {
    let desc = false;
    let alpha = false;
    let limitStart = 0;
    let limitCount = -1;
    let dontsort = false;
    let sortby: Buffer | null = null;
    let storekey: Buffer | null = null;
    const gets: Buffer[] = [];
    for (let j = 2; j < argv.length; j++) {
      const left = argv.length - j - 1;
      const a = argv[j]!;
      if (lowerIs(a, 'asc')) desc = false;
      else if (lowerIs(a, 'desc')) desc = true;
      else if (lowerIs(a, 'alpha')) alpha = true;
      else if (lowerIs(a, 'limit') && left >= 2) {
        const s = parseInt64(argv[j + 1]!);
        const c = parseInt64(argv[j + 2]!);
        if (s === null || c === null) return E_NOT_INT;
        limitStart = Number(s);
        limitCount = Number(c);
        j += 2;
      } else if (!readonly && lowerIs(a, 'store') && left >= 1) {
        storekey = argv[++j]!;
      } else if (lowerIs(a, 'by') && left >= 1) {
        sortby = argv[++j]!;
        if (sortby.indexOf(0x2a) < 0) dontsort = true;
      } else if (lowerIs(a, 'get') && left >= 1) {
        gets.push(argv[++j]!);
      } else {
        return E_SYNTAX;
      }
    }
    const db = ctx.dbs[client.db]!;
    const e = ctx.lookup(db, kstr(argv[1]!));
    if (e !== undefined && e.t !== T_SET && e.t !== T_LIST && e.t !== T_ZSET) return E_WRONGTYPE;
    const type = e?.t ?? T_LIST;
    // A set has no order of its own: sort it when the result is stored or a script asks (determinism).
    if (dontsort && type === T_SET && (storekey !== null || client.script === true)) {
      dontsort = false;
      alpha = true;
      sortby = null;
    }
    let elements: Buffer[];
    if (e === undefined) elements = [];
    else if (type === T_LIST) elements = (e.v as Deque).toArray();
    else if (type === T_SET) elements = [...(e.v as Set<string>)].map((m) => Buffer.from(m, 'latin1'));
    else elements = [...(e.v as ZSet)].map(([m]) => Buffer.from(m, 'latin1'));
    const vectorlen = elements.length;
    let start = Math.min(Math.max(limitStart, 0), vectorlen);
    const count = Math.min(Math.max(limitCount, -1), vectorlen);
    let end = count < 0 ? vectorlen - 1 : start + count - 1;
    if (start >= vectorlen) {
      start = vectorlen - 1;
      end = vectorlen - 2;
    }
    if (end >= vectorlen) end = vectorlen - 1;
    let items: Item[] = elements.map((obj) => ({ obj, score: 0, cmp: null }));
    if (dontsort && (type === T_LIST || type === T_ZSET)) {
      if (desc) items.reverse();
    }
    if (!dontsort) {
      let convError = false;
      for (const it of items) {
        let byval: Buffer | null;
        if (sortby !== null) {
          byval = byPattern(ctx, db, sortby, it.obj);
          if (byval === null) continue;
        } else {
          byval = it.obj;
        }
        if (alpha) {
          if (sortby !== null) it.cmp = byval;
        } else {
          const v = strtod(byval);
          if (v === null) convError = true;
          else it.score = v;
        }
      }
      if (convError) return new ErrorReply('ERR One or more scores can\'t be converted into double');
      const cmp = (a: Item, b: Item): number => {
        let c: number;
        if (!alpha) {
          c = a.score > b.score ? 1 : a.score < b.score ? -1 : Buffer.compare(a.obj, b.obj);
        } else if (sortby !== null) {
          if (a.cmp === null || b.cmp === null) c = a.cmp === b.cmp ? 0 : a.cmp === null ? -1 : 1;
          else c = Buffer.compare(a.cmp, b.cmp);
        } else {
          c = Buffer.compare(a.obj, b.obj);
        }
        return desc ? -c : c;
      };
      items = items.sort(cmp);
    }
    const out: Reply[] = [];
    const stored: Buffer[] = [];
    for (let j = start; j <= end; j++) {
      const it = items[j]!;
      if (gets.length === 0) {
        if (storekey === null) out.push(it.obj);
        else stored.push(it.obj);
        continue;
      }
      for (const g of gets) {
        const v = byPattern(ctx, db, g, it.obj);
        if (storekey === null) out.push(v);
        else stored.push(v ?? Buffer.alloc(0));
      }
    }
    if (storekey === null) return out;
    const dk = kstr(storekey);
    if (stored.length > 0) {
      ctx.addKey(db, dk, T_LIST, Deque.from(stored));
      ctx.notify(db.id, 'sortstore', storekey, 'l');
      ctx.dirty += stored.length;
    } else if (ctx.deleteKey(db, dk)) {
      ctx.notify(db.id, 'del', storekey, 'g');
      ctx.dirty++;
    }
    return stored.length;
  };
}

export const SORT_COMMANDS: Record<string, Impl> = {
  sort: sortGeneric(false),
  sort_ro: sortGeneric(true),
};
