/** FIFO of numbers with O(1) amortized push and pop at both ends: mirrors the sizes of queued frames. */
export class SizeFifo {
  private items: number[] = [];
  private head = 0;
  total = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(n: number): void {
    this.items.push(n);
    this.total += n;
  }

  shift(): number | undefined {
    if (this.head >= this.items.length) return undefined;
    const n = this.items[this.head++]!;
    this.total -= n;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return n;
  }

  pop(): number | undefined {
    if (this.head >= this.items.length) return undefined;
    const n = this.items.pop()!;
    this.total -= n;
    return n;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.total = 0;
  }
}
