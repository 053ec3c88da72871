import type { ClientState } from './api.js';
import type { Keyspace, Impl } from './keyspace.js';
import { ErrorReply, RespDouble, type Reply } from '../wire/reply.js';
import { formatDouble } from '../wire/double-format.js';
import { T_ZSET, type Db, type Entry, keyString as kstr } from './store.js';
import { parseInt64, toNum } from './numbers.js';
import { parseCursor, parseScanOptions, scanCollection } from './scan.js';
import { E_NOT_INT, E_POSITIVE, E_SYNTAX, E_WRONGTYPE } from './replies.js';
import { ZSet, type ZNode } from './zset.js';

/** Sorted sets (the commonly used subset of Redis 7.0's Z* commands; no ZUNION/ZINTER/ZDIFF, no blocking pops). */

const E_NOT_FLOAT = new ErrorReply('ERR value is not a valid float');
const E_RANGE_FLOAT = new ErrorReply('ERR min or max is not a float');
const E_RANGE_LEX = new ErrorReply('ERR min or max not valid string range item');
const E_NAN = new ErrorReply('ERR resulting score is not a number (NaN)');

const mb = (m: string): Buffer => Buffer.from(m, 'latin1');

const SCORE_RE = /^[+-]?(inf(inity)?|(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?)$/i;

/** A score like Redis' strtod-based parsing (no spaces, no NaN, inf/-inf allowed); null when invalid. */
export function parseScore(b: Buffer): number | null {
  const s = b.toString('latin1');
  if (!SCORE_RE.test(s)) return null;
  const lower = s.toLowerCase();
  if (lower.endsWith('inf') || lower.endsWith('infinity')) return s[0] === '-' ? -Infinity : Infinity;
  return Number(s);
}

function getZ(ctx: Keyspace, db: Db, key: string): Entry | undefined | ErrorReply {
  const e = ctx.lookup(db, key);
  if (e !== undefined && e.t !== T_ZSET) return E_WRONGTYPE;
  return e;
}

function dbOf(ctx: Keyspace, client: ClientState): Db {
  return ctx.dbs[client.db]!;
}

/** Deletes the key when its zset became empty (with the `del` event). */
function dropIfEmpty(ctx: Keyspace, db: Db, key: string, keyBuf: Buffer, e: Entry): void {
  if ((e.v as ZSet).size === 0) {
    ctx.removeEntry(db, key, e);
    ctx.notify(db.id, 'del', keyBuf, 'g');
  }
}

/** Member/score pairs: nested [member, score] in RESP3 (when `nested`), flat in RESP2. */
function pushPair(out: Reply[], n: ZNode, withScores: boolean, nested: boolean): void {
  if (!withScores) out.push(mb(n.m));
  else if (nested) out.push([mb(n.m), new RespDouble(n.s)]);
  else out.push(mb(n.m), new RespDouble(n.s));
}

const zadd: Impl = (ctx, client, argv) => {
  let nx = false;
  let xx = false;
  let gt = false;
  let lt = false;
  let ch = false;
  let incr = false;
  let i = 2;
  for (; i < argv.length; i++) {
    const o = argv[i]!.toString('latin1').toLowerCase();
    if (o === 'nx') nx = true;
    else if (o === 'xx') xx = true;
    else if (o === 'gt') gt = true;
    else if (o === 'lt') lt = true;
    else if (o === 'ch') ch = true;
    else if (o === 'incr') incr = true;
    else break;
  }
  const rest = argv.length - i;
  if (rest === 0 || rest % 2 !== 0) return E_SYNTAX;
  if (nx && xx) return new ErrorReply('ERR XX and NX options at the same time are not compatible');
  if ((gt && nx) || (lt && nx) || (gt && lt)) return new ErrorReply('ERR GT, LT, and/or NX options at the same time are not compatible');
  if (incr && rest > 2) return new ErrorReply('ERR INCR option supports a single increment-element pair');
  const scores: number[] = [];
  for (let j = i; j < argv.length; j += 2) {
    const s = parseScore(argv[j]!);
    if (s === null) return E_NOT_FLOAT;
    scores.push(s);
  }
  const db = dbOf(ctx, client);
  const keyBuf = argv[1]!;
  const key = kstr(keyBuf);
  let e = getZ(ctx, db, key);
  if (e instanceof ErrorReply) return e;
  if (e === undefined) {
    if (xx) return incr ? null : 0;
    e = ctx.addKey(db, key, T_ZSET, new ZSet());
  }
  const z = e.v as ZSet;
  let added = 0;
  let updated = 0;
  let result: number | null = null;
  // Decisions see earlier pairs of the same call (a repeated member), then apply in one go.
  const staged = new Map<string, number>();
  for (let j = 0; j < scores.length; j++) {
    const m = kstr(argv[i + 2 * j + 1]!);
    let s = scores[j]!;
    const cur = staged.get(m) ?? z.score(m);
    if (cur === undefined) {
      if (xx) continue;
      staged.set(m, s);
      added++;
      result = s;
      continue;
    }
    if (nx) continue;
    if (incr) {
      s = cur + s;
      if (Number.isNaN(s)) {
        dropIfEmpty(ctx, db, key, keyBuf, e);
        return E_NAN;
      }
    }
    if ((gt && s <= cur) || (lt && s >= cur)) continue;
    result = s;
    if (s !== cur) {
      updated++;
      staged.set(m, s);
    }
  }
  z.setMany(staged);
  if (added + updated > 0) {
    ctx.notify(db.id, incr ? 'zincr' : 'zadd', keyBuf, 'z');
    ctx.dirty += added + updated;
  }
  dropIfEmpty(ctx, db, key, keyBuf, e);
  if (incr) return result === null ? null : new RespDouble(result);
  return ch ? added + updated : added;
};

const zincrby: Impl = (ctx, client, argv) => {
  const inc = parseScore(argv[2]!);
  if (inc === null) return E_NOT_FLOAT;
  const db = dbOf(ctx, client);
  const keyBuf = argv[1]!;
  const key = kstr(keyBuf);
  let e = getZ(ctx, db, key);
  if (e instanceof ErrorReply) return e;
  const m = kstr(argv[3]!);
  const cur = e === undefined ? undefined : (e.v as ZSet).score(m);
  const s = (cur ?? 0) + inc;
  if (Number.isNaN(s)) return E_NAN;
  if (e === undefined) e = ctx.addKey(db, key, T_ZSET, new ZSet());
  (e.v as ZSet).set(m, s);
  ctx.notify(db.id, 'zincr', keyBuf, 'z');
  ctx.dirty++;
  return new RespDouble(s);
};

const zscore: Impl = (ctx, client, argv) => {
  const e = getZ(ctx, dbOf(ctx, client), kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  const s = e === undefined ? undefined : (e.v as ZSet).score(kstr(argv[2]!));
  return s === undefined ? null : new RespDouble(s);
};

const zmscore: Impl = (ctx, client, argv) => {
  const e = getZ(ctx, dbOf(ctx, client), kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  const out: Reply[] = [];
  for (let i = 2; i < argv.length; i++) {
    const s = e === undefined ? undefined : (e.v as ZSet).score(kstr(argv[i]!));
    out.push(s === undefined ? null : new RespDouble(s));
  }
  return out;
};

const zcard: Impl = (ctx, client, argv) => {
  const e = getZ(ctx, dbOf(ctx, client), kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  return e === undefined ? 0 : (e.v as ZSet).size;
};

const zrem: Impl = (ctx, client, argv) => {
  const db = dbOf(ctx, client);
  const keyBuf = argv[1]!;
  const key = kstr(keyBuf);
  const e = getZ(ctx, db, key);
  if (e instanceof ErrorReply) return e;
  if (e === undefined) return 0;
  const z = e.v as ZSet;
  const members: string[] = [];
  for (let i = 2; i < argv.length; i++) members.push(kstr(argv[i]!));
  const n = z.deleteMany(members);
  if (n > 0) {
    ctx.notify(db.id, 'zrem', keyBuf, 'z');
    ctx.dirty += n;
    dropIfEmpty(ctx, db, key, keyBuf, e);
  }
  return n;
};

function rank(rev: boolean): Impl {
  return (ctx, client, argv) => {
    const e = getZ(ctx, dbOf(ctx, client), kstr(argv[1]!));
    if (e instanceof ErrorReply) return e;
    if (e === undefined) return null;
    const z = e.v as ZSet;
    const r = z.rank(kstr(argv[2]!));
    if (r < 0) return null;
    return rev ? z.size - 1 - r : r;
  };
}

interface ScoreBound {
  v: number;
  ex: boolean;
}

function parseScoreBound(b: Buffer): ScoreBound | null {
  const ex = b[0] === 0x28;
  const v = parseScore(ex ? b.subarray(1) : b);
  return v === null ? null : { v, ex };
}

/** A lex bound: '-' (0), '+' (Infinity), or a member with inclusive/exclusive flag. */
type LexBound = { kind: 'min' } | { kind: 'max' } | { kind: 'm'; m: string; ex: boolean };

function parseLexBound(b: Buffer): LexBound | null {
  if (b.length === 1 && b[0] === 0x2d) return { kind: 'min' };
  if (b.length === 1 && b[0] === 0x2b) return { kind: 'max' };
  if (b[0] === 0x28 || b[0] === 0x5b) return { kind: 'm', m: b.subarray(1).toString('latin1'), ex: b[0] === 0x28 };
  return null;
}

/** Ascending index window [lo, hi) of a score range. */
function scoreWindow(z: ZSet, min: ScoreBound, max: ScoreBound): [number, number] {
  const lo = z.firstScoreIndex(min.v, min.ex);
  const hi = z.firstScoreIndex(max.v, !max.ex);
  return [lo, Math.max(lo, hi)];
}

function lexWindow(z: ZSet, min: LexBound, max: LexBound): [number, number] {
  if (min.kind === 'max' || max.kind === 'min') return [0, 0];
  const lo = min.kind === 'min' ? 0 : z.firstLexIndex(min.m, min.ex);
  const hi = max.kind === 'max' ? z.size : z.firstLexIndex(max.m, !max.ex);
  return [lo, Math.max(lo, hi)];
}

interface RangeRequest {
  by: 'rank' | 'score' | 'lex';
  rev: boolean;
  /** The two bound arguments in the order the command takes them (max first for REV forms). */
  a: Buffer;
  b: Buffer;
  withScores: boolean;
  offset: number;
  count: number;
}

/** Runs a ZRANGE-family request against a key. */
function runRange(ctx: Keyspace, client: ClientState, keyBuf: Buffer, q: RangeRequest): Reply {
  let lo = 0;
  let hi = 0;
  let minB: ScoreBound | null = null;
  let maxB: ScoreBound | null = null;
  let minL: LexBound | null = null;
  let maxL: LexBound | null = null;
  let start = 0;
  let stop = 0;
  if (q.by === 'rank') {
    const s = parseInt64(q.a);
    const t = parseInt64(q.b);
    if (s === null || t === null) return E_NOT_INT;
    start = toNum(s);
    stop = toNum(t);
  } else if (q.by === 'score') {
    minB = parseScoreBound(q.rev ? q.b : q.a);
    maxB = parseScoreBound(q.rev ? q.a : q.b);
    if (minB === null || maxB === null) return E_RANGE_FLOAT;
  } else {
    minL = parseLexBound(q.rev ? q.b : q.a);
    maxL = parseLexBound(q.rev ? q.a : q.b);
    if (minL === null || maxL === null) return E_RANGE_LEX;
  }
  const e = getZ(ctx, dbOf(ctx, client), kstr(keyBuf));
  if (e instanceof ErrorReply) return e;
  const out: Reply[] = [];
  if (e === undefined) return out;
  const z = e.v as ZSet;
  const n = z.size;
  if (q.by === 'rank') {
    if (start < 0) start += n;
    if (stop < 0) stop += n;
    if (start < 0) start = 0;
    if (start > stop || start >= n) return out;
    if (stop >= n) stop = n - 1;
    // Ranks count from the top for REV.
    if (q.rev) {
      lo = n - 1 - stop;
      hi = n - start;
    } else {
      lo = start;
      hi = stop + 1;
    }
  } else {
    [lo, hi] = q.by === 'score' ? scoreWindow(z, minB!, maxB!) : lexWindow(z, minL!, maxL!);
    if (q.offset < 0) return out;
  }
  const nested = client.resp === 3;
  if (q.by !== 'rank') {
    // LIMIT offset count, counted in the direction of the reply.
    const count = q.count < 0 ? Infinity : q.count;
    if (q.rev) {
      hi = Math.max(lo, hi - q.offset);
      lo = Math.max(lo, hi - count);
    } else {
      lo = Math.min(hi, lo + q.offset);
      hi = Math.min(hi, lo + count);
    }
  }
  const nodes = z.slice(lo, hi);
  if (q.rev) nodes.reverse();
  for (const node of nodes) pushPair(out, node, q.withScores, nested);
  return out;
}

/** Parses [WITHSCORES] [LIMIT offset count] (and BYSCORE/BYLEX/REV for ZRANGE) starting at argv[4]. */
function rangeCommand(by: RangeRequest['by'], rev: boolean, generic: boolean): Impl {
  return (ctx, client, argv) => {
    const q: RangeRequest = { by, rev, a: argv[2]!, b: argv[3]!, withScores: false, offset: 0, count: -1 };
    let limit = false;
    for (let i = 4; i < argv.length; i++) {
      const o = argv[i]!.toString('latin1').toLowerCase();
      const left = argv.length - i - 1;
      if (o === 'withscores' && (generic || by !== 'lex')) q.withScores = true;
      else if (o === 'limit' && left >= 2 && (generic || by !== 'rank')) {
        const off = parseInt64(argv[i + 1]!);
        const cnt = parseInt64(argv[i + 2]!);
        if (off === null || cnt === null) return E_NOT_INT;
        q.offset = toNum(off);
        q.count = toNum(cnt);
        limit = true;
        i += 2;
      } else if (generic && o === 'byscore') q.by = 'score';
      else if (generic && o === 'bylex') q.by = 'lex';
      else if (generic && o === 'rev') q.rev = true;
      else return E_SYNTAX;
    }
    if (limit && q.by === 'rank') {
      return new ErrorReply('ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX');
    }
    if (q.withScores && q.by === 'lex') return new ErrorReply('ERR syntax error, WITHSCORES not supported in combination with BYLEX');
    return runRange(ctx, client, argv[1]!, q);
  };
}

type IndexWindow = (z: ZSet) => [number, number];

/** The index window between a min and a max bound of one kind (score or lex), or null when either does not parse. */
function boundWindow<B>(
  parse: (b: Buffer) => B | null,
  windowOf: (z: ZSet, min: B, max: B) => [number, number],
  minArg: Buffer,
  maxArg: Buffer,
): IndexWindow | null {
  const min = parse(minArg);
  const max = parse(maxArg);
  if (min === null || max === null) return null;
  return (z) => windowOf(z, min, max);
}

const scoreRange = (argv: Buffer[]): IndexWindow | null => boundWindow(parseScoreBound, scoreWindow, argv[2]!, argv[3]!);
const lexRange = (argv: Buffer[]): IndexWindow | null => boundWindow(parseLexBound, lexWindow, argv[2]!, argv[3]!);

/** ZCOUNT / ZLEXCOUNT: how many members lie in the range. */
function countInRange(range: (argv: Buffer[]) => IndexWindow | null, badRange: ErrorReply): Impl {
  return (ctx, client, argv) => {
    const window = range(argv);
    if (window === null) return badRange;
    const e = getZ(ctx, dbOf(ctx, client), kstr(argv[1]!));
    if (e instanceof ErrorReply) return e;
    if (e === undefined) return 0;
    const [lo, hi] = window(e.v as ZSet);
    return hi - lo;
  };
}

function pop(max: boolean): Impl {
  return (ctx, client, argv) => {
    if (argv.length > 3) return E_SYNTAX;
    let count = 1;
    if (argv.length === 3) {
      const c = parseInt64(argv[2]!);
      if (c === null) return E_NOT_INT;
      if (c < 0) return E_POSITIVE;
      count = toNum(c);
    }
    const db = dbOf(ctx, client);
    const keyBuf = argv[1]!;
    const key = kstr(keyBuf);
    const e = getZ(ctx, db, key);
    if (e instanceof ErrorReply) return e;
    const out: Reply[] = [];
    if (e === undefined || count === 0) return out;
    const z = e.v as ZSet;
    const k = Math.min(count, z.size);
    const nodes = max ? z.removeRange(z.size - k, z.size).reverse() : z.removeRange(0, k);
    const nested = client.resp === 3 && argv.length === 3;
    for (const n of nodes) pushPair(out, n, true, nested);
    ctx.notify(db.id, max ? 'zpopmax' : 'zpopmin', keyBuf, 'z');
    ctx.dirty += nodes.length;
    dropIfEmpty(ctx, db, key, keyBuf, e);
    return out;
  };
}

function removeRange(by: 'rank' | 'score' | 'lex'): Impl {
  const event = by === 'rank' ? 'zremrangebyrank' : by === 'score' ? 'zremrangebyscore' : 'zremrangebylex';
  return (ctx, client, argv) => {
    let window: IndexWindow | null = null;
    if (by === 'rank') {
      const s = parseInt64(argv[2]!);
      const t = parseInt64(argv[3]!);
      if (s === null || t === null) return E_NOT_INT;
      window = (z) => {
        const n = z.size;
        let start = toNum(s);
        let stop = toNum(t);
        if (start < 0) start += n;
        if (stop < 0) stop += n;
        if (start < 0) start = 0;
        if (start > stop || start >= n) return [0, 0];
        return [start, Math.min(stop, n - 1) + 1];
      };
    } else if (by === 'score') {
      window = scoreRange(argv);
      if (window === null) return E_RANGE_FLOAT;
    } else {
      window = lexRange(argv);
      if (window === null) return E_RANGE_LEX;
    }
    const db = dbOf(ctx, client);
    const keyBuf = argv[1]!;
    const key = kstr(keyBuf);
    const e = getZ(ctx, db, key);
    if (e instanceof ErrorReply) return e;
    if (e === undefined) return 0;
    const [lo, hi] = window(e.v as ZSet);
    const removed = (e.v as ZSet).removeRange(lo, hi).length;
    if (removed > 0) {
      ctx.notify(db.id, event, keyBuf, 'z');
      ctx.dirty += removed;
      dropIfEmpty(ctx, db, key, keyBuf, e);
    }
    return removed;
  };
}

const zscan: Impl = (ctx, client, argv) => {
  const cursor = parseCursor(argv[2]!);
  if (cursor instanceof ErrorReply) return cursor;
  const e = getZ(ctx, dbOf(ctx, client), kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  if (e === undefined) return [Buffer.from('0'), []];
  const args = parseScanOptions(argv, 3, false, cursor);
  if (args instanceof ErrorReply) return args;
  const z = e.v as ZSet;
  // scanCollection only walks keys(): the member -> score Map serves as the collection.
  return scanCollection(z.dict as unknown as Set<string>, args, (m, out) => {
    out.push(mb(m), Buffer.from(formatDouble(z.score(m)!), 'latin1'));
  });
};

export const ZSET_COMMANDS: Record<string, Impl> = {
  zadd,
  zincrby,
  zscore,
  zmscore,
  zcard,
  zrem,
  zrank: rank(false),
  zrevrank: rank(true),
  zrange: rangeCommand('rank', false, true),
  zrevrange: rangeCommand('rank', true, false),
  zrangebyscore: rangeCommand('score', false, false),
  zrevrangebyscore: rangeCommand('score', true, false),
  zrangebylex: rangeCommand('lex', false, false),
  zrevrangebylex: rangeCommand('lex', true, false),
  zcount: countInRange(scoreRange, E_RANGE_FLOAT),
  zlexcount: countInRange(lexRange, E_RANGE_LEX),
  zpopmin: pop(false),
  zpopmax: pop(true),
  zremrangebyrank: removeRange('rank'),
  zremrangebyscore: removeRange('score'),
  zremrangebylex: removeRange('lex'),
  zscan,
};
