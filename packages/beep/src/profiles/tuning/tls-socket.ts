/** The TLS socket a session runs over after the TLS profile, for peer certificate and protocol details. */
import type { TLSSocket } from 'node:tls';
import type { Session } from '../../session/session.js';

const sockets = new WeakMap<Session, TLSSocket>();

/** @internal */
export function rememberTlsSocket(session: Session, socket: TLSSocket): void {
  sockets.set(session, socket);
}

/** The session's TLSSocket once the TLS profile ran (`getPeerCertificate()`, `getProtocol()`, `authorized`). */
export function tlsSocketOf(session: Session): TLSSocket | undefined {
  return sockets.get(session);
}
