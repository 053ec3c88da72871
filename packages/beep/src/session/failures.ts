/** The session layer's common errors. */
import { BeepClosedError, BeepProtocolError } from '../errors.js';

/** A protocol violation by the peer: terminates the session with reply code 500. */
export function perr(code: string, message: string): BeepProtocolError {
  return new BeepProtocolError(code, message, { replyCode: 500 });
}

export function closedError(code = 'BEEP_SESSION_CLOSED', msg = 'session closed'): BeepClosedError {
  return new BeepClosedError(code, msg);
}

export function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new BeepClosedError('BEEP_ABORTED', 'operation aborted', { cause: r });
}

