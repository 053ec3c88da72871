import { BeamOptionError } from '../errors.js';
import { BeamConnectionError } from './errors.js';

export type BeamTarget = { host?: string; port?: number } | { path: string } | { url: string };

/** `tls`: the URL asked for TLS (`rediss://`). */
export type ResolvedTarget =
  | { kind: 'tcp'; host: string; port: number; username?: string; password?: string; tls?: boolean }
  | { kind: 'unix'; path: string; username?: string; password?: string; tls?: boolean };

export const DEFAULT_PORT = 6380;

/**
 * Accepts `{ host, port }`, `{ path }` or `{ url }` with `redis://[[user]:password@]host[:port]`,
 * `rediss://...` (TLS), `unix:/path` or `unix:///path`.
 */
export function resolveTarget(t: BeamTarget): ResolvedTarget {
  if (typeof t !== 'object' || t === null) throw new BeamOptionError(`a target is { host, port }, { path } or { url }, got ${String(t)}`);
  if ('path' in t) return { kind: 'unix', path: t.path };
  if ('url' in t) return parseUrl(t.url);
  return { kind: 'tcp', host: t.host ?? '127.0.0.1', port: t.port ?? DEFAULT_PORT };
}

function parseUrl(text: string): ResolvedTarget {
  if (text.startsWith('unix:')) {
    const path = text.startsWith('unix://') ? text.slice(7) : text.slice(5);
    if (!path.startsWith('/')) throw new BeamConnectionError(`bad unix URL ${text}: expected unix:/path`, 'BEAM_BAD_URL');
    return { kind: 'unix', path: decodeURIComponent(path) };
  }
  let u: URL;
  try {
    u = new URL(text);
  } catch (e) {
    throw new BeamConnectionError(`bad URL ${text}`, 'BEAM_BAD_URL', { cause: e });
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:' && u.protocol !== 'beam:') {
    throw new BeamConnectionError(`unsupported URL scheme ${u.protocol} (use redis://host:port, rediss://host:port or unix:/path)`, 'BEAM_BAD_URL');
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const port = u.port ? Number(u.port) : DEFAULT_PORT;
  const r: ResolvedTarget = { kind: 'tcp', host, port };
  if (u.password) r.password = decodeURIComponent(u.password);
  if (u.username && u.password) r.username = decodeURIComponent(u.username);
  if (u.protocol === 'rediss:') r.tls = true;
  return r;
}
