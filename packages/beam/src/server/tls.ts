/**
 * TLS for the RESP server: the `tls` option's shape and a self-signed certificate for development and tests
 * (RSA-2048 key pair from node:crypto; the X.509 v3 certificate built and SHA-256-signed with node-forge).
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import net, { isIP } from 'node:net';
import tls from 'node:tls';
import { debuglog } from 'node:util';
import forge from 'node-forge';

type Pem = string | Buffer;

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

export interface SelfSignedCertificate {
  /** PKCS#8 PEM private key. */
  key: string;
  /** PEM certificate. */
  cert: string;
  /** SHA-256 of the DER certificate, colon-separated upper-case hex (as `openssl x509 -fingerprint` shows). */
  fingerprint256: string;
}

/** A certificate for `localhost`, `127.0.0.1` and `::1` (or `altNames`), valid for `days` (default 365). */
export function generateSelfSigned(altNames: readonly string[] = ['localhost', '127.0.0.1', '::1'], days = 365): SelfSignedCertificate {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  const serial = randomBytes(16);
  serial[0] = ((serial[0] as number) & 0x7f) | 0x01; // a positive INTEGER without a leading zero octet
  cert.serialNumber = serial.toString('hex');
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 60 * 60 * 1000); // clock skew tolerance
  cert.validity.notAfter = new Date(now + days * 24 * 60 * 60 * 1000);
  const subject = [{ name: 'commonName', value: altNames[0] ?? 'localhost' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: altNames.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })) },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()), forge.md.sha256.create());
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  return {
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    cert: forge.pki.certificateToPem(cert),
    fingerprint256: createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':'),
  };
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
