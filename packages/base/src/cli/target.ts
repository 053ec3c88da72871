/**
 * Targets on the command line: `beep://HOST:PORT`, `beeps://HOST:PORT` (TLS first), `redis://[USER:PASS@]HOST:PORT[/DB]`,
 * `rediss://...` (TLS), `unix:/path` or `unix:///path`, or plain `HOST:PORT`, `[v6]:PORT`, `:PORT` and `PORT`.
 */
import { UsageError } from './errors.js';

export type TargetScheme = 'beep' | 'beeps' | 'redis' | 'rediss';

export type Target =
  | { kind: 'tcp'; scheme: TargetScheme | undefined; host: string; port: number; tls: boolean; user?: string; pass?: string; db?: number }
  | { kind: 'unix'; path: string };

export interface TargetOptions {
  /** Port when the text names none (a URL without a port). */
  defaultPort?: number;
  /** Host when `:PORT` or `PORT` is given (default 127.0.0.1). */
  defaultHost?: string;
  /** URL schemes this program speaks (default all). */
  schemes?: readonly TargetScheme[];
  /** Flag or argument the text came from, for the error message. */
  what?: string;
}

function port(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n > 65535) throw new UsageError(`${what}: bad port ${JSON.stringify(text)} (0..65535)`);
  return n;
}

/** `HOST:PORT`, `[::1]:PORT`, `:PORT` or `PORT`. */
export function parseHostPort(text: string, what = 'address', defaultHost = '127.0.0.1'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  if (!m) throw new UsageError(`${what}: expected HOST:PORT, got ${JSON.stringify(text)}`);
  return { host: m[1] || m[2] || defaultHost, port: port(m[3] as string, what) };
}

export function parseTarget(text: string, options: TargetOptions = {}): Target {
  const what = options.what ?? 'target';
  const schemes = options.schemes ?? ['beep', 'beeps', 'redis', 'rediss'];
  if (text.startsWith('unix:')) {
    const path = text.replace(/^unix:(\/\/)?/, '');
    if (!path) throw new UsageError(`${what}: unix: needs a path (unix:/run/beamgate.sock)`);
    return { kind: 'unix', path };
  }
  const scheme = /^([a-z]+):\/\//.exec(text)?.[1];
  if (scheme === undefined) {
    const hp = parseHostPort(text, what, options.defaultHost);
    return { kind: 'tcp', scheme: undefined, ...hp, tls: false };
  }
  if (!(schemes as readonly string[]).includes(scheme)) {
    throw new UsageError(`${what}: unsupported scheme ${scheme}:// (use ${schemes.map((s) => `${s}://`).join(', ')}, unix: or HOST:PORT)`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${what}: not a URL: ${JSON.stringify(text)}`);
  }
  const p = url.port ? port(url.port, what) : options.defaultPort;
  if (p === undefined) throw new UsageError(`${what}: ${JSON.stringify(text)} names no port`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || options.defaultHost || '127.0.0.1';
  const t: Target = { kind: 'tcp', scheme: scheme as TargetScheme, host, port: p, tls: scheme === 'beeps' || scheme === 'rediss' };
  if (url.username) t.user = decodeURIComponent(url.username);
  if (url.password) t.pass = decodeURIComponent(url.password);
  const db = url.pathname.replace(/^\//, '');
  if (db) {
    if (!/^\d+$/.test(db)) throw new UsageError(`${what}: bad database ${JSON.stringify(db)}`);
    t.db = Number(db);
  }
  return t;
}

/** The target as text for logs, without a password. */
export function formatTarget(t: Target): string {
  if (t.kind === 'unix') return `unix:${t.path}`;
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `${t.scheme ? `${t.scheme}://` : ''}${t.user ? `${t.user}@` : ''}${host}:${t.port}${t.db !== undefined ? `/${t.db}` : ''}`;
}
