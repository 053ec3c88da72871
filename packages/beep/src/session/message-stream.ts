/**
 * Streamed messages (messages larger than the reassembly cap): the body of one MSG, or of the RPY to one of our
 * MSGs, delivered as a Readable of frame payloads. Octets received but not yet read count as the channel's backlog,
 * which the session keeps out of the receive window it advertises: the peer is flow-controlled by the consumer, and
 * at most one window (plus the Readable's highWaterMark) is buffered whatever the message size.
 */
import { Readable } from 'node:stream';
import { parseEntity } from '../wire/mime.js';

/** Largest MIME header block looked for at the start of a streamed message before taking it all as body. */
const MAX_HEADER_BLOCK = 4096;
const EMPTY = Buffer.alloc(0);

/** What the session gives a stream: backlog accounting for the channel the octets arrived on. */
export interface StreamOwner {
  backlog(delta: number): void;
}

export class MessageStream extends Readable {
  private queue: Buffer[] = [];
  private queued = 0;
  private wanting = false;
  private ended = false;
  /** True once the consumer destroyed the stream: the rest of the message is dropped as it arrives. */
  discarding = false;
  /** Octets received in total (headers excluded). */
  receivedBytes = 0;

  constructor(
    private readonly owner: StreamOwner,
    highWaterMark = 65536,
  ) {
    super({ highWaterMark });
  }

  /** Octets held for the consumer: not yet handed to the Readable plus its own buffer. */
  get bufferedBytes(): number {
    return this.queued + this.readableLength;
  }

  /** True once the last frame of the message arrived. */
  get complete(): boolean {
    return this.ended;
  }

  /** @internal A frame payload arrived. */
  deliverChunk(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.receivedBytes += chunk.length;
    if (this.discarding || this.destroyed) return;
    if (this.wanting && this.queue.length === 0) {
      this.wanting = this.push(chunk);
      return;
    }
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.owner.backlog(chunk.length);
  }

  /** @internal The message's last frame arrived. */
  deliverEnd(): void {
    this.ended = true;
    if (this.queue.length === 0 && !this.destroyed && !this.discarding) this.push(null);
  }

  /** @internal The channel or session closed before the message was complete. */
  failWith(err: Error): void {
    if (!this.ended && !this.destroyed) this.destroy(err);
  }

  /** @internal Drop the rest: the reply was given without reading (or the request was abandoned). */
  discardRest(): void {
    if (this.discarding) return;
    this.destroy();
  }

  override _read(): void {
    let more = true;
    let taken = 0;
    while (more && this.queue.length > 0) {
      const b = this.queue.shift() as Buffer;
      taken += b.length;
      more = this.push(b);
    }
    if (taken > 0) {
      this.queued -= taken;
      this.owner.backlog(-taken);
    }
    if (this.queue.length === 0) {
      if (this.ended) this.push(null);
      else this.wanting = more;
    }
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.discarding = true;
    this.release();
    cb(err);
  }

  private release(): void {
    const n = this.queued;
    this.queue = [];
    this.queued = 0;
    if (n > 0) this.owner.backlog(-n);
  }
}

/**
 * Finds the MIME header block at the start of a streamed message: collects the first frame payloads until the
 * block's empty line (at most 4096 octets), the message ends, or it is clear there is no header block (then the
 * defaults apply and everything is body, as in lenient parseEntity).
 */
export class HeaderCollector {
  private parts: Buffer[] = [];
  private size = 0;

  /** Octets held so far. */
  get held(): number {
    return this.size;
  }

  /** Feed a frame payload; returns the header block and the first body octets once known, else undefined. */
  feed(payload: Buffer, last: boolean): { header: Buffer; body: Buffer } | undefined {
    if (payload.length > 0) {
      this.parts.push(payload);
      this.size += payload.length;
    }
    const buf = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.size);
    this.parts = buf.length === 0 ? [] : [buf];
    let end = -1;
    if (buf.length >= 2 && buf[0] === 0x0d && buf[1] === 0x0a) end = 2;
    else {
      const i = buf.indexOf('\r\n\r\n', 0, 'latin1');
      if (i >= 0 && i + 4 <= MAX_HEADER_BLOCK) end = i + 4;
      else if (buf.length <= MAX_HEADER_BLOCK && !last) return undefined;
    }
    if (end > 0 && parseEntity(buf.subarray(0, end)).body.length !== 0) end = -1; // not a header block after all
    const header = end > 0 ? buf.subarray(0, end) : EMPTY;
    const body = end > 0 ? buf.subarray(end) : buf;
    this.parts = [];
    this.size = 0;
    return { header, body };
  }
}
