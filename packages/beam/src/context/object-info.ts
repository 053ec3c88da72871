import type { Deque } from './deque.js';
import { T_HASH, T_LIST, T_SET, T_STRING, type Entry, T_STREAM } from './store.js';
import type { Stream } from './stream.js';
import type { ZSet } from './zset.js';

/**
 * What OBJECT ENCODING and MEMORY USAGE report for a key. The Context keeps plain JS containers, so both are
 * modelled on what Redis 7.0 would use for the same value with its default thresholds: the encoding from the sizes
 * (`hash-max-listpack-entries` 512 / `-value` 64, `set-max-intset-entries` 512, `zset-max-listpack-entries` 128 /
 * `-value` 64; lists are always quicklists in 7.0), and the byte count from Redis' objectComputeSize formulas with
 * jemalloc size classes. Neither is the memory this process really uses.
 */

const HASH_LP_ENTRIES = 512;
const HASH_LP_VALUE = 64;
const SET_INTSET_ENTRIES = 512;
const ZSET_LP_ENTRIES = 128;
const ZSET_LP_VALUE = 64;
const EMBSTR_LIMIT = 44;
const INT_RE = /^-?(0|[1-9]\d{0,18})$/;

function isInt64Text(s: string): boolean {
  if (!INT_RE.test(s)) return false;
  const v = BigInt(s);
  return v >= -9223372036854775808n && v <= 9223372036854775807n;
}

function strOf(v: Buffer | string): string {
  return typeof v === 'string' ? v : v.toString('latin1');
}

export function objectEncoding(e: Entry): string {
  switch (e.t) {
    case T_STRING: {
      const b = e.v as Buffer;
      if (b.length <= 20 && isInt64Text(b.toString('latin1'))) return 'int';
      return b.length <= EMBSTR_LIMIT ? 'embstr' : 'raw';
    }
    case T_LIST:
      return 'quicklist';
    case T_HASH: {
      const h = e.v as Map<string, Buffer>;
      if (h.size > HASH_LP_ENTRIES) return 'hashtable';
      for (const [f, v] of h) if (f.length > HASH_LP_VALUE || v.length > HASH_LP_VALUE) return 'hashtable';
      return 'listpack';
    }
    case T_SET: {
      const s = e.v as Set<string>;
      if (s.size > SET_INTSET_ENTRIES) return 'hashtable';
      for (const m of s) if (!isInt64Text(m)) return 'hashtable';
      return 'intset';
    }
    case T_STREAM:
      return 'stream';
    default: {
      const z = e.v as ZSet;
      if (z.size > ZSET_LP_ENTRIES) return 'skiplist';
      for (const m of z.dict.keys()) if (m.length > ZSET_LP_VALUE) return 'skiplist';
      return 'listpack';
    }
  }
}

/** OBJECT REFCOUNT: Redis shares the integers 0..9999 (reported as INT_MAX), everything else has one owner. */
export function objectRefcount(e: Entry): number {
  if (e.t === T_STRING) {
    const s = (e.v as Buffer).toString('latin1');
    if (s.length <= 4 && isInt64Text(s) && Number(s) >= 0 && Number(s) < 10000) return 2147483647;
  }
  return 1;
}

/** jemalloc's size class for an allocation of n bytes. */
export function jemallocSize(n: number): number {
  if (n <= 8) return 8;
  if (n <= 128) return Math.ceil(n / 16) * 16;
  const p = 2 ** Math.floor(Math.log2(n - 1));
  const step = p / 4;
  return Math.ceil(n / step) * step;
}

/** Allocation of an sds string of `len` bytes (header by length type, plus the terminating NUL). */
function sdsAlloc(len: number): number {
  const hdr = len < 32 ? 1 : len < 256 ? 3 : len < 65536 ? 5 : 9;
  return jemallocSize(hdr + len + 1);
}

/** Bytes one element takes in a listpack (encoding byte(s), data, back-length). */
function lpEntry(s: string): number {
  if (s.length <= 20 && isInt64Text(s)) {
    const v = Number(s);
    const data = v >= 0 && v <= 127 ? 1 : v >= -4096 && v < 4096 ? 2 : Math.abs(v) < 2 ** 15 ? 3 : Math.abs(v) < 2 ** 23 ? 4 : Math.abs(v) < 2 ** 31 ? 5 : 9;
    return data + 1;
  }
  const n = s.length;
  const data = n < 64 ? 1 + n : n < 4096 ? 2 + n : 5 + n;
  return data + (data < 128 ? 1 : data < 16384 ? 2 : data < 2097152 ? 3 : 4);
}

function lpEntryDouble(d: number): number {
  return Number.isInteger(d) && Math.abs(d) < 2 ** 53 ? lpEntry(String(d)) : lpEntry(String(d).padEnd(17, '0'));
}

function dictSlots(n: number): number {
  let s = 4;
  while (s < n) s *= 2;
  return s;
}

const ROBJ = 16;
const DICT = 56;
const DICT_ENTRY = 24;

/** Average of `fn` over the first `samples` elements (all when samples is 0), times `count`. */
function sampled<T>(items: Iterable<T>, count: number, samples: number, fn: (x: T) => number): number {
  let sum = 0;
  let n = 0;
  for (const x of items) {
    sum += fn(x);
    if (++n === samples) break;
  }
  return n === 0 ? 0 : (sum / n) * count;
}

/** MEMORY USAGE: key and value bytes as Redis 7.0 would count them (`samples` elements of a collection examined, 0 = all). */
export function memoryUsage(key: string, e: Entry, samples: number): number {
  let size = DICT_ENTRY + sdsAlloc(key.length);
  switch (e.t) {
    case T_STRING: {
      const b = e.v as Buffer;
      if (b.length <= 20 && isInt64Text(b.toString('latin1'))) size += ROBJ;
      else if (b.length <= EMBSTR_LIMIT) size += jemallocSize(ROBJ + 3 + b.length + 1);
      else size += ROBJ + sdsAlloc(b.length);
      break;
    }
    case T_LIST: {
      const d = e.v as Deque;
      const n = samples === 0 ? d.length : Math.min(samples, d.length);
      const lpBytes = 6 + sampled(n === 0 ? [] : d.range(0, n - 1), d.length, samples, (x) => lpEntry(strOf(x))) + 1;
      const nodes = Math.max(1, Math.ceil(lpBytes / 8192));
      size += ROBJ + 40 + nodes * (40 + jemallocSize(Math.ceil(lpBytes / nodes)));
      break;
    }
    case T_HASH: {
      const h = e.v as Map<string, Buffer>;
      if (objectEncoding(e) === 'listpack') {
        size += ROBJ + jemallocSize(7 + sampled(h, h.size, samples, ([f, v]) => lpEntry(f) + lpEntry(v.toString('latin1'))));
      } else {
        size += ROBJ + DICT + 8 * dictSlots(h.size) + sampled(h, h.size, samples, ([f, v]) => DICT_ENTRY + sdsAlloc(f.length) + sdsAlloc(v.length));
      }
      break;
    }
    case T_SET: {
      const s = e.v as Set<string>;
      if (objectEncoding(e) === 'intset') {
        let width = 2;
        for (const m of s) {
          const v = Number(m);
          if (v < -2147483648 || v > 2147483647) width = 8;
          else if ((v < -32768 || v > 32767) && width < 4) width = 4;
        }
        size += ROBJ + jemallocSize(8 + width * s.size);
      } else {
        size += ROBJ + DICT + 8 * dictSlots(s.size) + sampled(s, s.size, samples, (m) => DICT_ENTRY + sdsAlloc(m.length));
      }
      break;
    }
    case T_STREAM: {
      // The stream struct, its rax and one listpack per node (entries at about their listpack size).
      const st = e.v as Stream;
      size += ROBJ + 128;
      for (const n of st.nodes) size += 48 + jemallocSize(n.bytes);
      for (const g of st.groups.values()) size += 96 + g.pel.size * 56 + g.consumers.size * 64;
      break;
    }
    default: {
      const z = e.v as ZSet;
      if (objectEncoding(e) === 'listpack') {
        size += ROBJ + jemallocSize(7 + sampled(z, z.size, samples, ([m, s]) => lpEntry(m) + lpEntryDouble(s)));
      } else {
        // zset + zskiplist structs, the dict, the 32-level header node; per element a dictEntry, an sds and a node.
        size += ROBJ + 16 + 32 + DICT + 8 * dictSlots(z.size) + jemallocSize(24 + 32 * 16)
          + sampled(z, z.size, samples, ([m]) => DICT_ENTRY + sdsAlloc(m.length) + 48);
      }
    }
  }
  return Math.round(size);
}
