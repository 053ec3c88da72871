/** Ring-buffer deque of Buffers: O(1) push/pop at both ends and O(1) indexed access (Redis lists). */
export class Deque {
  private buf: Array<Buffer | undefined>;
  private head = 0;
  private mask: number;
  length = 0;

  constructor(capacity = 8) {
    let cap = 8;
    while (cap < capacity) cap *= 2;
    this.buf = new Array<Buffer | undefined>(cap);
    this.mask = cap - 1;
  }

  static from(items: readonly Buffer[]): Deque {
    const d = new Deque(items.length + 1);
    for (let i = 0; i < items.length; i++) d.buf[i] = items[i];
    d.length = items.length;
    return d;
  }

  private grow(): void {
    const old = this.buf;
    const cap = old.length * 2;
    const next = new Array<Buffer | undefined>(cap);
    for (let i = 0; i < this.length; i++) next[i] = old[(this.head + i) & this.mask];
    this.buf = next;
    this.head = 0;
    this.mask = cap - 1;
  }

  pushBack(v: Buffer): void {
    if (this.length === this.buf.length) this.grow();
    this.buf[(this.head + this.length) & this.mask] = v;
    this.length++;
  }

  pushFront(v: Buffer): void {
    if (this.length === this.buf.length) this.grow();
    this.head = (this.head - 1) & this.mask;
    this.buf[this.head] = v;
    this.length++;
  }

  popFront(): Buffer | undefined {
    if (this.length === 0) return undefined;
    const v = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.length--;
    return v;
  }

  popBack(): Buffer | undefined {
    if (this.length === 0) return undefined;
    const i = (this.head + this.length - 1) & this.mask;
    const v = this.buf[i];
    this.buf[i] = undefined;
    this.length--;
    return v;
  }

  /** Element at index 0..length-1 (no bounds check beyond returning undefined). */
  at(i: number): Buffer | undefined {
    if (i < 0 || i >= this.length) return undefined;
    return this.buf[(this.head + i) & this.mask];
  }

  set(i: number, v: Buffer): void {
    this.buf[(this.head + i) & this.mask] = v;
  }

  /** Elements start..end inclusive, already clamped by the caller. */
  range(start: number, end: number): Buffer[] {
    const out = new Array<Buffer>(end - start + 1);
    for (let i = start, j = 0; i <= end; i++, j++) out[j] = this.buf[(this.head + i) & this.mask]!;
    return out;
  }

  toArray(): Buffer[] {
    return this.length === 0 ? [] : this.range(0, this.length - 1);
  }

  /** Replaces the content (used by LREM/LTRIM/LINSERT, which are O(N) in Redis too). */
  replace(items: readonly Buffer[]): void {
    let cap = 8;
    while (cap < items.length + 1) cap *= 2;
    this.buf = new Array<Buffer | undefined>(cap);
    for (let i = 0; i < items.length; i++) this.buf[i] = items[i];
    this.head = 0;
    this.mask = cap - 1;
    this.length = items.length;
  }

  /** Drops `n` elements from the front (LTRIM). */
  dropFront(n: number): void {
    for (let i = 0; i < n; i++) this.popFront();
  }

  /** Drops `n` elements from the back (LTRIM). */
  dropBack(n: number): void {
    for (let i = 0; i < n; i++) this.popBack();
  }
}
