import { randomBytes } from 'node:crypto';
import { BeamOptionError } from '../errors.js';
import { ReplicationError } from './errors.js';

/** A fresh replication id: 40 hex characters, as Redis' changeReplicationId(). */
export function randomReplId(): string {
  return randomBytes(20).toString('hex');
}

export interface BacklogOptions {
  /** Bytes of history kept for partial resyncs (default 1 MiB, Redis' repl-backlog-size). */
  size?: number;
  replId?: string;
  /** master_repl_offset to start from (default 0). */
  offset?: number;
}

/**
 * The replication backlog: the last `size` bytes of the replication stream in a circular buffer.
 *
 * Offsets follow Redis: `offset` (master_repl_offset) counts every byte ever appended; a byte's offset is its
 * 1-based position. A replica that has processed everything up to offset X asks `PSYNC replid X+1`; that can be
 * served when the bytes from X+1 on are all still held, i.e. `firstOffset <= X+1 <= offset + 1`.
 */
export class ReplicationBacklog {
  readonly size: number;
  replId: string;
  offset: number;
  private buf: Buffer | null = null;
  /** Where the next byte goes in `buf`. */
  private writePos = 0;
  /** Bytes of history held (<= size). */
  private histlen = 0;

  constructor(opts: BacklogOptions = {}) {
    this.size = opts.size ?? 1024 * 1024;
    if (!Number.isSafeInteger(this.size) || this.size < 1) throw new BeamOptionError('backlog size must be a positive integer');
    this.replId = opts.replId ?? randomReplId();
    this.offset = opts.offset ?? 0;
  }

  /** Offset of the oldest byte still held (offset + 1 when empty). */
  get firstOffset(): number {
    return this.offset - this.histlen + 1;
  }

  get historyLength(): number {
    return this.histlen;
  }

  append(bytes: Uint8Array): void {
    const n = bytes.length;
    if (n === 0) return;
    const buf = (this.buf ??= Buffer.allocUnsafe(this.size));
    this.offset += n;
    if (n >= this.size) {
      buf.set(bytes.subarray(n - this.size), 0);
      this.writePos = 0;
      this.histlen = this.size;
      return;
    }
    const first = Math.min(n, this.size - this.writePos);
    buf.set(bytes.subarray(0, first), this.writePos);
    if (first < n) buf.set(bytes.subarray(first), 0);
    this.writePos = (this.writePos + n) % this.size;
    this.histlen = Math.min(this.size, this.histlen + n);
  }

  /** True when a PSYNC asking for `psyncOffset` (the first byte it lacks) can be served from the history. */
  canServe(psyncOffset: number): boolean {
    return Number.isSafeInteger(psyncOffset) && psyncOffset >= this.firstOffset && psyncOffset <= this.offset + 1;
  }

  /** A copy of the bytes from `psyncOffset` to the end of the stream. Throws ReplicationError when !canServe. */
  readFrom(psyncOffset: number): Buffer {
    if (!this.canServe(psyncOffset)) throw new ReplicationError('REPL_OFFSET_NOT_IN_BACKLOG', `offset ${psyncOffset} is not in the backlog`);
    const len = this.offset + 1 - psyncOffset;
    if (len === 0 || this.buf === null) return Buffer.alloc(0);
    const start = (this.writePos - len + this.size) % this.size;
    if (start + len <= this.size) return Buffer.from(this.buf.subarray(start, start + len));
    return Buffer.concat([this.buf.subarray(start), this.buf.subarray(0, (start + len) % this.size)]);
  }

  /** A new history (Redis does this when the backlog is created): new id, same offset, nothing to serve. */
  reset(replId: string = randomReplId()): void {
    this.replId = replId;
    this.histlen = 0;
    this.writePos = 0;
  }
}
