/**
 * Binds a Session to a byte stream: a net.Socket (TCP or unix), a tls.TLSSocket, or any Node Duplex.
 * - TCP_NODELAY on sockets (the session already coalesces each turn's frames into one write);
 * - write back-pressure: when `write()` returns false the session stops producing until 'drain', so memory stays
 *   bounded when the peer does not read;
 * - reads go straight into the session's parser (which bounds headers and checks windows before buffering);
 * - socket end/error/close ends the session with a reason.
 */
import type { Duplex } from 'node:stream';
import { debuglog } from 'node:util';
import { BeepClosedError } from '../errors.js';
import type { Session, SessionBinding, WrapFunction } from '../session/session.js';

const debug = debuglog('beamgate:beep');

export class DuplexBinding implements SessionBinding {
  private duplex: Duplex;
  private detached = false;
  private readonly onData = (chunk: Buffer): void => this.session.receive(chunk);
  private readonly onDrain = (): void => this.session.drain();
  private readonly onEnd = (): void => this.session.transportClosed();
  private readonly onClose = (): void => this.session.transportClosed();
  private readonly onError = (err: Error): void => {
    debug('transport error: %s', err.message);
    this.session.transportClosed(new BeepClosedError('BEEP_TRANSPORT_ERROR', `transport error: ${err.message}`, { cause: err }));
  };

  constructor(
    private readonly session: Session,
    duplex: Duplex,
  ) {
    this.duplex = duplex;
    this.listen(duplex);
  }

  /** The current byte stream (changes after a tuning rewrap). */
  get stream(): Duplex {
    return this.duplex;
  }

  private listen(d: Duplex): void {
    const sock = d as Duplex & { setNoDelay?: (v: boolean) => void };
    if (typeof sock.setNoDelay === 'function') sock.setNoDelay(true);
    d.on('data', this.onData);
    d.on('drain', this.onDrain);
    d.on('end', this.onEnd);
    d.on('close', this.onClose);
    d.on('error', this.onError);
  }

  private unlisten(d: Duplex): void {
    d.off('data', this.onData);
    d.off('drain', this.onDrain);
    d.off('end', this.onEnd);
    d.off('close', this.onClose);
    d.off('error', this.onError);
  }

  write(chunk: Buffer): boolean {
    const d = this.duplex;
    if (this.detached || d.destroyed || d.writableEnded) return true;
    return d.write(chunk);
  }

  /** A gathered write: cork, write every buffer, uncork (net sockets turn it into one writev). */
  writev(chunks: Buffer[]): boolean {
    const d = this.duplex;
    if (this.detached || d.destroyed || d.writableEnded) return true;
    d.cork();
    let ok = true;
    for (const c of chunks) ok = d.write(c);
    d.uncork();
    return ok;
  }

  pauseReading(): void {
    this.duplex.pause();
  }

  resumeReading(): void {
    if (!this.detached) this.duplex.resume();
  }

  end(): void {
    if (this.detached) return;
    const d = this.duplex;
    if (!d.destroyed && !d.writableEnded) d.end();
    // Do not wait forever for a peer that never closes its side.
    const t = setTimeout(() => d.destroy(), 5000);
    t.unref();
    d.once('close', () => clearTimeout(t));
  }

  destroy(): void {
    if (this.detached) return;
    this.duplex.destroy();
  }

  /**
   * Tuning: stop reading the current stream and replace it by `wrap(old, leftover)` (e.g. a TLSSocket over it).
   * `leftover` holds octets already read from the old stream but not consumed by the session; the wrapper must
   * feed them to the new layer (for example `old.unshift(leftover)` before wrapping).
   */
  async rewrap(wrap: WrapFunction, leftover: Buffer): Promise<void> {
    const old = this.duplex;
    old.pause();
    this.unlisten(old);
    // Keep an error on the old stream from crashing the process while the wrapper takes over.
    const swallow = (e: Error): void => debug('error on the replaced stream: %s', e.message);
    old.on('error', swallow);
    const next = await wrap(old, leftover);
    old.off('error', swallow);
    this.duplex = next;
    this.listen(next);
    next.resume();
  }
}

/** Bind a session to a byte stream and send its greeting. Returns the binding (its `stream` is the current one). */
export function bindSession(session: Session, duplex: Duplex): DuplexBinding {
  const b = new DuplexBinding(session, duplex);
  session.attach(b);
  return b;
}
