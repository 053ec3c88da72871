/**
 * TLS flags of `beam serve` (`--tls-cert F --tls-key F` or `--tls-self-signed`) and `beam run`
 * (`--tls --cacert F --sni NAME --insecure`, named as redis-cli's).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BeamClientTlsOptions } from '../client/socket.js';
import { generateSelfSigned, type BeamServerTlsOptions } from '../server/tls.js';
import { UsageError } from './serve.js';

export const SERVE_TLS_OPTIONS = {
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-self-signed': { type: 'boolean', default: false },
} as const;

export const RUN_TLS_OPTIONS = {
  tls: { type: 'boolean', default: false },
  cacert: { type: 'string' },
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

function readPem(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new UsageError(`${flag}: cannot read ${file}: ${(e as Error).message}`);
  }
}

/** `--tls-*` of `beam serve`; undefined when TLS is not asked for. */
export function serverTlsFrom(values: { 'tls-cert'?: string; 'tls-key'?: string; 'tls-self-signed'?: boolean }): ServerTls | undefined {
  const certFile = values['tls-cert'];
  const keyFile = values['tls-key'];
  if ((certFile === undefined) !== (keyFile === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if (certFile !== undefined && keyFile !== undefined) {
    if (values['tls-self-signed']) throw new UsageError('use either --tls-self-signed or --tls-cert/--tls-key');
    return { options: { cert: readPem('--tls-cert', certFile), key: readPem('--tls-key', keyFile) }, certFile, cleanup() {} };
  }
  if (!values['tls-self-signed']) return undefined;
  const made = generateSelfSigned();
  // Only the certificate is written (for clients to trust); the key stays in memory.
  const dir = mkdtempSync(join(tmpdir(), 'beam-tls-'));
  const path = join(dir, 'cert.pem');
  writeFileSync(path, made.cert, { mode: 0o644 });
  return {
    options: { cert: made.cert, key: made.key },
    certFile: path,
    fingerprint256: made.fingerprint256,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `--tls --cacert --sni --insecure` of `beam run`; undefined leaves TLS to the URL (`rediss://`). */
export function clientTlsFrom(values: { tls?: boolean; cacert?: string; sni?: string; insecure?: boolean }): BeamClientTlsOptions | undefined {
  const extra = values.cacert !== undefined || values.sni !== undefined || values.insecure === true;
  if (!values.tls && !extra) return undefined;
  return {
    ...(values.cacert !== undefined ? { ca: readPem('--cacert', values.cacert) } : {}),
    ...(values.sni !== undefined ? { servername: values.sni } : {}),
    ...(values.insecure ? { rejectUnauthorized: false } : {}),
  };
}
