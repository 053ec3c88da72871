/**
 * Run the TLS handshake over a connection that carried BEEP in the clear, after `<proceed/>` (RFC 3080 §3.1).
 *
 * The caller must first stop reading: remove its own 'data'/'readable' listeners from the socket. Bytes it had
 * already read past the `proceed` reply (client) or past the start (server) go in `pending`.
 *
 * For a net.Socket, `pending` is unshifted back into the socket and TLS runs natively on the socket's handle: when
 * node:tls wraps a net.Socket it first feeds whatever the socket's readable side still buffers to the TLS engine
 * (the tests in test/profiles/tls-upgrade.test.ts pin that behaviour). Any other Duplex is wrapped in a
 * PrefixedDuplex that yields `pending` and the stream's buffered bytes first.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { debuglog } from 'node:util';
import { BeepTlsError } from '../../errors.js';
import { PrefixedDuplex } from './prefixed-duplex.js';

const log = debuglog('beamgate:tls');

export const DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

type PemInput = string | Buffer;

export interface UpgradeToTlsOptions {
  role: 'client' | 'server';
  /** Our private key and certificate (required for the server; optional client certificate). */
  key?: PemInput;
  cert?: PemInput;
  /** Trusted CA certificates (a self-signed peer certificate can be pinned here). Default: Node's root store. */
  ca?: PemInput | PemInput[];
  /** Client: SNI and the name the server certificate must match. An IP literal is not sent as SNI. */
  servername?: string;
  /** Client: the name or IP the certificate must match when no servername is given. Default: the peer address. */
  host?: string;
  /** Client: verify the server; server: with requestCert, require a trusted client certificate. Default true. */
  rejectUnauthorized?: boolean;
  /** Server: ask the client for a certificate. Default false. */
  requestCert?: boolean;
  handshakeTimeoutMs?: number;
  /** Bytes already read from the socket that belong to the TLS layer (e.g. the ClientHello). */
  pending?: Buffer;
  minVersion?: tls.SecureVersion;
  signal?: AbortSignal;
}

/** Collect bytes still sitting in the socket's readable buffer, without starting a new read. */
function drainBuffered(socket: Duplex): Buffer[] {
  const chunks: Buffer[] = [];
  while (socket.readableLength > 0) {
    const chunk = socket.read() as Buffer | string | null;
    if (chunk === null) break;
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  return chunks;
}

export function upgradeToTls(socket: net.Socket | Duplex, options: UpgradeToTlsOptions): Promise<tls.TLSSocket> {
  socket.pause();
  const native = socket instanceof net.Socket;
  const pendingLength = options.pending?.length ?? 0;
  let carrier: Duplex;
  try {
    if (native) {
      if (options.pending && pendingLength > 0) socket.unshift(options.pending);
      carrier = socket;
    } else {
      carrier = new PrefixedDuplex(socket, Buffer.concat([...(options.pending ? [options.pending] : []), ...drainBuffered(socket)]));
    }
  } catch (err) {
    socket.destroy();
    return Promise.reject(new BeepTlsError('BEEP_TLS_HANDSHAKE_FAILED', `cannot start TLS: ${(err as Error).message}`, { cause: err }));
  }
  const rejectUnauthorized = options.rejectUnauthorized ?? true;
  const minVersion = options.minVersion ?? 'TLSv1.2';
  const timeoutMs = options.handshakeTimeoutMs ?? DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS;
  log('%s handshake starting (%d pending bytes, %s path)', options.role, pendingLength, native ? 'native' : 'duplex');

  if (options.role === 'server') return serverHandshake(socket, carrier, options, minVersion, timeoutMs);
  let tlsSocket: tls.TLSSocket;
  try {
    const peer = socket instanceof net.Socket ? socket.remoteAddress : undefined;
    const identity = options.servername ?? options.host ?? peer ?? 'localhost';
    const sni = options.servername !== undefined && net.isIP(options.servername) === 0 ? options.servername : undefined;
    tlsSocket = tls.connect({
      socket: carrier,
      rejectUnauthorized,
      minVersion,
      ...(sni !== undefined ? { servername: sni } : {}),
      ...(options.ca !== undefined ? { ca: options.ca } : {}),
      ...(options.key !== undefined ? { key: options.key } : {}),
      ...(options.cert !== undefined ? { cert: options.cert } : {}),
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity(identity, cert),
    });
  } catch (err) {
    socket.destroy();
    return Promise.reject(new BeepTlsError('BEEP_TLS_HANDSHAKE_FAILED', `cannot start TLS: ${(err as Error).message}`, { cause: err }));
  }

  return new Promise<tls.TLSSocket>((resolve, reject) => {
    let settled = false;
    const cleanup = (): void => {
      clearTimeout(timer);
      tlsSocket.off('secure', onSecure);
      tlsSocket.off('secureConnect', onSecure);
      tlsSocket.off('error', onError);
      tlsSocket.off('close', onClose);
      options.signal?.removeEventListener('abort', onAbort);
    };
    const fail = (error: BeepTlsError): void => {
      if (settled) return;
      settled = true;
      cleanup();
      log('%s handshake failed: %s', options.role, error.message);
      // Keep a listener so that a late 'error' from the destroyed socket cannot crash the process.
      tlsSocket.on('error', () => undefined);
      tlsSocket.destroy();
      socket.destroy();
      reject(error);
    };
    const onSecure = (): void => {
      if (settled) return;
      settled = true;
      cleanup();
      log('%s handshake done (%s)', options.role, tlsSocket.getProtocol());
      resolve(tlsSocket);
    };
    const onError = (err: Error): void => {
      fail(new BeepTlsError('BEEP_TLS_HANDSHAKE_FAILED', `TLS handshake failed: ${err.message}`, { cause: err }));
    };
    const onClose = (): void => {
      fail(new BeepTlsError('BEEP_TLS_HANDSHAKE_FAILED', 'connection closed during the TLS handshake'));
    };
    const onAbort = (): void => {
      fail(new BeepTlsError('BEEP_TLS_HANDSHAKE_FAILED', 'TLS handshake aborted', { cause: options.signal?.reason }));
    };
    const timer = setTimeout(() => {
      fail(new BeepTlsError('BEEP_TLS_HANDSHAKE_TIMEOUT', `TLS handshake did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    tlsSocket.once('secureConnect', onSecure);
    tlsSocket.on('error', onError);
    tlsSocket.once('close', onClose);
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The server side: the connection is handed to a tls.Server (not wrapped in a bare TLSSocket), because only the
 * server path verifies a requested client certificate and sets `authorized` / `authorizationError`. The server
 * accepts any certificate at the TLS level and the check is made here, so that a refusal is a BEEP_TLS_UNAUTHORIZED
 * error with the reason rather than a silent close.
 */
function serverHandshake(
  socket: net.Socket | Duplex,
  carrier: Duplex,
  options: UpgradeToTlsOptions,
  minVersion: tls.SecureVersion,
  timeoutMs: number,
): Promise<tls.TLSSocket> {
  if (options.key === undefined || options.cert === undefined) {
    socket.destroy();
    return Promise.reject(new BeepTlsError('BEEP_TLS_HANDSHAKE_FAILED', 'cannot start TLS: a TLS server needs key and cert'));
  }
  const requestCert = options.requestCert ?? false;
  const rejectUnauthorized = options.rejectUnauthorized ?? true;
  let server: tls.Server;
  try {
    server = tls.createServer({
      key: options.key,
      cert: options.cert,
      minVersion,
      ...(options.ca !== undefined ? { ca: options.ca } : {}),
      requestCert,
      rejectUnauthorized: false,
    });
  } catch (err) {
    socket.destroy();
    return Promise.reject(new BeepTlsError('BEEP_TLS_HANDSHAKE_FAILED', `cannot start TLS: ${(err as Error).message}`, { cause: err }));
  }
  return new Promise<tls.TLSSocket>((resolve, reject) => {
    let settled = false;
    let made: tls.TLSSocket | undefined;
    const cleanup = (): void => {
      clearTimeout(timer);
      server.removeAllListeners();
      carrier.off('close', onClose);
      options.signal?.removeEventListener('abort', onAbort);
    };
    const fail = (error: BeepTlsError, graceful = false): void => {
      if (settled) return;
      settled = true;
      cleanup();
      log('server handshake failed: %s', error.message);
      made?.on('error', () => undefined);
      if (graceful && made) {
        // The handshake finished: close_notify and FIN, so the peer reads a clean close rather than a reset.
        const sock = made;
        sock.end();
        setTimeout(() => {
          sock.destroy();
          socket.destroy();
        }, 1000).unref();
      } else {
        made?.destroy();
        socket.destroy();
      }
      reject(error);
    };
    const onClose = (): void => fail(new BeepTlsError('BEEP_TLS_HANDSHAKE_FAILED', 'connection closed during the TLS handshake'));
    const onAbort = (): void => fail(new BeepTlsError('BEEP_TLS_HANDSHAKE_FAILED', 'TLS handshake aborted', { cause: options.signal?.reason }));
    const timer = setTimeout(() => {
      fail(new BeepTlsError('BEEP_TLS_HANDSHAKE_TIMEOUT', `TLS handshake did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    server.on('secureConnection', (tlsSocket: tls.TLSSocket) => {
      made = tlsSocket;
      if (settled) return;
      if (requestCert && rejectUnauthorized && !tlsSocket.authorized) {
        fail(new BeepTlsError('BEEP_TLS_UNAUTHORIZED', `client certificate rejected: ${String(tlsSocket.authorizationError ?? 'none presented')}`), true);
        return;
      }
      settled = true;
      cleanup();
      log('server handshake done (%s)', tlsSocket.getProtocol());
      resolve(tlsSocket);
    });
    server.on('tlsClientError', (err: Error, tlsSocket: tls.TLSSocket) => {
      made = tlsSocket;
      fail(new BeepTlsError('BEEP_TLS_HANDSHAKE_FAILED', `TLS handshake failed: ${err.message}`, { cause: err }));
    });
    carrier.once('close', onClose);
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    server.emit('connection', carrier);
  });
}
