/**
 * TLS for the RESP server: the `tls` option's shape and the listener. The self-signed certificate for development
 * and tests is @beamgate/base's `generateSelfSigned`.
 */
import net from 'node:net';
import tls from 'node:tls';
import { debuglog } from 'node:util';

import type { Pem } from '@beamgate/base';

export { generateSelfSigned, type SelfSignedCertificate } from '@beamgate/base';

/** `BeamServerOptions.tls`: the listener speaks TLS only (like Redis' `tls-port`, on the one port). */
export interface BeamServerTlsOptions {
  key: Pem;
  cert: Pem;
  /** CAs trusted for client certificates (with requestCert). */
  ca?: Pem | Pem[];
  /** Ask clients for a certificate; with it, untrusted client certificates are refused. Default false. */
  requestCert?: boolean;
  /** Milliseconds a client may take to finish the handshake. Default 10000. */
  handshakeTimeoutMs?: number;
}

const log = debuglog('beamgate:server');

/**
 * The listening socket: plain TCP/unix, or TLS over it when `tls` is given. Accepted sockets reach `onSocket`
 * after the handshake (TLS) and have TCP_NODELAY set; failed handshakes are logged and the socket dropped.
 */
export function createListener(tlsOptions: BeamServerTlsOptions | undefined, onSocket: (s: net.Socket) => void): net.Server {
  if (!tlsOptions) return net.createServer({ allowHalfOpen: true, noDelay: true }, onSocket);
  // Not half-open during the handshake: a client that gives up (e.g. rejects the certificate) must close the
  // socket, not leave it waiting for the handshake timeout. Half-open (replies after the client's FIN) after it.
  const server = tls.createServer(
    {
      allowHalfOpen: false,
      noDelay: true,
      key: tlsOptions.key,
      cert: tlsOptions.cert,
      ...(tlsOptions.ca !== undefined ? { ca: tlsOptions.ca } : {}),
      requestCert: tlsOptions.requestCert ?? false,
      rejectUnauthorized: tlsOptions.requestCert ?? false,
      handshakeTimeout: tlsOptions.handshakeTimeoutMs ?? 10_000,
    },
    (s: tls.TLSSocket) => {
      s.allowHalfOpen = true;
      onSocket(s);
    },
  );
  server.on('tlsClientError', (e: Error, s: tls.TLSSocket) => {
    log('TLS handshake from %s failed: %s', s.remoteAddress ?? 'unix', e.message);
    s.destroy();
  });
  return server;
}
