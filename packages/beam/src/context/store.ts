import type { Deque } from './deque.js';
import type { Stream } from './stream.js';
import type { ZSet } from './zset.js';

const fcc = String.fromCharCode;

/**
 * A key's bytes as the latin1 string the databases are keyed by. Short keys are built with one
 * String.fromCharCode call (a flat string, no native call), which is about twice as fast as toString.
 */
export function keyString(b: Buffer): string {
  switch (b.length) {
    case 0: return '';
    case 1: return fcc(b[0]!);
    case 2: return fcc(b[0]!, b[1]!);
    case 3: return fcc(b[0]!, b[1]!, b[2]!);
    case 4: return fcc(b[0]!, b[1]!, b[2]!, b[3]!);
    case 5: return fcc(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!);
    case 6: return fcc(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!);
    case 7: return fcc(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!);
    case 8: return fcc(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!);
    case 9: return fcc(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!);
    case 10: return fcc(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!);
    case 11: return fcc(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!);
    case 12: return fcc(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!, b[11]!);
    case 13: return fcc(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!, b[11]!, b[12]!);
    case 14: return fcc(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!, b[11]!, b[12]!, b[13]!);
    case 15: return fcc(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!, b[11]!, b[12]!, b[13]!, b[14]!);
    case 16: return fcc(b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!, b[9]!, b[10]!, b[11]!, b[12]!, b[13]!, b[14]!, b[15]!);
    default: return b.toString('latin1');
  }
}

/** An argument equal to an ASCII lower-case word, ignoring case (option names). */
export function eqi(b: Buffer, lower: string): boolean {
  return b.length === lower.length && b.toString('latin1').toLowerCase() === lower;
}

/** Value types, as TYPE names them. Numbers rather than strings so the hot path compares small ints. */
export const T_STRING = 0;
export const T_LIST = 1;
export const T_HASH = 2;
export const T_SET = 3;
export const T_ZSET = 4;
export const T_STREAM = 5;

export const TYPE_NAMES = ['string', 'list', 'hash', 'set', 'zset', 'stream'] as const;
export type TypeName = (typeof TYPE_NAMES)[number];

export type Value = Buffer | Deque | Map<string, Buffer> | Set<string> | ZSet | Stream;

/**
 * One key's slot. Mutated in place on overwrite so the key keeps its position (and `seq`) in the
 * database's insertion order, which SCAN relies on.
 */
export class Entry {
  /** Last access in ms (OBJECT IDLETIME), stamped by Context.lookup. */
  a = 0;
  constructor(
    public t: number,
    public v: Value,
    /** Absolute expiry in ms, 0 = persistent. */
    public x: number,
    /** Creation sequence number (global, monotonic): SCAN cursors resume from it. */
    public readonly seq: number,
  ) {}
}

interface HeapNode {
  at: number;
  key: string;
  entry: Entry;
}

/**
 * Min-heap of expiry deadlines for active expiry. Stale nodes (key deleted, TTL changed) are skipped
 * when popped and compacted away when they outnumber live ones.
 */
export class ExpiryHeap {
  private nodes: HeapNode[] = [];

  get size(): number {
    return this.nodes.length;
  }

  push(at: number, key: string, entry: Entry): void {
    const a = this.nodes;
    a.push({ at, key, entry });
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.at <= a[i]!.at) break;
      const tmp = a[p]!;
      a[p] = a[i]!;
      a[i] = tmp;
      i = p;
    }
  }

  peek(): HeapNode | undefined {
    return this.nodes[0];
  }

  pop(): HeapNode | undefined {
    const a = this.nodes;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.at < a[m]!.at) m = l;
        if (r < a.length && a[r]!.at < a[m]!.at) m = r;
        if (m === i) break;
        const tmp = a[m]!;
        a[m] = a[i]!;
        a[i] = tmp;
        i = m;
      }
    }
    return top;
  }

  clear(): void {
    this.nodes = [];
  }
}

/** One numbered database. */
export class Db {
  data = new Map<string, Entry>();
  heap = new ExpiryHeap();
  /** Keys with an expiry (INFO keyspace `expires=`). */
  expires = 0;
  /** Keys under the context's hidden prefixes (Beam's catalog): in `data`, left out of DBSIZE/KEYS/SCAN. */
  hidden = 0;

  constructor(public readonly id: number) {}

  rebuildHeap(): void {
    this.heap.clear();
    for (const [k, e] of this.data) if (e.x !== 0) this.heap.push(e.x, k, e);
  }
}
