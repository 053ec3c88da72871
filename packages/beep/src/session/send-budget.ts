/**
 * The bound on octets queued for sending across many sessions (a listener's): each session adds and removes what
 * its channels queue. When the total goes over the limit, the sessions holding the most are dropped, largest first,
 * until it is under again: slow readers pay, not the sessions that read what they asked for.
 */
export interface QueueHolder {
  /** Octets this holder has queued, as last reported. */
  queuedTotal: number;
  /**
   * Drop the holder; called at most once by the budget (which has already removed it, so the holder must not
   * report to it again), with the total and limit for the log line.
   */
  overBudget(total: number, limit: number): void;
}

/** Default `maxTotalQueuedBytes` of a listener: 20 sessions of slow readers stay far below 1 GB. */
export const DEFAULT_MAX_TOTAL_QUEUED_BYTES = 256 * 1024 * 1024;

export class SendBudget {
  /** Octets queued by all holders. */
  total = 0;
  /** Sessions dropped because the total went over the limit. */
  dropped = 0;
  private readonly holders = new Set<QueueHolder>();

  /** `limit` in octets (0 = no bound). */
  constructor(public limit: number = DEFAULT_MAX_TOTAL_QUEUED_BYTES) {}

  /** A holder's queue changed by `delta` octets (its `queuedTotal` already includes it). */
  add(h: QueueHolder, delta: number): void {
    this.total += delta;
    const now = h.queuedTotal;
    if (now === 0) this.holders.delete(h);
    else if (now === delta) this.holders.add(h);
    if (delta > 0 && this.limit > 0 && this.total > this.limit) this.dropLargest();
  }

  private dropLargest(): void {
    while (this.total > this.limit && this.holders.size > 0) {
      let big: QueueHolder | undefined;
      for (const h of this.holders) if (big === undefined || h.queuedTotal > big.queuedTotal) big = h;
      const v = big!;
      const total = this.total;
      this.remove(v);
      this.dropped++;
      v.overBudget(total, this.limit);
    }
  }

  /** Forget a holder and what it queued. */
  remove(h: QueueHolder): void {
    if (!this.holders.delete(h)) return;
    this.total -= h.queuedTotal;
  }
}
