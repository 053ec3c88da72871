/**
 * The gateway's certificate, resolved once at start: read from PEM files or generated (self-signed), then used by
 * the BEEP listener's TLS profile and, with `respTls`, by the RESP listener.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { generateSelfSigned } from '@beamgate/base';
import type { TlsConfig } from './config-types.js';
import { ConfigError } from './errors.js';

export interface TlsMaterial {
  key: string | Buffer;
  /** PEM certificate (chain). */
  cert: string | Buffer;
  /** SHA-256 fingerprint of the (first) certificate, colon-separated hex. */
  fingerprint256: string;
  /** Generated at start: clients need this certificate (or its fingerprint) to trust the gateway. */
  selfSigned: boolean;
  /** The configured certificate file, if any. */
  certFile?: string;
  handshakeTimeoutMs?: number;
  /** PEM CA(s) client certificates must be signed by (TlsConfig.clientCaFile); absent: no client certificate asked. */
  clientCa?: Buffer;
}

export function loadTlsMaterial(tls: TlsConfig): TlsMaterial {
  const hs = {
    ...(tls.handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs: tls.handshakeTimeoutMs }),
    ...(tls.clientCaFile === undefined ? {} : { clientCa: readClientCa(tls.clientCaFile) }),
  };
  if ('selfSigned' in tls) {
    const made = generateSelfSigned();
    return { key: made.key, cert: made.cert, fingerprint256: made.fingerprint256, selfSigned: true, ...hs };
  }
  let key: Buffer;
  let cert: Buffer;
  try {
    cert = readFileSync(tls.certFile);
    key = readFileSync(tls.keyFile);
  } catch (cause) {
    throw new ConfigError(`tls: cannot read the certificate or key: ${(cause as Error).message}`, { cause });
  }
  let fingerprint256: string;
  try {
    fingerprint256 = new X509Certificate(cert).fingerprint256;
  } catch (cause) {
    throw new ConfigError(`tls: ${tls.certFile} is not a PEM certificate: ${(cause as Error).message}`, { cause });
  }
  return { key, cert, fingerprint256, selfSigned: false, certFile: tls.certFile, ...hs };
}

function readClientCa(file: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (cause) {
    throw new ConfigError(`tls: cannot read the client CA: ${(cause as Error).message}`, { cause });
  }
  try {
    new X509Certificate(pem);
  } catch (cause) {
    throw new ConfigError(`tls: ${file} is not a PEM certificate: ${(cause as Error).message}`, { cause });
  }
  return pem;
}
