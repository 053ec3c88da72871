/**
 * TLS material both protocol packages need: the client TLS options they accept, and a self-signed server
 * certificate for development and tests (RSA 2048 key pair from node:crypto; the X.509 v3 certificate built and
 * signed with SHA-256 by node-forge, which signs with RSA keys only).
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';
import { ConfigError } from './errors.js';

export type Pem = string | Buffer;

/** TLS options of a client (Beam's RESP client and mirror, the gateway's remote context, BEEP's TLS tuning). */
export interface ClientTlsOptions {
  /** CA certificates to trust instead of the system ones, e.g. a server's self-signed certificate. */
  ca?: Pem | Pem[];
  /** Name for SNI and the certificate check; default the host. */
  servername?: string;
  /** Verify the server certificate. Default true; false only for tests. */
  rejectUnauthorized?: boolean;
  /** Client certificate and key, for servers that ask for one. */
  cert?: Pem;
  key?: Pem;
}

export interface SelfSignedOptions {
  /** Subject and issuer CN. Default 'localhost'. */
  commonName?: string;
  /** subjectAltName entries: IP literals become iPAddress names, anything else dNSName. */
  altNames?: readonly string[];
  /** Validity in days from now. Default 365. */
  days?: number;
  /** Clock for the validity period (tests). Default Date.now(). */
  now?: number;
  /** Also allow the certificate as a TLS client certificate (extended key usage clientAuth). Default false. */
  clientAuth?: boolean;
}

export interface SelfSignedCertificate {
  /** PKCS#8 PEM private key. */
  key: string;
  /** PEM certificate. */
  cert: string;
  /** SHA-256 fingerprint of the DER certificate, colon-separated upper-case hex (as tls peer certificates show). */
  fingerprint256: string;
}

export function generateSelfSigned(options: SelfSignedOptions = {}): SelfSignedCertificate {
  const commonName = options.commonName ?? 'localhost';
  const altNames = options.altNames ?? ['localhost', '127.0.0.1', '::1'];
  const days = options.days ?? 365;
  if (!(days > 0)) throw new ConfigError(`a self-signed certificate needs days > 0, got ${days}`);
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  const serial = randomBytes(16);
  serial[0] = (serial[0] as number) & 0x7f; // positive INTEGER
  if (serial[0] === 0) serial[0] = 1; // no leading zero octet
  cert.serialNumber = serial.toString('hex');
  const now = options.now ?? Date.now();
  cert.validity.notBefore = new Date(now - 60 * 60 * 1000); // an hour of tolerance for clock skew
  cert.validity.notAfter = new Date(now + days * 24 * 60 * 60 * 1000);
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true, ...(options.clientAuth === true ? { clientAuth: true } : {}) },
    { name: 'subjectAltName', altNames: altNames.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })) },
    { name: 'subjectKeyIdentifier' },
  ]);
  const forgeKey = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
  cert.sign(forgeKey, forge.md.sha256.create());

  const certPem = forge.pki.certificateToPem(cert);
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  const fingerprint256 = createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
  return { key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), cert: certPem, fingerprint256 };
}
