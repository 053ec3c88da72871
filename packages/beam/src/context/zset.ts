/**
 * A sorted set: member -> score in a Map, plus the members ordered by (score, member bytes) in a list of sorted
 * blocks of at most 2 * BLOCK nodes. Members are latin1 strings of their bytes, so `<` on them is Redis' memcmp
 * order. An insert or removal is a binary search over the blocks' last nodes, one inside a block and a splice of a
 * short array, so it stays cheap for large sets; ranks add up the sizes of the blocks before (n / BLOCK additions).
 */
export interface ZNode {
  readonly m: string;
  readonly s: number;
}

const BLOCK = 128;

/** (s, m) compared with a node: negative when (s, m) sorts first. */
function cmp(as: number, am: string, b: ZNode): number {
  if (as !== b.s) return as < b.s ? -1 : 1;
  return am < b.m ? -1 : am > b.m ? 1 : 0;
}

/** Predicate "this node sorts before the target": true for a prefix of the order. */
type Before = (n: ZNode) => boolean;

function chunk(nodes: ZNode[]): ZNode[][] {
  const out: ZNode[][] = [];
  for (let i = 0; i < nodes.length; i += BLOCK) out.push(nodes.slice(i, i + BLOCK));
  return out;
}

export class ZSet {
  readonly dict = new Map<string, number>();
  private blocks: ZNode[][] = [];

  get size(): number {
    return this.dict.size;
  }

  score(m: string): number | undefined {
    return this.dict.get(m);
  }

  /** Block and offset of the first node for which `before` is false (offset = block length past the end). */
  private locate(before: Before): [number, number] {
    const bs = this.blocks;
    let lo = 0;
    let hi = bs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const blk = bs[mid]!;
      if (before(blk[blk.length - 1]!)) lo = mid + 1;
      else hi = mid;
    }
    if (lo === bs.length) return bs.length === 0 ? [0, 0] : [bs.length - 1, bs[bs.length - 1]!.length];
    const blk = bs[lo]!;
    let a = 0;
    let b = blk.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (before(blk[mid]!)) a = mid + 1;
      else b = mid;
    }
    return [lo, a];
  }

  private globalIndex(block: number, offset: number): number {
    let n = offset;
    for (let i = 0; i < block; i++) n += this.blocks[i]!.length;
    return n;
  }

  private indexOf(before: Before): number {
    const [b, i] = this.locate(before);
    return this.globalIndex(b, i);
  }

  private removeAt(b: number, i: number): void {
    const blk = this.blocks[b]!;
    blk.splice(i, 1);
    if (blk.length === 0) this.blocks.splice(b, 1);
  }

  private insert(node: ZNode): void {
    if (this.blocks.length === 0) {
      this.blocks.push([node]);
      return;
    }
    const [b, i] = this.locate((n) => cmp(node.s, node.m, n) > 0);
    const blk = this.blocks[b]!;
    blk.splice(i, 0, node);
    if (blk.length > 2 * BLOCK) this.blocks.splice(b + 1, 0, blk.splice(BLOCK));
  }

  /** Sets a member's score (adding it when new). */
  set(m: string, s: number): void {
    if (s === 0) s = 0; // -0 is stored as 0
    const old = this.dict.get(m);
    if (old !== undefined) {
      if (old === s) return;
      const [b, i] = this.locate((n) => cmp(old, m, n) > 0);
      this.removeAt(b, i);
    }
    this.dict.set(m, s);
    this.insert({ m, s });
  }

  /**
   * Sets many scores at once: one filter and sort, O((n + k) log(n + k)), instead of k inserts (a big ZADD, or a
   * mirror loading a large key).
   */
  setMany(scores: Map<string, number>): void {
    if (scores.size < 64) {
      for (const [m, s] of scores) this.set(m, s);
      return;
    }
    const arr = this.nodes().filter((n) => !scores.has(n.m));
    for (const [m, s0] of scores) {
      const s = s0 === 0 ? 0 : s0;
      this.dict.set(m, s);
      arr.push({ m, s });
    }
    arr.sort((a, b) => cmp(a.s, a.m, b));
    this.blocks = chunk(arr);
  }

  delete(m: string): boolean {
    const s = this.dict.get(m);
    if (s === undefined) return false;
    this.dict.delete(m);
    const [b, i] = this.locate((n) => cmp(s, m, n) > 0);
    this.removeAt(b, i);
    return true;
  }

  /** Deletes many members at once (one filter pass for large calls); returns how many existed. */
  deleteMany(members: string[]): number {
    if (members.length < 64) {
      let n = 0;
      for (const m of members) if (this.delete(m)) n++;
      return n;
    }
    const gone = new Set<string>();
    for (const m of members) if (this.dict.delete(m)) gone.add(m);
    if (gone.size > 0) this.blocks = chunk(this.nodes().filter((n) => !gone.has(n.m)));
    return gone.size;
  }

  /** 0-based ascending rank, or -1. */
  rank(m: string): number {
    const s = this.dict.get(m);
    return s === undefined ? -1 : this.indexOf((n) => cmp(s, m, n) > 0);
  }

  /** First index with score > s (exclusive) or >= s. */
  firstScoreIndex(s: number, exclusive: boolean): number {
    return this.indexOf(exclusive ? (n) => n.s <= s : (n) => n.s < s);
  }

  /** First index with member > m (exclusive) or >= m (lex ranges expect equal scores). */
  firstLexIndex(m: string, exclusive: boolean): number {
    return this.indexOf(exclusive ? (n) => n.m <= m : (n) => n.m < m);
  }

  /** Nodes of ranks [start, end), ascending. */
  slice(start: number, end: number): ZNode[] {
    const out: ZNode[] = [];
    let base = 0;
    for (const blk of this.blocks) {
      if (base >= end) break;
      const next = base + blk.length;
      if (next > start) {
        for (let i = Math.max(0, start - base); i < blk.length && base + i < end; i++) out.push(blk[i]!);
      }
      base = next;
    }
    return out;
  }

  /** Removes ranks [start, end) and returns their nodes. */
  removeRange(start: number, end: number): ZNode[] {
    const out: ZNode[] = [];
    if (end <= start) return out;
    let base = 0;
    const keep: ZNode[][] = [];
    for (const blk of this.blocks) {
      const next = base + blk.length;
      if (next <= start || base >= end) keep.push(blk);
      else {
        const a = Math.max(0, start - base);
        const b = Math.min(blk.length, end - base);
        out.push(...blk.splice(a, b - a));
        if (blk.length > 0) keep.push(blk);
      }
      base = next;
    }
    this.blocks = keep;
    for (const n of out) this.dict.delete(n.m);
    return out;
  }

  private nodes(): ZNode[] {
    return this.blocks.length === 1 ? this.blocks[0]!.slice() : this.blocks.flat();
  }

  clone(): ZSet {
    const z = new ZSet();
    z.blocks = this.blocks.map((b) => b.slice());
    for (const [m, s] of this.dict) z.dict.set(m, s);
    return z;
  }

  /** [member, score] pairs in ascending order (snapshots, RDB). */
  *[Symbol.iterator](): IterableIterator<[string, number]> {
    for (const blk of this.blocks) for (const n of blk) yield [n.m, n.s];
  }
}
