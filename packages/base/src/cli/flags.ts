/**
 * The flags every beamgate program spells the same way (modelled on redis-cli/redis-server), as node:util
 * parseArgs option configs with their help lines, and the mapping of the TLS flags to certificate material.
 *
 *   client side  --tls --cacert FILE --cert FILE --key FILE --sni NAME --insecure --user NAME --pass PW --timeout
 *   server side  --tls (self-signed) | --cert FILE --key FILE, --cacert FILE (ask clients for a certificate)
 *   everywhere   --log-level LEVEL --config FILE --metrics HOST:PORT (servers) --help --version
 */
import { readFileSync } from 'node:fs';
import { UsageError } from './errors.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Placeholder in the help text, e.g. FILE. */
  arg?: string;
  help: string;
}

export const LOG_LEVEL_FLAG: Record<string, FlagSpec> = {
  'log-level': { type: 'string', arg: 'LEVEL', help: 'silent, error, warn, info or debug (default info; debug adds stack traces)' },
};

export const METRICS_FLAG: Record<string, FlagSpec> = {
  metrics: { type: 'string', arg: 'HOST:PORT', help: 'serve Prometheus /metrics and /healthz there (default off)' },
};

export const CONFIG_FLAG: Record<string, FlagSpec> = {
  config: { type: 'string', arg: 'FILE', help: 'JSON configuration file (flags win over it)' },
};

export const CLIENT_TLS_FLAGS: Record<string, FlagSpec> = {
  tls: { type: 'boolean', help: 'connect with TLS; the server certificate is verified' },
  cacert: { type: 'string', arg: 'FILE', help: "PEM CA certificate(s) to trust, e.g. a server's self-signed certificate (implies --tls)" },
  cert: { type: 'string', arg: 'FILE', help: 'PEM client certificate to present (with --key; implies --tls)' },
  key: { type: 'string', arg: 'FILE', help: 'PEM private key of --cert' },
  sni: { type: 'string', arg: 'NAME', help: 'name the server certificate must match (SNI); default the host (implies --tls)' },
  insecure: { type: 'boolean', help: 'do not verify the server certificate (tests only; implies --tls)' },
};

export const SERVER_TLS_FLAGS: Record<string, FlagSpec> = {
  tls: { type: 'boolean', help: 'serve TLS; without --cert, with a certificate generated at start (its path and fingerprint are logged)' },
  cert: { type: 'string', arg: 'FILE', help: 'serve TLS with this PEM certificate (with --key; implies --tls); reloaded on SIGHUP' },
  key: { type: 'string', arg: 'FILE', help: 'PEM private key of --cert' },
  cacert: { type: 'string', arg: 'FILE', help: 'ask TLS clients for a certificate signed by these PEM CAs (refused otherwise)' },
};

export const CLIENT_AUTH_FLAGS: Record<string, FlagSpec> = {
  user: { type: 'string', arg: 'NAME', help: 'authenticate as NAME (with --pass)' },
  pass: { type: 'string', arg: 'PASSWORD', help: 'password of --user (or of the default user)' },
};

/** The help lines of a set of flags, aligned as every program prints them. */
export function flagHelp(flags: Record<string, FlagSpec>, width = 30): string {
  return Object.entries(flags)
    .map(([k, o]) => {
      const flag = `${o.short ? `-${o.short}, ` : '    '}--${k}${o.arg ? ` ${o.arg}` : ''}`;
      return `  ${flag.padEnd(width)} ${o.help}`;
    })
    .join('\n');
}

/** parseArgs options from flag specs (drops the help text). */
export function parseArgsOptions(flags: Record<string, FlagSpec>): Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> {
  const out: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [k, o] of Object.entries(flags)) out[k] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  return out;
}

/**
 * Rewrite deprecated flag names to the current ones before parsing (`{ ca: 'cacert' }` turns `--ca F` and
 * `--ca=F` into `--cacert F`), up to a `--`. The old names keep working and are no longer in the help.
 */
export function renameFlags(argv: readonly string[], renames: Record<string, string>): string[] {
  const out: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') break;
    const m = /^--([^=]+)(=.*)?$/.exec(a);
    const to = m ? renames[m[1] as string] : undefined;
    out.push(to !== undefined ? `--${to}${m?.[2] ?? ''}` : a);
  }
  return out.concat(argv.slice(i));
}

/** Read a PEM file named by a flag; a missing file is a UsageError naming the flag. */
export function readPemFlag(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new UsageError(`--${flag}: cannot read ${file}: ${(e as Error).message}`, { hint: `give --${flag} a readable PEM file` });
  }
}

export interface ClientTlsValues {
  tls?: boolean | undefined;
  cacert?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  sni?: string | undefined;
  insecure?: boolean | undefined;
}

/** Client TLS material from the CLIENT_TLS_FLAGS; undefined when none of them is given. */
export function clientTlsFrom(v: ClientTlsValues): { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string; rejectUnauthorized?: boolean } | undefined {
  if ((v.cert === undefined) !== (v.key === undefined)) throw new UsageError('--cert and --key go together');
  const any = v.tls === true || v.cacert !== undefined || v.cert !== undefined || v.sni !== undefined || v.insecure === true;
  if (!any) return undefined;
  return {
    ...(v.cacert !== undefined ? { ca: readPemFlag('cacert', v.cacert) } : {}),
    ...(v.cert !== undefined && v.key !== undefined ? { cert: readPemFlag('cert', v.cert), key: readPemFlag('key', v.key) } : {}),
    ...(v.sni !== undefined ? { servername: v.sni } : {}),
    ...(v.insecure === true ? { rejectUnauthorized: false } : {}),
  };
}

export interface ServerTlsValues {
  tls?: boolean | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  cacert?: string | undefined;
}

export type ServerTlsChoice =
  | { kind: 'files'; certFile: string; keyFile: string; cert: Buffer; key: Buffer; ca?: Buffer }
  | { kind: 'self-signed'; ca?: Buffer };

/** Server TLS from the SERVER_TLS_FLAGS; undefined when TLS is not asked for. Read again on SIGHUP. */
export function serverTlsFrom(v: ServerTlsValues): ServerTlsChoice | undefined {
  if ((v.cert === undefined) !== (v.key === undefined)) throw new UsageError('--cert and --key go together');
  const ca = v.cacert !== undefined ? readPemFlag('cacert', v.cacert) : undefined;
  if (v.cert !== undefined && v.key !== undefined) {
    return { kind: 'files', certFile: v.cert, keyFile: v.key, cert: readPemFlag('cert', v.cert), key: readPemFlag('key', v.key), ...(ca ? { ca } : {}) };
  }
  if (v.tls === true) return { kind: 'self-signed', ...(ca ? { ca } : {}) };
  if (ca !== undefined) throw new UsageError('--cacert needs TLS', { hint: 'add --tls or --cert/--key' });
  return undefined;
}

/**
 * A users file (`--users-file`): one `NAME:PASSWORD` per line; blank lines and lines starting with `#` are
 * skipped. Read at start and again on SIGHUP, so users change without a restart.
 */
export function readUsersFile(flag: string, file: string): Array<[string, string]> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--${flag}: cannot read ${file}: ${(e as Error).message}`);
  }
  const out: Array<[string, string]> = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const l = line.trim();
    if (l === '' || l.startsWith('#')) return;
    const colon = l.indexOf(':');
    if (colon <= 0 || colon === l.length - 1) throw new UsageError(`--${flag}: ${file} line ${i + 1}: expected NAME:PASSWORD`);
    out.push([l.slice(0, colon), l.slice(colon + 1)]);
  });
  return out;
}

/**
 * A duration flag in seconds (every program's `--timeout`, `--wait`...), decimals allowed (`0.25`), as milliseconds.
 * Undefined when the flag is absent.
 */
export function secondsFlag(flag: string, text: string | undefined, range: { min?: number; max?: number } = {}): number | undefined {
  if (text === undefined) return undefined;
  const min = range.min ?? 0.001;
  const max = range.max ?? 2 ** 31 / 1000;
  const s = /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : NaN;
  if (!(s >= min && s <= max)) throw new UsageError(`--${flag} expects seconds in ${min}..${max}, got '${text}'`);
  return Math.round(s * 1000);
}
