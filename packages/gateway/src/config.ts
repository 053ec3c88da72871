/**
 * `beamgate serve` configuration: flags over environment over a JSON file over defaults (docs/gateway.md §6.1).
 * Every error names where the bad value came from.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';
import { isLogLevel, LOG_LEVELS, type LogLevel } from './log.js';
import { parseBeepTargets, resolveSecurityConfig, type SecurityFlags } from './security-config.js';
import { scaleContext, type ScaleFlags } from './scale-config.js';
import {
  DEFAULT_LIMITS, parseAddress, type AccessConfig, type Address, type AuthThrottleConfig, type ContextConfig, type GatewayConfig,
  type GatewayLimits, type SaslConfig, type SecurityConfig, type TlsConfig,
} from './config-types.js';

export * from './config-types.js';

const THROTTLE_KEYS = ['freeFailures', 'baseLockoutMs', 'maxLockoutMs', 'forgetAfterMs', 'maxEntries'] as const;

function parseAuthThrottle(v: unknown, source: string): AuthThrottleConfig | false {
  if (v === false) return false;
  if (!isObject(v)) throw new ConfigError(`${source}: expected false or an object`);
  onlyKeys(v, THROTTLE_KEYS, source);
  const out: AuthThrottleConfig = {};
  for (const k of THROTTLE_KEYS) {
    if (v[k] === undefined) continue;
    const n = nonNegativeInt(v[k], `${source}.${k}`, 2 ** 31);
    if (n === 0 && k !== 'freeFailures') throw new ConfigError(`${source}.${k}: must be at least 1`);
    out[k] = n;
  }
  return out;
}

/** Raw `serve` flag values as node:util parseArgs returns them. */
export interface ServeFlags extends SecurityFlags, ScaleFlags {
  beep?: string;
  resp?: string;
  context?: string;
  exec?: string;
  config?: string;
  metrics?: string;
  'log-level'?: string;
}

export const DEFAULT_BEEP = '127.0.0.1:10288';
/** 6381: `beam serve` keeps 6380 (Redis' 6379 + 1), so the two run side by side. */
export const DEFAULT_RESP = '127.0.0.1:6381';

export const ENV_NAMES = {
  beep: 'BEAMGATE_BEEP',
  resp: 'BEAMGATE_RESP',
  context: 'BEAMGATE_CONTEXT',
  exec: 'BEAMGATE_EXEC',
  config: 'BEAMGATE_CONFIG',
  metrics: 'BEAMGATE_METRICS',
  logLevel: 'BEAMGATE_LOG_LEVEL',
} as const;

const FILE_KEYS = ['beep', 'resp', 'context', 'exec', 'metrics', 'logLevel', 'shutdownTimeoutMs', 'limits', 'tls', 'sasl', 'require', 'access', 'respTls', 'contextCa', 'allowBeepTargets', 'authThrottle'] as const;
const PROGRAM = /^[A-Za-z0-9._+-]{1,255}$/;

function parseOptionalAddress(value: string, source: string): Address | null {
  return value.trim().toLowerCase() === 'off' ? null : parseAddress(value, source);
}

/** `embedded`, or `redis://HOST[:PORT][/DB]` (also `beam://`, same meaning; `rediss://` for TLS). */
export function parseContext(value: string, source: string): ContextConfig {
  const v = value.trim();
  if (v === 'embedded') return { kind: 'embedded' };
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new ConfigError(`${source}: expected 'embedded' or redis://HOST:PORT, got '${value}'`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:' && url.protocol !== 'beam:') {
    throw new ConfigError(`${source}: unsupported context scheme '${url.protocol}' (use redis://HOST:PORT or rediss://HOST:PORT)`);
  }
  if (!url.hostname) throw new ConfigError(`${source}: context URL needs a host`);
  const port = url.port === '' ? 6379 : Number(url.port);
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^(?:[0-9]|1[0-5])$/.test(path)) throw new ConfigError(`${source}: database must be 0..15, got '${path}'`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { kind: 'remote', url: v, host, port, db: path === '' ? 0 : Number(path), ...(url.protocol === 'rediss:' ? { tls: true as const } : {}) };
}

function parseExecList(value: string | unknown[], source: string): string[] {
  const names = typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter((s) => s !== '') : value;
  const out: string[] = [];
  for (const n of names) {
    if (typeof n !== 'string' || !PROGRAM.test(n)) throw new ConfigError(`${source}: bad program name ${JSON.stringify(n)}`);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

function parseLevel(value: string, source: string): LogLevel {
  const v = value.trim().toLowerCase();
  if (!isLogLevel(v)) throw new ConfigError(`${source}: log level must be one of ${LOG_LEVELS.join(', ')}, got '${value}'`);
  return v;
}

function nonNegativeInt(value: unknown, source: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new ConfigError(`${source}: expected an integer 0..${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function parseLimits(value: unknown, source: string): GatewayLimits {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`${source}: expected an object`);
  const out: GatewayLimits = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(value)) {
    if (!(k in DEFAULT_LIMITS)) throw new ConfigError(`${source}.${k}: unknown limit (known: ${Object.keys(DEFAULT_LIMITS).join(', ')})`);
    const n = nonNegativeInt(v, `${source}.${k}`);
    if (n === 0) throw new ConfigError(`${source}.${k}: must be at least 1`);
    out[k as keyof GatewayLimits] = n;
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(v: Record<string, unknown>, keys: readonly string[], source: string): void {
  for (const k of Object.keys(v)) if (!keys.includes(k)) throw new ConfigError(`${source}.${k}: unknown key (known: ${keys.join(', ')})`);
}

function bool(v: unknown, source: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new ConfigError(`${source}: expected true or false`);
  return v;
}

function parseTls(v: unknown, source: string): TlsConfig {
  if (!isObject(v)) throw new ConfigError(`${source}: expected an object`);
  onlyKeys(v, ['certFile', 'keyFile', 'selfSigned', 'handshakeTimeoutMs', 'clientCaFile'], source);
  const ca = v['clientCaFile'];
  if (ca !== undefined && typeof ca !== 'string') throw new ConfigError(`${source}.clientCaFile: expected a PEM path`);
  const hs = {
    ...(v['handshakeTimeoutMs'] === undefined ? {} : { handshakeTimeoutMs: nonNegativeInt(v['handshakeTimeoutMs'], `${source}.handshakeTimeoutMs`) }),
    ...(ca === undefined ? {} : { clientCaFile: ca }),
  };
  if (v['selfSigned'] === true) {
    if (v['certFile'] !== undefined || v['keyFile'] !== undefined) throw new ConfigError(`${source}: selfSigned excludes certFile/keyFile`);
    return { selfSigned: true, ...hs };
  }
  const cert = v['certFile'];
  const key = v['keyFile'];
  if (typeof cert !== 'string' || typeof key !== 'string') throw new ConfigError(`${source}: needs certFile and keyFile (PEM paths), or selfSigned: true`);
  return { certFile: cert, keyFile: key, ...hs };
}

function parseSasl(v: unknown, source: string): SaslConfig {
  if (!isObject(v)) throw new ConfigError(`${source}: expected an object`);
  onlyKeys(v, ['users', 'allowCleartext', 'allowAnonymous'], source);
  const users = v['users'] ?? [];
  if (!Array.isArray(users) || users.some((u) => typeof u !== 'string' || !/^[^:]+:.+$/.test(u))) {
    throw new ConfigError(`${source}.users: expected an array of "user:password" strings`);
  }
  const out: SaslConfig = { users: users as string[] };
  const c = bool(v['allowCleartext'], `${source}.allowCleartext`);
  const a = bool(v['allowAnonymous'], `${source}.allowAnonymous`);
  if (c !== undefined) out.allowCleartext = c;
  if (a !== undefined) out.allowAnonymous = a;
  return out;
}

function parseRequire(v: unknown, source: string): { tls?: boolean; sasl?: boolean } {
  if (!isObject(v)) throw new ConfigError(`${source}: expected an object`);
  onlyKeys(v, ['tls', 'sasl'], source);
  const out: { tls?: boolean; sasl?: boolean } = {};
  const t = bool(v['tls'], `${source}.tls`);
  const s = bool(v['sasl'], `${source}.sasl`);
  if (t !== undefined) out.tls = t;
  if (s !== undefined) out.sasl = s;
  return out;
}

function parseAccess(v: unknown, source: string): AccessConfig {
  if (!isObject(v)) throw new ConfigError(`${source}: expected an object of identity -> [job names]`);
  const out: AccessConfig = {};
  for (const [k, names] of Object.entries(v)) {
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string' || n === '')) {
      throw new ConfigError(`${source}.${k}: expected an array of job handler names (or "*")`);
    }
    out[k] = names as string[];
  }
  return out;
}

function fileTargets(v: unknown, source: string): string[] {
  if (typeof v === 'string') return parseBeepTargets([v], source);
  if (!Array.isArray(v) || v.some((t) => typeof t !== 'string')) throw new ConfigError(`${source}: expected an array of "HOST:PORT" strings`);
  return parseBeepTargets(v as string[], source);
}

export interface LoadConfigOptions {
  flags?: ServeFlags;
  env?: Record<string, string | undefined>;
  /** Reads the config file; default fs.readFileSync as UTF-8. */
  readFile?: (path: string) => string;
}

function readConfigFile(path: string, source: string, readFile: (p: string) => string): Record<string, unknown> {
  let text: string;
  try {
    text = readFile(path);
  } catch (cause) {
    throw new ConfigError(`${source}: cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError(`${path}: not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new ConfigError(`${path}: expected a JSON object`);
  for (const k of Object.keys(data)) {
    if (!(FILE_KEYS as readonly string[]).includes(k)) throw new ConfigError(`${path}: unknown key '${k}' (known: ${FILE_KEYS.join(', ')})`);
  }
  return data as Record<string, unknown>;
}

/** Resolves the configuration; throws ConfigError with the source of the first bad value. */
export function loadConfig(options: LoadConfigOptions = {}): GatewayConfig {
  const flags = options.flags ?? {};
  const env = options.env ?? {};
  const envOf = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const configPath = flags.config ?? envOf(ENV_NAMES.config);
  const configSource = flags.config !== undefined ? '--config' : ENV_NAMES.config;
  const file = configPath === undefined ? {} : readConfigFile(configPath, configSource, options.readFile ?? ((p) => readFileSync(p, 'utf8')));
  const sources: Record<string, string> = {};

  /** The first defined of flag, env, file; the file value must be a string unless `allowArray`. */
  const pick = (
    key: keyof typeof ENV_NAMES & keyof typeof file,
    flag: string | undefined,
    flagName: string,
    allowArray = false,
  ): { value: string | unknown[]; source: string } | undefined => {
    if (flag !== undefined) return { value: flag, source: flagName };
    const e = envOf(ENV_NAMES[key]);
    if (e !== undefined) return { value: e, source: ENV_NAMES[key] };
    const f = file[key];
    if (f === undefined || f === null) {
      if (f === null && key !== 'exec') return { value: 'off', source: `${configPath}: ${key}` };
      return undefined;
    }
    if (typeof f === 'string' || (allowArray && Array.isArray(f))) return { value: f as string | unknown[], source: `${configPath}: ${key}` };
    throw new ConfigError(`${configPath}: ${key} must be a string${allowArray ? ' or an array' : ''}`);
  };
  const str = (p: { value: string | unknown[]; source: string }): string => p.value as string;

  const contextPick = pick('context', flags.context, '--context');
  const { context, worker } = scaleContext(contextPick ? parseContext(str(contextPick), contextPick.source) : { kind: 'embedded' as const }, flags, envOf);
  sources['context'] = contextPick?.source ?? 'default';

  const beepPick = pick('beep', flags.beep, '--beep');
  const beep = parseAddress(beepPick ? str(beepPick) : DEFAULT_BEEP, beepPick?.source ?? 'default');
  sources['beep'] = beepPick?.source ?? 'default';

  const respPick = pick('resp', flags.resp, '--resp');
  let resp: Address | null;
  if (respPick) {
    resp = parseOptionalAddress(str(respPick), respPick.source);
    if (resp && context.kind === 'remote') {
      throw new ConfigError(`${respPick.source}: the RESP listener needs the embedded context (clients reach a remote context directly)`);
    }
  } else resp = context.kind === 'embedded' ? parseAddress(DEFAULT_RESP, 'default') : null;
  sources['resp'] = respPick?.source ?? 'default';

  const execPick = pick('exec', flags.exec, '--exec', true);
  const exec = execPick ? parseExecList(execPick.value, execPick.source) : [];
  sources['exec'] = execPick?.source ?? 'default';

  const metricsPick = pick('metrics', flags.metrics, '--metrics');
  const metrics = metricsPick ? parseOptionalAddress(str(metricsPick), metricsPick.source) : null;
  sources['metrics'] = metricsPick?.source ?? 'default';

  const levelPick = pick('logLevel', flags['log-level'], '--log-level');
  const logLevel = levelPick ? parseLevel(str(levelPick), levelPick.source) : 'info';
  sources['logLevel'] = levelPick?.source ?? 'default';

  const shutdownTimeoutMs =
    file['shutdownTimeoutMs'] === undefined ? 10_000 : nonNegativeInt(file['shutdownTimeoutMs'], `${configPath}: shutdownTimeoutMs`, 3_600_000);
  const limits = file['limits'] === undefined ? { ...DEFAULT_LIMITS } : parseLimits(file['limits'], `${configPath}: limits`);

  const fileSecurity: SecurityConfig = {};
  if (file['tls'] !== undefined) fileSecurity.tls = parseTls(file['tls'], `${configPath}: tls`);
  if (file['sasl'] !== undefined) fileSecurity.sasl = parseSasl(file['sasl'], `${configPath}: sasl`);
  if (file['require'] !== undefined) fileSecurity.require = parseRequire(file['require'], `${configPath}: require`);
  if (fileSecurity.require?.tls && !fileSecurity.tls) throw new ConfigError(`${configPath}: require.tls needs tls`);
  if (fileSecurity.require?.sasl && !fileSecurity.sasl) throw new ConfigError(`${configPath}: require.sasl needs sasl`);
  const fileString = (key: string): string | undefined => {
    const v = file[key];
    if (v !== undefined && typeof v !== 'string') throw new ConfigError(`${configPath}: ${key} must be a string`);
    return v;
  };
  const sec = resolveSecurityConfig(flags, envOf, {
    security: fileSecurity,
    access: file['access'] === undefined ? undefined : parseAccess(file['access'], `${configPath}: access`),
    respTls: bool(file['respTls'], `${configPath}: respTls`),
    contextCa: fileString('contextCa'),
    allowBeepTargets: file['allowBeepTargets'] === undefined ? undefined : fileTargets(file['allowBeepTargets'], `${configPath}: allowBeepTargets`),
    source: configPath ?? 'config',
  });
  Object.assign(sources, sec.sources);
  const { security, access, respTls } = sec;
  if (respTls && !resp) throw new ConfigError(`${sources['respTls']}: there is no RESP listener to secure (--resp is off)`);
  if (sec.contextCa !== undefined) {
    if (context.kind !== 'remote' || !context.tls) throw new ConfigError(`${sources['contextCa']}: a context CA needs a rediss:// context`);
    let ca: string;
    try {
      ca = (options.readFile ?? ((p) => readFileSync(p, 'utf8')))(sec.contextCa);
    } catch (cause) {
      throw new ConfigError(`${sources['contextCa']}: cannot read ${sec.contextCa}: ${(cause as Error).message}`, { cause });
    }
    context.tls = { ca };
  }

  const authThrottle = file['authThrottle'] === undefined ? undefined : parseAuthThrottle(file['authThrottle'], `${configPath}: authThrottle`);
  return { beep, resp, context, exec, metrics, logLevel, shutdownTimeoutMs, limits, security, access, respTls, allowBeepTargets: sec.allowBeepTargets, authThrottle, worker, sources };
}
