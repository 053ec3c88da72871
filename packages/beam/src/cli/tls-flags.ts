/**
 * TLS flags of `beam serve` (`--tls` for a generated certificate, or `--cert F --key F`, `--cacert F` to ask
 * clients for a certificate) and of `beam run` (`--tls --cacert F --cert F --key F --sni NAME --insecure`, as
 * redis-cli): the names every beamgate program uses (@beamgate/base SERVER_TLS_FLAGS / CLIENT_TLS_FLAGS).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientTlsFrom as baseClientTls, serverTlsFrom as baseServerTls, type ClientTlsValues, type ServerTlsValues } from '@beamgate/base';
import type { BeamClientTlsOptions } from '../client/socket.js';
import { generateSelfSigned, type BeamServerTlsOptions } from '../server/tls.js';

/** The names `beam serve` had before they were shared with beep and beamgate; still accepted. */
export const SERVE_TLS_RENAMES: Record<string, string> = { 'tls-cert': 'cert', 'tls-key': 'key', 'tls-self-signed': 'tls' };

export const SERVE_TLS_OPTIONS = {
  tls: { type: 'boolean', default: false },
  cert: { type: 'string' },
  key: { type: 'string' },
  cacert: { type: 'string' },
} as const;

export const RUN_TLS_OPTIONS = {
  tls: { type: 'boolean', default: false },
  cacert: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  sni: { type: 'string' },
  insecure: { type: 'boolean', default: false },
} as const;

export interface ServerTls {
  options: BeamServerTlsOptions;
  /** For the log: the certificate clients can trust (`redis-cli --tls --cacert PATH`), and its fingerprint. */
  certFile: string;
  fingerprint256?: string;
  /** Removes a generated certificate's temporary file. */
  cleanup(): void;
}

/** The TLS flags of `beam serve`; undefined when TLS is not asked for. Called again on SIGHUP. */
export function serverTlsFrom(values: ServerTlsValues): ServerTls | undefined {
  const choice = baseServerTls(values);
  if (choice === undefined) return undefined;
  const clientCa = choice.ca !== undefined ? { ca: choice.ca, requestCert: true } : {};
  if (choice.kind === 'files') return { options: { cert: choice.cert, key: choice.key, ...clientCa }, certFile: choice.certFile, cleanup() {} };
  const made = generateSelfSigned();
  // Only the certificate is written (for clients to trust); the key stays in memory.
  const dir = mkdtempSync(join(tmpdir(), 'beam-tls-'));
  const path = join(dir, 'cert.pem');
  writeFileSync(path, made.cert, { mode: 0o644 });
  return {
    options: { cert: made.cert, key: made.key, ...clientCa },
    certFile: path,
    fingerprint256: made.fingerprint256,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The TLS flags of `beam run`; undefined leaves TLS to the URL (`rediss://`). */
export function clientTlsFrom(values: ClientTlsValues): BeamClientTlsOptions | undefined {
  return baseClientTls(values);
}
