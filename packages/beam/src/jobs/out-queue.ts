import { encodeFrame } from './frames.js';
import { SizeFifo } from './size-fifo.js';
import { BeamError } from '../errors.js';

/** The longest `N:` prefix (stream numbers have at most 6 digits, see parseFrame). */
const MAX_HEADER = 7;

/** Bytes of the `N:` prefix of a frame of stream N (also the whole close frame). */
function headerLength(stream: number): number {
  return String(stream).length + 1;
}

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

export class OutQueueAborted extends BeamError {
  override readonly name = 'OutQueueAborted';
  constructor() {
    super('BEAM_OUTPUT_ABORTED', 'job output was aborted');
  }
}

/**
 * The output side of one job: frames pushed to `/jobs/$id/out` with back-pressure. It mirrors the size of
 * every frame it pushed (only the engine pushes there) and learns about consumers from keyspace events, so
 * it never has to read the list back.
 *
 * The list never holds more than maxFrames frames nor maxBytes bytes, close frames included: every open
 * stream keeps room for its close frame (reserve()), and a data frame is cut to the room left. Writers wait
 * once the list is full and resume when readers have taken it down to half (hysteresis keeps wake-ups rare).
 */
export class OutQueue {
  private readonly mirror = new SizeFifo();
  private full = false;
  private waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private aborted = false;
  private readonly closed = new Set<number>();
  /** Open streams and the size of the close frame each one keeps room for. */
  private readonly reserved = new Map<number, number>();
  private reservedBytes = 0;
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

  /**
   * Opens a stream: room for its close frame is kept from now on. Throws a RangeError when the open streams'
   * close frames would leave no room for a data frame.
   */
  reserve(stream: number): void {
    if (this.closed.has(stream) || this.reserved.has(stream)) return;
    const size = headerLength(stream);
    const { maxFrames, maxBytes } = this.limits;
    if (this.reserved.size + 2 > maxFrames || this.reservedBytes + size + MAX_HEADER + 1 > maxBytes) {
      throw new BeamError('BEAM_OUTPUT_STREAMS', `cannot open output stream ${stream}: ${this.reserved.size} streams open fill maxQueuedOutputFrames/maxQueuedOutputBytes`);
    }
    this.reserved.set(stream, size);
    this.reservedBytes += size;
  }

  /** Pushes data for a stream, split into frames that fit, waiting for room before each frame. */
  async write(stream: number, data: Buffer): Promise<void> {
    this.reserve(stream);
    for (let off = 0; off < data.length; ) {
      if (this.aborted) throw new OutQueueAborted();
      if (this.full) {
        await this.room();
        continue;
      }
      const n = Math.min(data.length - off, this.limits.maxFrameBytes, this.dataRoom(stream));
      if (n < 1) {
        this.full = true;
        continue;
      }
      await this.pushNow(encodeFrame(stream, data.subarray(off, off + n)));
      off += n;
    }
  }

  /**
   * Pushes the close frame `N:` once, into the room its stream kept. Only a stream opened while the list was
   * full may have to wait for it; if the queue is aborted meanwhile, that close frame is dropped.
   */
  async close(stream: number): Promise<void> {
    if (this.closed.has(stream)) return;
    this.closed.add(stream);
    const size = this.reserved.get(stream) ?? headerLength(stream);
    if (this.reserved.delete(stream)) this.reservedBytes -= size;
    while (!this.fits(1, size)) {
      if (this.aborted) return;
      this.full = true;
      await this.room().catch(() => {});
    }
    await this.pushNow(encodeFrame(stream, null));
  }

  /** Whether `frames` more frames of `bytes` bytes fit beside what is queued and the reserved close frames. */
  private fits(frames: number, bytes: number): boolean {
    const { maxFrames, maxBytes } = this.limits;
    return this.mirror.length + this.reserved.size + frames <= maxFrames && this.mirror.total + this.reservedBytes + bytes <= maxBytes;
  }

  /** Data bytes the next frame of `stream` may carry. */
  private dataRoom(stream: number): number {
    if (!this.fits(1, 0)) return 0;
    return this.limits.maxBytes - this.mirror.total - this.reservedBytes - headerLength(stream);
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
    // A data frame needs at least `N:` and one byte.
    if (!this.fits(1, 3)) {
      this.full = true;
    } else if (
      this.full &&
      this.mirror.length <= (maxFrames - this.reserved.size) / 2 &&
      this.mirror.total <= (maxBytes - this.reservedBytes) / 2
    ) {
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
