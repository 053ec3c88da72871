/**
 * A Duplex over another stream that first yields bytes already read from it. Used when the TLS handshake's first
 * bytes were read (in the same chunk as the BEEP frame before them) before the socket was handed to TLS.
 */
import { Duplex } from 'node:stream';

export class PrefixedDuplex extends Duplex {
  private prefix: Buffer | undefined;

  constructor(private readonly inner: Duplex, prefix: Buffer) {
    super({ allowHalfOpen: false });
    this.prefix = prefix.length > 0 ? prefix : undefined;
    inner.pause();
    inner.on('data', this.onData);
    inner.once('end', this.onEnd);
    inner.once('error', this.onError);
    inner.once('close', this.onClose);
  }

  private readonly onData = (chunk: Buffer | string): void => {
    if (!this.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)) this.inner.pause();
  };

  private readonly onEnd = (): void => {
    this.push(null);
  };

  private readonly onError = (err: Error): void => {
    this.destroy(err);
  };

  private readonly onClose = (): void => {
    if (!this.destroyed) this.destroy();
  };

  override _read(): void {
    if (this.prefix) {
      const p = this.prefix;
      this.prefix = undefined;
      this.push(p);
    }
    this.inner.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.inner.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.inner.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inner.off('data', this.onData);
    this.inner.destroy(error ?? undefined);
    callback(error);
  }
}
