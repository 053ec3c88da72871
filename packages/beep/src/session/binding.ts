/** What a Session needs from its byte stream; implemented by transport/ for sockets and Duplex streams. */
import type { Duplex } from 'node:stream';

/** Where a session writes its bytes; implemented by transport/ for sockets and Duplex streams. */
export interface SessionBinding {
  /** Write bytes; return false when the transport is full (the session then waits for `session.drain()`). */
  write(chunk: Buffer): boolean;
  /**
   * Optional: write several buffers as one gathered write (no copy into one buffer). Same return value as write().
   */
  writev?(chunks: Buffer[]): boolean;
  /** Flush what was written, then close the byte stream. */
  end(): void;
  /** Close the byte stream at once. */
  destroy(err?: Error): void;
  /** Tuning: replace the byte stream, e.g. wrap a socket in TLS. `leftover` holds octets read but not parsed. */
  rewrap?(wrap: WrapFunction, leftover: Buffer): Promise<void>;
  /** Optional: stop / restart reading (back-pressure on a peer that sends but does not read). */
  pauseReading?(): void;
  resumeReading?(): void;
}

/** Builds the new byte stream after a tuning exchange (e.g. `new tls.TLSSocket(old, ...)`). */
export type WrapFunction = (old: Duplex, leftover: Buffer) => Duplex | Promise<Duplex>;
