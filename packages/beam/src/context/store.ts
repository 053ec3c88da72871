import type { Deque } from './deque.js';

/** Value types, as TYPE names them. Numbers rather than strings so the hot path compares small ints. */
export const T_STRING = 0;
export const T_LIST = 1;
export const T_HASH = 2;
export const T_SET = 3;

export const TYPE_NAMES = ['string', 'list', 'hash', 'set'] as const;
export type TypeName = (typeof TYPE_NAMES)[number];

export type Value = Buffer | Deque | Map<string, Buffer> | Set<string>;

/**
 * One key's slot. Mutated in place on overwrite so the key keeps its position (and `seq`) in the
 * database's insertion order, which SCAN relies on.
 */
export class Entry {
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

  constructor(public readonly id: number) {}

  rebuildHeap(): void {
    this.heap.clear();
    for (const [k, e] of this.data) if (e.x !== 0) this.heap.push(e.x, k, e);
  }
}
