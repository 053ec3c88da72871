import { encodeFrame } from './frames.js';
import { SizeFifo } from './size-fifo.js';

/** How an OutQueue reaches `/jobs/$id/out` (through the context's command interface). */
export interface OutListIO {
  /** RPUSH frames; resolves to the new length. */
  push(frames: Buffer[]): Promise<unknown>;
  /** LLEN. */
  length(): Promise<number>;
  /** Byte sizes of every queued frame (LRANGE 0 -1), for a full resync after unusual edits. */
  sizes(): Promise<number[]>;
}

export interface OutQueueLimits {
  maxFrames: number;
  maxBytes: number;
  maxFrameBytes: number;
}

export class OutQueueAborted extends Error {
  override readonly name = 'OutQueueAborted';
  readonly code = 'BEAM_OUTPUT_ABORTED';
  constructor() {
    super('job output was aborted');
  }
}

/**
 * The output side of one job: frames pushed to `/jobs/$id/out` with back-pressure. It mirrors the size of
 * every frame it pushed (only the engine pushes there) and learns about consumers from keyspace events, so
 * it never has to read the list back. Writers wait while the list holds maxFrames frames or maxBytes bytes,
 * and resume once readers have taken it down to half of both (hysteresis keeps wake-ups rare).
 */
export class OutQueue {
  private readonly mirror = new SizeFifo();
  private full = false;
  private waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private aborted = false;
  private readonly closed = new Set<number>();
  private syncing = false;
  private resyncAgain: string | null = null;

  constructor(
    private readonly io: OutListIO,
    private readonly limits: OutQueueLimits,
  ) {}

  get queuedFrames(): number {
    return this.mirror.length;
  }

  get queuedBytes(): number {
    return this.mirror.total;
  }

  isClosed(stream: number): boolean {
    return this.closed.has(stream);
  }

  /** Pushes data for a stream, split into frames, waiting for room before each frame. */
  async write(stream: number, data: Buffer): Promise<void> {
    for (let off = 0; off < data.length; off += this.limits.maxFrameBytes) {
      while (this.full) await this.room();
      if (this.aborted) throw new OutQueueAborted();
      await this.pushNow(encodeFrame(stream, data.subarray(off, off + this.limits.maxFrameBytes)));
    }
  }

  /** Pushes the close frame `N:` once; close frames ignore the limits (there is one per stream). */
  async close(stream: number): Promise<void> {
    if (this.closed.has(stream)) return;
    this.closed.add(stream);
    await this.pushNow(encodeFrame(stream, null));
  }

  private async pushNow(frame: Buffer): Promise<void> {
    // Account synchronously so that concurrent writers see the new occupancy before the next one pushes.
    this.mirror.push(frame.length);
    this.updateFull();
    await this.io.push([frame]);
  }

  private room(): Promise<void> {
    if (this.aborted) return Promise.reject(new OutQueueAborted());
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private updateFull(): void {
    const { maxFrames, maxBytes } = this.limits;
    if (this.mirror.length >= maxFrames || this.mirror.total >= maxBytes) {
      this.full = true;
    } else if (this.full && this.mirror.length <= maxFrames / 2 && this.mirror.total <= maxBytes / 2) {
      this.full = false;
      const w = this.waiters;
      this.waiters = [];
      for (const { resolve } of w) resolve();
    }
  }

  /**
   * A keyspace event other than our own RPUSH touched the list: `lpop`/`rpop` (any pop), `del`, `expired`,
   * or something unusual (then the whole list is re-measured).
   */
  consumed(event: string): void {
    if (this.syncing) {
      this.resyncAgain = this.resyncAgain === null || this.resyncAgain === event ? event : 'full';
      return;
    }
    this.syncing = true;
    void this.resync(event).finally(() => {
      this.syncing = false;
      const again = this.resyncAgain;
      this.resyncAgain = null;
      if (again !== null) this.consumed(again);
    });
  }

  private async resync(event: string): Promise<void> {
    try {
      if (event === 'del' || event === 'expired' || event === 'evicted') {
        const len = await this.io.length();
        if (len === 0) this.mirror.clear();
        else await this.fullResync();
      } else if (event === 'lpop' || event === 'rpop') {
        const len = await this.io.length();
        while (this.mirror.length > len) {
          if (event === 'rpop') this.mirror.pop();
          else this.mirror.shift();
        }
      } else {
        await this.fullResync();
      }
    } catch {
      // The context is gone; writers are released by abort().
    }
    this.updateFull();
  }

  private async fullResync(): Promise<void> {
    const sizes = await this.io.sizes();
    this.mirror.clear();
    for (const n of sizes) this.mirror.push(n);
  }

  /** Releases every waiting writer with an error; later writes fail. Close frames still go out. */
  abort(): void {
    this.aborted = true;
    const w = this.waiters;
    this.waiters = [];
    for (const { reject } of w) reject(new OutQueueAborted());
  }
}
