/**
 * A set of non-negative integers stored as sorted, disjoint half-open ranges. Job ids are mostly started in
 * order, so the set of every id ever started stays a handful of ranges instead of one entry per job.
 */
export class IdSet {
  /** Flat [start0, end0, start1, end1, ...], sorted, non-adjacent. */
  private r: number[] = [];

  get rangeCount(): number {
    return this.r.length / 2;
  }

  /** Index of the first range whose end is > id. */
  private find(id: number): number {
    let lo = 0;
    let hi = this.r.length / 2;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.r[mid * 2 + 1]! > id) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  has(id: number): boolean {
    const i = this.find(id);
    return i < this.r.length / 2 && this.r[i * 2]! <= id;
  }

  add(id: number): void {
    const i = this.find(id);
    const n = this.r.length / 2;
    if (i < n && this.r[i * 2]! <= id) return;
    const joinsPrev = i > 0 && this.r[i * 2 - 1] === id;
    const joinsNext = i < n && this.r[i * 2] === id + 1;
    if (joinsPrev && joinsNext) {
      this.r.splice(i * 2 - 1, 2);
    } else if (joinsPrev) {
      this.r[i * 2 - 1] = id + 1;
    } else if (joinsNext) {
      this.r[i * 2] = id;
    } else {
      this.r.splice(i * 2, 0, id, id + 1);
    }
  }

  clear(): void {
    this.r = [];
  }
}
