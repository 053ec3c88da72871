/**
 * The server-wide bound on what clients' requests hold (Redis 7's `maxmemory-clients`, applied to query
 * buffers and decoded requests not yet run). When the total goes over the limit, the clients holding the most
 * are closed, largest first, until it is under again: the ones sending huge requests pay, not the small ones.
 */
export interface MemoryHolder {
  /** Bytes last reported through `ClientMemory.update()`. */
  heldBytes: number;
  /** Refuse and close: called at most once per holder by the budget. */
  evict(): void;
}

export class ClientMemory {
  /** Bytes held by all holders together. */
  total = 0;
  /** Clients closed because the total went over the limit. */
  evicted = 0;
  private readonly holders = new Set<MemoryHolder>();

  /** `limit` in bytes; 0 turns the server-wide bound off. */
  constructor(public limit: number) {}

  update(h: MemoryHolder, bytes: number): void {
    const old = h.heldBytes;
    if (bytes === old) return;
    this.total += bytes - old;
    h.heldBytes = bytes;
    if (bytes === 0) this.holders.delete(h);
    else if (old === 0) this.holders.add(h);
    if (this.limit > 0 && this.total > this.limit) this.evictLargest();
  }

  private evictLargest(): void {
    while (this.total > this.limit && this.holders.size > 0) {
      let big: MemoryHolder | undefined;
      for (const h of this.holders) if (big === undefined || h.heldBytes > big.heldBytes) big = h;
      const v = big!;
      this.holders.delete(v);
      this.total -= v.heldBytes;
      v.heldBytes = 0;
      this.evicted++;
      v.evict();
    }
  }
}
