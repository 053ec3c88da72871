import { ErrorReply, type Reply } from '../wire/reply.js';
import { globMatch } from './glob.js';
import { parseInt64 } from './numbers.js';
import { E_INVALID_CURSOR, E_NOT_INT, E_SYNTAX } from './replies.js';

export interface ScanArgs {
  cursor: number;
  match: Buffer | null;
  count: number;
  type: string | null;
}

/** Parses a cursor like strtoul (digits, optional sign, empty = 0). */
export function parseCursor(b: Buffer): number | ErrorReply {
  const s = b.toString('latin1');
  if (!/^[+-]?\d*$/.test(s)) return E_INVALID_CURSOR;
  const v = s === '' || s === '+' || s === '-' ? 0 : Number(s);
  if (!Number.isFinite(v) || Math.abs(v) > 18446744073709551615) return E_INVALID_CURSOR;
  return v < 0 ? 0 : v;
}

/** Options after the cursor (SCAN: from 2; HSCAN/SSCAN: from 3). */
export function parseScanOptions(argv: Buffer[], from: number, allowType: boolean, cursor: number): ScanArgs | ErrorReply {
  const out: ScanArgs = { cursor, match: null, count: 10, type: null };
  let i = from;
  while (i < argv.length) {
    const left = argv.length - i;
    const opt = argv[i]!.toString('latin1').toLowerCase();
    if (opt === 'count' && left >= 2) {
      const v = parseInt64(argv[i + 1]!);
      if (v === null) return E_NOT_INT;
      if (v < 1) return E_SYNTAX;
      out.count = Number(v);
      i += 2;
    } else if (opt === 'match' && left >= 2) {
      const p = argv[i + 1]!;
      out.match = p.length === 1 && p[0] === 0x2a ? null : p;
      i += 2;
    } else if (opt === 'type' && allowType && left >= 2) {
      out.type = argv[i + 1]!.toString('latin1').toLowerCase();
      i += 2;
    } else {
      return E_SYNTAX;
    }
  }
  return out;
}

/** SCAN cursor [MATCH] [COUNT] [TYPE]. */
export function parseScanArgs(argv: Buffer[], cursorIndex: number, allowType: boolean): ScanArgs | ErrorReply {
  const c = parseCursor(argv[cursorIndex]!);
  if (c instanceof ErrorReply) return c;
  return parseScanOptions(argv, cursorIndex + 1, allowType, c);
}

export function scanCursorReply(n: number): Buffer {
  return Buffer.from(String(n), 'latin1');
}

/** Collections at or below this size are returned in one call with cursor 0, as Redis does for listpacks. */
const SMALL = 128;
const PER_OWNER = 16;

/** Live iterators of HSCAN/SSCAN keyed by the collection object and cursor (= elements examined). */
const collectionCursors = new WeakMap<object, Map<number, Iterator<string>>>();

/**
 * Scans a Map's keys or a Set: cursor is the number of elements examined so far. A cached live iterator
 * continues exactly where it stopped (elements present for the whole scan are returned); without one we skip
 * `cursor` elements.
 */
export function scanCollection(
  coll: Map<string, Buffer> | Set<string>,
  args: ScanArgs,
  emit: (member: string, out: Reply[]) => void,
): Reply[] {
  const out: Reply[] = [];
  if (coll.size <= SMALL && args.cursor === 0) {
    for (const m of coll.keys()) if (args.match === null || globMatch(args.match, Buffer.from(m, 'latin1'))) emit(m, out);
    return [scanCursorReply(0), out];
  }
  let cache = collectionCursors.get(coll);
  let it = args.cursor === 0 ? undefined : cache?.get(args.cursor);
  if (it !== undefined) cache!.delete(args.cursor);
  else {
    it = coll.keys();
    for (let i = 0; i < args.cursor; i++) if (it.next().done === true) break;
  }
  const { examined, done } = advanceScan(it, args.count, (m) => {
    if (args.match === null || globMatch(args.match, Buffer.from(m, 'latin1'))) emit(m, out);
    return true;
  });
  let next = 0;
  if (!done) {
    next = args.cursor + examined;
    if (cache === undefined) {
      cache = new Map();
      collectionCursors.set(coll, cache);
    }
    keepScanIterator(cache, next, it, PER_OWNER);
  }
  return [scanCursorReply(next), out];
}

/**
 * Pulls items from `it` until `visit` has counted `count` of them (it returns false for an item that does not
 * count) or `it` runs out (`done`).
 */
export function advanceScan<T>(it: Iterator<T>, count: number, visit: (item: T) => boolean): { examined: number; done: boolean } {
  let examined = 0;
  while (examined < count) {
    const r = it.next();
    if (r.done === true) return { examined, done: true };
    if (visit(r.value)) examined++;
  }
  return { examined, done: false };
}

/** Caches a live scan iterator under its next cursor, dropping the oldest one beyond `limit`. */
export function keepScanIterator<K, V>(cache: Map<K, V>, cursor: K, it: V, limit: number): void {
  cache.set(cursor, it);
  if (cache.size > limit) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
}
