/** The remote address of a listener session's socket, for per-address policies (SASL throttling). */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Session } from '../../session/session.js';

const addresses = new WeakMap<Session, string>();

/** @internal Called by the listener for every accepted byte stream. */
export function rememberPeerAddress(session: Session, duplex: Duplex): void {
  if (duplex instanceof net.Socket && duplex.remoteAddress !== undefined) addresses.set(session, duplex.remoteAddress);
}

/** The peer's IP address (undefined for unix sockets and other streams). */
export function peerAddressOf(session: Session): string | undefined {
  return addresses.get(session);
}
