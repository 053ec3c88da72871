/**
 * The authenticated identity on a session, on both sides: `session.authenticatedIdentity` (a string) plus the SASL
 * details, and an event whenever it changes (set by a SASL exchange, cleared by a tuning reset such as TLS).
 */
import type { Session } from '../../session/session.js';
import type { SaslIdentity } from '../sasl/mechanism.js';

/** Session event emitted when `session.authenticatedIdentity` changes: `(identity: string | undefined, details?)`. */
export const IDENTITY_EVENT = 'identity';

const details = new WeakMap<Session, SaslIdentity>();

/** The SASL details of the session's authenticated identity (mechanism, authcid, authzid), if any. */
export function sessionIdentity(session: Session): SaslIdentity | undefined {
  return details.get(session);
}

/** Set (or clear, with undefined) the session's identity and emit IDENTITY_EVENT when it changed. */
export function setSessionIdentity(session: Session, identity: SaslIdentity | undefined): void {
  const before = session.authenticatedIdentity;
  if (identity === undefined) details.delete(session);
  else details.set(session, identity);
  session.authenticatedIdentity = identity?.identity;
  if (before !== session.authenticatedIdentity || identity !== undefined) {
    session.emit(IDENTITY_EVENT, session.authenticatedIdentity, identity);
  }
}
