import type { ClientState } from './api.js';
import type { Keyspace, Impl } from './keyspace.js';
import { ErrorReply, NULL_ARRAY, RespDouble, type Reply } from '../wire/reply.js';
import { T_SET, T_ZSET, eqi, type Db, type Entry, keyString as kstr } from './store.js';
import { parseInt64, toNum } from './numbers.js';
import { E_NOT_INT, E_SYNTAX, E_WRONGTYPE } from './replies.js';
import { parseTimeout } from './cmd-lists.js';
import { ZSET_COMMANDS, parseScore } from './cmd-zsets.js';
import { ZSet } from './zset.js';

/** ZUNION/ZINTER/ZDIFF(STORE), ZINTERCARD, ZMPOP/BZMPOP, BZPOPMIN/BZPOPMAX, ZRANDMEMBER, ZRANGESTORE. */

const mb = (m: string): Buffer => Buffer.from(m, 'latin1');
const B_ZPOPMIN = Buffer.from('ZPOPMIN');
const B_ZPOPMAX = Buffer.from('ZPOPMAX');
const B_ZRANGE = Buffer.from('ZRANGE');
const B_DEL = Buffer.from('DEL');

type Op = 'union' | 'inter' | 'diff';
type Aggregate = 'sum' | 'min' | 'max';

/** A source as Redis' zuiInit sees it: a sorted set, or a set (every score 1), or nothing. */
function members(e: Entry | undefined): Map<string, number> {
  if (e === undefined) return new Map();
  if (e.t === T_ZSET) return (e.v as ZSet).dict;
  const m = new Map<string, number>();
  for (const x of e.v as Set<string>) m.set(x, 1);
  return m;
}

function aggregate(a: number, b: number, how: Aggregate): number {
  if (how === 'sum') {
    const r = a + b;
    return Number.isNaN(r) ? 0 : r;
  }
  return how === 'min' ? Math.min(a, b) : Math.max(a, b);
}

interface SetOpResult {
  result: Map<string, number> | null;
  cardinality: number;
  withScores: boolean;
}

/** zunionInterDiffGenericCommand up to building the result. */
function setOp(ctx: Keyspace, client: ClientState, argv: Buffer[], numIdx: number, op: Op, store: boolean, cardOnly: boolean, name: string): SetOpResult | ErrorReply {
  const n = parseInt64(argv[numIdx]!);
  if (n === null) return E_NOT_INT;
  const setnum = toNum(n);
  if (setnum < 1) return new ErrorReply(`ERR at least 1 input key is needed for '${name}' command`);
  if (setnum > argv.length - (numIdx + 1)) return E_SYNTAX;
  const db = ctx.dbs[client.db]!;
  const srcs: Array<Map<string, number>> = [];
  for (let i = 0; i < setnum; i++) {
    const e = ctx.lookup(db, kstr(argv[numIdx + 1 + i]!));
    if (e !== undefined && e.t !== T_ZSET && e.t !== T_SET) return E_WRONGTYPE;
    srcs.push(members(e));
  }
  const weights = srcs.map(() => 1);
  let agg: Aggregate = 'sum';
  let withScores = false;
  let limit = 0;
  for (let j = numIdx + 1 + setnum; j < argv.length; ) {
    const remaining = argv.length - j;
    const o = argv[j]!;
    if (op !== 'diff' && !cardOnly && remaining >= setnum + 1 && eqi(o, 'weights')) {
      j++;
      for (let i = 0; i < setnum; i++, j++) {
        const w = parseScore(argv[j]!);
        if (w === null) return new ErrorReply('ERR weight value is not a float');
        weights[i] = w;
      }
    } else if (op !== 'diff' && !cardOnly && remaining >= 2 && eqi(o, 'aggregate')) {
      const a = argv[j + 1]!.toString('latin1').toLowerCase();
      if (a !== 'sum' && a !== 'min' && a !== 'max') return E_SYNTAX;
      agg = a;
      j += 2;
    } else if (remaining >= 1 && !store && !cardOnly && eqi(o, 'withscores')) {
      withScores = true;
      j++;
    } else if (cardOnly && remaining >= 2 && eqi(o, 'limit')) {
      const l = parseInt64(argv[j + 1]!);
      if (l === null || l < 0) return new ErrorReply("ERR LIMIT can't be negative");
      limit = toNum(l);
      j += 2;
    } else return E_SYNTAX;
  }
  const out = new Map<string, number>();
  let cardinality = 0;
  if (op === 'inter') {
    const order = srcs.map((_, i) => i).sort((a, b) => srcs[a]!.size - srcs[b]!.size);
    const first = order[0]!;
    for (const [m, s0] of srcs[first]!) {
      let score = weights[first]! * s0;
      if (Number.isNaN(score)) score = 0;
      let all = true;
      for (let k = 1; k < order.length; k++) {
        const i = order[k]!;
        const v = srcs[i]!.get(m);
        if (v === undefined) {
          all = false;
          break;
        }
        score = aggregate(score, v * weights[i]!, agg);
      }
      if (!all) continue;
      if (cardOnly) {
        cardinality++;
        if (limit && cardinality >= limit) break;
      } else out.set(m, score);
    }
  } else if (op === 'union') {
    for (let i = 0; i < srcs.length; i++) {
      for (const [m, s0] of srcs[i]!) {
        let score = weights[i]! * s0;
        if (Number.isNaN(score)) score = 0;
        const cur = out.get(m);
        out.set(m, cur === undefined ? score : aggregate(cur, score, agg));
      }
    }
  } else {
    for (const [m, s0] of srcs[0]!) {
      let keep = true;
      for (let i = 1; i < srcs.length && keep; i++) if (srcs[i]!.has(m)) keep = false;
      if (keep) out.set(m, s0);
    }
  }
  return { result: cardOnly ? null : out, cardinality, withScores };
}

function sorted(m: Map<string, number>): ZSet {
  const z = new ZSet();
  z.setMany(m);
  return z;
}

/** Stores a computed sorted set at `dst` (or deletes it when empty), as the *STORE commands do. */
function storeResult(ctx: Keyspace, db: Db, dstBuf: Buffer, z: ZSet, event: string): number {
  const dst = kstr(dstBuf);
  if (z.size > 0) {
    ctx.addKey(db, dst, T_ZSET, z);
    ctx.notify(db.id, event, dstBuf, 'z');
    ctx.dirty++;
    return z.size;
  }
  const old = ctx.lookup(db, dst);
  if (old !== undefined) {
    ctx.removeEntry(db, dst, old);
    ctx.notify(db.id, 'del', dstBuf, 'g');
    ctx.dirty++;
    ctx.propagateAs([[B_DEL, dstBuf]]);
  }
  return 0;
}

function pairsReply(client: ClientState, z: ZSet, withScores: boolean): Reply {
  const out: Reply[] = [];
  const nested = client.resp === 3;
  for (const [m, s] of z) {
    if (!withScores) out.push(mb(m));
    else if (nested) out.push([mb(m), new RespDouble(s)]);
    else out.push(mb(m), new RespDouble(s));
  }
  return out;
}

function setOpCommand(op: Op, store: boolean): Impl {
  const name = `z${op}${store ? 'store' : ''}`;
  return (ctx, client, argv) => {
    const r = setOp(ctx, client, argv, store ? 2 : 1, op, store, false, name);
    if (r instanceof ErrorReply) return r;
    const z = sorted(r.result!);
    if (store) return storeResult(ctx, ctx.dbs[client.db]!, argv[1]!, z, `${name}`);
    return pairsReply(client, z, r.withScores);
  };
}

const zintercard: Impl = (ctx, client, argv) => {
  const r = setOp(ctx, client, argv, 1, 'inter', false, true, 'zintercard');
  return r instanceof ErrorReply ? r : r.cardinality;
};

// ---- pops --------------------------------------------------------------------------------------

/** Pops up to `count` from the first non-empty sorted set (genericZpopCommand); null when none. */
function popFrom(ctx: Keyspace, db: Db, keyBuf: Buffer, e: Entry, max: boolean, count: number): Array<[string, number]> {
  const z = e.v as ZSet;
  const k = Math.min(count, z.size);
  const nodes = max ? z.removeRange(z.size - k, z.size).reverse() : z.removeRange(0, k);
  ctx.dirty += nodes.length;
  ctx.notify(db.id, max ? 'zpopmax' : 'zpopmin', keyBuf, 'z');
  if (z.size === 0) {
    ctx.removeEntry(db, kstr(keyBuf), e);
    ctx.notify(db.id, 'del', keyBuf, 'g');
  }
  return nodes.map((n) => [n.m, n.s]);
}

function firstZset(ctx: Keyspace, db: Db, keys: Buffer[]): [Buffer, Entry] | undefined | ErrorReply {
  for (const k of keys) {
    const e = ctx.lookup(db, kstr(k));
    if (e === undefined) continue;
    if (e.t !== T_ZSET) return E_WRONGTYPE;
    return [k, e];
  }
  return undefined;
}

function mpopReply(keyBuf: Buffer, popped: Array<[string, number]>): Reply {
  return [keyBuf, popped.map(([m, s]) => [mb(m), new RespDouble(s)])];
}

interface MpopArgs {
  keys: Buffer[];
  max: boolean;
  count: number;
}

function parseMpop(argv: Buffer[], numIdx: number): MpopArgs | ErrorReply {
  const n = parseInt64(argv[numIdx]!);
  if (n === null || n < 1) return new ErrorReply('ERR numkeys should be greater than 0');
  const numkeys = toNum(n);
  const whereIdx = numIdx + numkeys + 1;
  if (whereIdx >= argv.length) return E_SYNTAX;
  let max: boolean;
  if (eqi(argv[whereIdx]!, 'min')) max = false;
  else if (eqi(argv[whereIdx]!, 'max')) max = true;
  else return E_SYNTAX;
  let count = -1;
  for (let j = whereIdx + 1; j < argv.length; j++) {
    if (count === -1 && eqi(argv[j]!, 'count') && j + 1 < argv.length) {
      const c = parseInt64(argv[++j]!);
      if (c === null || c < 1) return new ErrorReply('ERR count should be greater than 0');
      count = toNum(c);
    } else return E_SYNTAX;
  }
  return { keys: argv.slice(numIdx + 1, numIdx + 1 + numkeys), max, count: count === -1 ? 1 : count };
}

const zmpop: Impl = (ctx, client, argv) => {
  const a = parseMpop(argv, 1);
  if (a instanceof ErrorReply) return a;
  const db = ctx.dbs[client.db]!;
  const f = firstZset(ctx, db, a.keys);
  if (f instanceof ErrorReply) return f;
  if (f === undefined) return NULL_ARRAY;
  const popped = popFrom(ctx, db, f[0], f[1], a.max, a.count);
  ctx.propagateAs([[a.max ? B_ZPOPMAX : B_ZPOPMIN, f[0], Buffer.from(String(popped.length))]]);
  return mpopReply(f[0], popped);
};

/** BZPOPMIN/BZPOPMAX (mpop false: key, member, score) and BZMPOP (mpop true: key, [[member, score]...]). */
function blockingPop(ctx: Keyspace, client: ClientState, keys: Buffer[], max: boolean, count: number, mpop: boolean, timeout: number): Reply | Promise<Reply> {
  const db = ctx.dbs[client.db]!;
  const reply = (keyBuf: Buffer, popped: Array<[string, number]>): Reply =>
    mpop ? mpopReply(keyBuf, popped) : [keyBuf, mb(popped[0]![0]), new RespDouble(popped[0]![1])];
  const prop = (keyBuf: Buffer, n: number): Buffer[] =>
    mpop ? [max ? B_ZPOPMAX : B_ZPOPMIN, keyBuf, Buffer.from(String(n))] : [max ? B_ZPOPMAX : B_ZPOPMIN, keyBuf];
  const f = firstZset(ctx, db, keys);
  if (f instanceof ErrorReply) return f;
  if (f !== undefined) {
    const popped = popFrom(ctx, db, f[0], f[1], max, count);
    ctx.propagateAs([prop(f[0], popped.length)]);
    return reply(f[0], popped);
  }
  if (client.inExec) return NULL_ARRAY;
  return ctx.blockServed(
    client,
    keys,
    (sdb, key, e) => {
      if (e === undefined || e.t !== T_ZSET || (e.v as ZSet).size === 0) return undefined;
      const keyBuf = keys.find((k) => kstr(k) === key)!;
      const popped = popFrom(ctx, sdb, keyBuf, e, max, count);
      ctx.propagateRaw(sdb.id, prop(keyBuf, popped.length));
      return reply(keyBuf, popped);
    },
    timeout,
  );
}

function bzpop(max: boolean): Impl {
  return (ctx, client, argv) => {
    const timeout = parseTimeout(ctx, argv[argv.length - 1]!);
    if (timeout instanceof ErrorReply) return timeout;
    return blockingPop(ctx, client, argv.slice(1, argv.length - 1), max, 1, false, timeout);
  };
}

const bzmpop: Impl = (ctx, client, argv) => {
  const timeout = parseTimeout(ctx, argv[1]!);
  if (timeout instanceof ErrorReply) return timeout;
  const a = parseMpop(argv, 2);
  if (a instanceof ErrorReply) return a;
  return blockingPop(ctx, client, a.keys, a.max, a.count, true, timeout);
};

// ---- ZRANDMEMBER / ZRANGESTORE -------------------------------------------------------------------

const E_RAND_RANGE = new ErrorReply('ERR value is out of range');

const zrandmember: Impl = (ctx, client, argv) => {
  let withScores = false;
  let count: number | null = null;
  if (argv.length >= 3) {
    const c = parseInt64(argv[2]!);
    if (c === null) return E_NOT_INT;
    if (argv.length === 4 && eqi(argv[3]!, 'withscores')) withScores = true;
    else if (argv.length > 3) return E_SYNTAX;
    const cn = toNum(c);
    // Redis refuses counts whose reply size would overflow (count * 2 with scores).
    if (cn < -Number.MAX_SAFE_INTEGER / 2 || (withScores && (cn < -4611686018427387903 || cn > 4611686018427387903))) return E_RAND_RANGE;
    count = cn;
  }
  const e = ctx.lookup(ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e !== undefined && e.t !== T_ZSET) return E_WRONGTYPE;
  if (count === null) {
    if (e === undefined) return null;
    const z = e.v as ZSet;
    const i = Math.floor(ctx.random() * z.size);
    return mb(z.slice(i, i + 1)[0]!.m);
  }
  if (e === undefined || count === 0) return [];
  const all = (e.v as ZSet).slice(0, (e.v as ZSet).size);
  const picks: Array<{ m: string; s: number }> = [];
  if (count < 0) {
    for (let i = 0; i < -count; i++) picks.push(all[Math.floor(ctx.random() * all.length)]!);
  } else if (count >= all.length) {
    picks.push(...all);
  } else {
    // Partial Fisher-Yates: `count` distinct members in random order.
    const arr = all.slice();
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(ctx.random() * (arr.length - i));
      const t = arr[i]!;
      arr[i] = arr[j]!;
      arr[j] = t;
      picks.push(arr[i]!);
    }
  }
  const out: Reply[] = [];
  const nested = client.resp === 3;
  for (const p of picks) {
    if (!withScores) out.push(mb(p.m));
    else if (nested) out.push([mb(p.m), new RespDouble(p.s)]);
    else out.push(mb(p.m), new RespDouble(p.s));
  }
  return out;
};

const zrangestore: Impl = (ctx, client, argv) => {
  for (let i = 5; i < argv.length; i++) if (eqi(argv[i]!, 'withscores')) return E_SYNTAX;
  // The ZRANGE implementation does the parsing and the range; the members it returns get their source scores.
  const r = ZSET_COMMANDS['zrange']!(ctx, client, [B_ZRANGE, ...argv.slice(2)]);
  if (r instanceof ErrorReply) return r;
  const db = ctx.dbs[client.db]!;
  const src = ctx.lookup(db, kstr(argv[2]!));
  const z = new ZSet();
  if (src !== undefined) {
    const dict = (src.v as ZSet).dict;
    for (const m of r as Buffer[]) {
      const k = m.toString('latin1');
      z.set(k, dict.get(k)!);
    }
  }
  return storeResult(ctx, db, argv[1]!, z, 'zrangestore');
};

export const ZSET_MULTI_COMMANDS: Record<string, Impl> = {
  zunion: setOpCommand('union', false),
  zinter: setOpCommand('inter', false),
  zdiff: setOpCommand('diff', false),
  zunionstore: setOpCommand('union', true),
  zinterstore: setOpCommand('inter', true),
  zdiffstore: setOpCommand('diff', true),
  zintercard,
  zmpop,
  bzmpop,
  bzpopmin: bzpop(false),
  bzpopmax: bzpop(true),
  zrandmember,
  zrangestore,
};
