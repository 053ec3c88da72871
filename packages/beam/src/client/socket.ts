/** Opening a client socket to a resolved target: plain TCP or unix, or TLS over it (`rediss://`, `tls` option). */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ResolvedTarget } from './target.js';

import type { ClientTlsOptions } from '@beamgate/base';

/** Client TLS: `true` (or `rediss://`) verifies the server against the system CAs. */
export type BeamClientTlsOptions = ClientTlsOptions;

export interface OpenedSocket {
  socket: Socket;
  /** The event after which commands may be sent: 'connect', or 'secureConnect' after the TLS handshake. */
  ready: 'connect' | 'secureConnect';
}

export function openSocket(target: ResolvedTarget, tls: BeamClientTlsOptions | boolean | undefined): OpenedSocket {
  const useTls = tls === true || (tls !== undefined && tls !== false) || target.tls === true;
  if (!useTls) {
    const socket = target.kind === 'unix' ? netConnect({ path: target.path }) : netConnect({ host: target.host, port: target.port });
    socket.setNoDelay(true);
    return { socket, ready: 'connect' };
  }
  const o = typeof tls === 'object' ? tls : {};
  const socket = tlsConnect({
    ...(target.kind === 'unix' ? { path: target.path } : { host: target.host, port: target.port }),
    ...(o.ca !== undefined ? { ca: o.ca } : {}),
    ...(o.cert !== undefined ? { cert: o.cert } : {}),
    ...(o.key !== undefined ? { key: o.key } : {}),
    ...(o.servername !== undefined ? { servername: o.servername } : {}),
    rejectUnauthorized: o.rejectUnauthorized !== false,
  });
  socket.setNoDelay(true);
  return { socket, ready: 'secureConnect' };
}
