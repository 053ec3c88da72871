/**
 * The gateway certificate as a file clients can trust (`beamgate run --tls --ca PATH`, `redis-cli --tls --cacert
 * PATH`): a generated one is written to a private temporary directory (certificate only, never the key) and
 * removed at shutdown; a configured one is its own file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TlsMaterial } from '../tls-material.js';

export interface PublishedCertificate {
  path: string;
  fingerprint256: string;
  remove(): void;
}

export function publishCertificate(m: TlsMaterial): PublishedCertificate {
  if (!m.selfSigned && m.certFile !== undefined) return { path: m.certFile, fingerprint256: m.fingerprint256, remove() {} };
  const dir = mkdtempSync(join(tmpdir(), 'beamgate-tls-'));
  const path = join(dir, 'cert.pem');
  writeFileSync(path, m.cert, { mode: 0o644 });
  return { path, fingerprint256: m.fingerprint256, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
