import { Writable } from 'node:stream';
import type { OutQueue } from './out-queue.js';

/**
 * A handler's output stream N. Writes become `N:data` frames on the job's OutQueue; `write()` returns false
 * and callbacks wait while the queue is full, so a handler that honours back-pressure uses bounded memory.
 * Chunks buffered in the Writable are coalesced into as few frames as possible. Ending it sends `N:`.
 */
export class FrameWritable extends Writable {
  constructor(
    readonly stream: number,
    private readonly queue: OutQueue,
    highWaterMark: number,
  ) {
    super({ highWaterMark, decodeStrings: true });
    // A handler writing after the job was killed must not crash the process.
    this.on('error', () => {});
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (chunk.length === 0) return cb();
    this.queue.write(this.stream, chunk).then(() => cb(), cb);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    const data = chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk));
    this._write(data, 'binary', cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.queue.close(this.stream).then(() => cb(), cb);
  }
}
