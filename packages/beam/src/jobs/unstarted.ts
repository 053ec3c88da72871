import { performance } from 'node:perf_hooks';

/** Ids created by one `RPUSH /jobs` (or several seen together), and when. */
interface Batch {
  from: number;
  to: number;
  at: number;
}

export interface UnstartedHost {
  isStarted(id: number): boolean;
  /** Drops what the job holds (keys, in-memory record): it was never started and its time is up. */
  reclaim(id: number): void;
}

/**
 * Jobs created and not yet started. Ids are handed out in order and a batch's creation time never decreases,
 * so one FIFO of id ranges and one timer (armed for the oldest batch) cover every unstarted job; reclaimed ids
 * are exactly the never-started ones below `expiredBelow`, so nothing per job is kept after the sweep.
 */
export class UnstartedJobs {
  /** Ids below it have been seen created. */
  private created: number;
  private expiredBelow: number;
  /** Created, not started, not reclaimed. */
  private count = 0;
  private readonly batches: Batch[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly ttlMs: number,
    private readonly host: UnstartedHost,
    initialCount = 0,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.created = initialCount;
    this.expiredBelow = initialCount;
  }

  /** `/jobs` now holds `length` names: the ids not seen before were just created. */
  jobsCreated(length: number): void {
    if (length <= this.created) return;
    const from = this.created;
    this.created = length;
    // A pipelined start may have been claimed before this creation was seen.
    for (let id = from; id < length; id++) if (!this.host.isStarted(id)) this.count++;
    if (this.ttlMs === 0 || this.stopped) return;
    this.batches.push({ from, to: length, at: this.now() });
    this.arm();
  }

  /** A start of `id` is being claimed (call before marking it started). */
  starting(id: number): void {
    if (id >= this.expiredBelow && id < this.created && !this.host.isStarted(id)) this.count--;
  }

  isExpired(id: number): boolean {
    return id < this.expiredBelow && !this.host.isStarted(id);
  }

  /** Unstarted jobs, counting the ids of `/jobs` (length `jobCount`) not yet seen created. */
  pending(jobCount: number | undefined): number {
    return this.count + Math.max(0, (jobCount ?? this.created) - this.created);
  }

  /** Database 0 was flushed: ids restart at 0. */
  clear(): void {
    this.created = 0;
    this.expiredBelow = 0;
    this.count = 0;
    this.batches.length = 0;
    this.head = 0;
    this.disarm();
  }

  stop(): void {
    this.stopped = true;
    this.clear();
  }

  private arm(): void {
    const b = this.batches[this.head];
    if (this.timer || !b || this.stopped) return;
    const delay = Math.max(0, b.at + this.ttlMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sweep();
    }, Math.ceil(delay));
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private sweep(): void {
    const t = this.now();
    for (let b = this.batches[this.head]; b && b.at + this.ttlMs <= t; b = this.batches[this.head]) {
      this.head++;
      for (let id = Math.max(b.from, this.expiredBelow); id < b.to; id++) {
        if (this.host.isStarted(id)) continue;
        this.count--;
        this.host.reclaim(id);
      }
      this.expiredBelow = Math.max(this.expiredBelow, b.to);
    }
    if (this.head > 64 && this.head * 2 > this.batches.length) {
      this.batches.splice(0, this.head);
      this.head = 0;
    }
    this.arm();
  }
}
