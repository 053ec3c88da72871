/**
 * The listener's bound on a TLS or SASL negotiation that stalls: a TLS channel started without `<ready/>` that
 * never gets one, a SASL exchange whose client stops answering (e.g. a server-first challenge nobody answers).
 * When the timer fires the session is terminated with the given error: a peer that stopped in the middle of a
 * security negotiation is not going to finish it, and an unauthenticated session should not be held open.
 */
import type { Session } from '../../session/session.js';

/** Default of `negotiationTimeoutMs` (listener) and `timeoutMs` (startTls / authenticate). */
export const DEFAULT_NEGOTIATION_TIMEOUT_MS = 30000;

export class NegotiationTimer {
  private timer: NodeJS.Timeout | undefined;
  private readonly onClose = (): void => this.clear();

  constructor(private readonly session: Session, ms: number, error: () => Error) {
    this.timer = setTimeout(() => {
      this.clear();
      if (!session.closed) session.destroy(error());
    }, ms);
    this.timer.unref?.();
    session.once('close', this.onClose);
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.session.off('close', this.onClose);
  }
}
