/**
 * The security part of `beamgate serve`'s configuration from flags and environment (docs/gateway.md §6.1),
 * layered over the config file's `tls`, `sasl`, `require`, `access` and `respTls`: each setting is taken from
 * the first of flag, environment, file that gives it.
 */
import type { AccessConfig, SaslConfig, SecurityConfig, TlsConfig } from './config-types.js';
import { ConfigError } from './errors.js';

/** `serve` flags of this part (node:util parseArgs values). */
export interface SecurityFlags {
  'tls-self-signed'?: boolean;
  'tls-cert'?: string;
  'tls-key'?: string;
  'tls-client-ca'?: string;
  'sasl-user'?: string[];
  'require-tls'?: boolean;
  'require-sasl'?: boolean;
  'allow-cleartext'?: boolean;
  'allow-anonymous'?: boolean;
  'resp-tls'?: boolean;
  access?: string[];
  'context-ca'?: string;
  'allow-beep-targets'?: string[];
}

export const SECURITY_ENV = {
  tlsSelfSigned: 'BEAMGATE_TLS_SELF_SIGNED',
  tlsCert: 'BEAMGATE_TLS_CERT',
  tlsKey: 'BEAMGATE_TLS_KEY',
  tlsClientCa: 'BEAMGATE_TLS_CLIENT_CA',
  saslUsers: 'BEAMGATE_SASL_USERS',
  requireTls: 'BEAMGATE_REQUIRE_TLS',
  requireSasl: 'BEAMGATE_REQUIRE_SASL',
  allowCleartext: 'BEAMGATE_ALLOW_CLEARTEXT',
  allowAnonymous: 'BEAMGATE_ALLOW_ANONYMOUS',
  respTls: 'BEAMGATE_RESP_TLS',
  access: 'BEAMGATE_ACCESS',
  contextCa: 'BEAMGATE_CONTEXT_CA',
  allowBeepTargets: 'BEAMGATE_ALLOW_BEEP_TARGETS',
} as const;

/** node:util parseArgs option specs of the flags above. */
export const SECURITY_FLAG_OPTIONS = {
  'tls-self-signed': { type: 'boolean' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-client-ca': { type: 'string' },
  'sasl-user': { type: 'string', multiple: true },
  'require-tls': { type: 'boolean' },
  'require-sasl': { type: 'boolean' },
  'allow-cleartext': { type: 'boolean' },
  'allow-anonymous': { type: 'boolean' },
  'resp-tls': { type: 'boolean' },
  access: { type: 'string', multiple: true },
  'context-ca': { type: 'string' },
  'allow-beep-targets': { type: 'string', multiple: true },
} as const;

export const SECURITY_FLAG_NAMES = Object.keys(SECURITY_FLAG_OPTIONS) as Array<keyof SecurityFlags>;

/** What the file gave (already validated by config.ts). */
export interface FileSecurity {
  security: SecurityConfig;
  access: AccessConfig | undefined;
  respTls: boolean | undefined;
  contextCa: string | undefined;
  allowBeepTargets: string[] | undefined;
  /** e.g. `config.json` for messages. */
  source: string;
}

export interface ResolvedSecurity {
  security: SecurityConfig;
  access: AccessConfig | undefined;
  respTls: boolean;
  /** Path of a PEM CA bundle to trust for a `rediss://` context. */
  contextCa: string | undefined;
  /** BEEP peers (`HOST:PORT`, or `*`) the `beep` job handler may reach; empty: none. */
  allowBeepTargets: string[];
  sources: Record<string, string>;
}

type EnvOf = (name: string) => string | undefined;

function envBool(envOf: EnvOf, name: string): boolean | undefined {
  const v = envOf(name);
  if (v === undefined) return undefined;
  const t = v.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(t)) return true;
  if (['0', 'false', 'no', 'off'].includes(t)) return false;
  throw new ConfigError(`${name}: expected 1/true or 0/false, got '${v}'`);
}

function checkUsers(users: string[], source: string): string[] {
  for (const u of users) if (!/^[^:]+:.+$/.test(u)) throw new ConfigError(`${source}: expected NAME:PASSWORD, got '${u.split(':')[0]}...'`);
  return users;
}

/** `ID=JOB[,JOB...]` (ID `*`: any authenticated identity; empty ID: sessions without one). */
export function parseAccessSpecs(specs: readonly string[], source: string): AccessConfig {
  const out: AccessConfig = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq < 0) throw new ConfigError(`${source}: expected IDENTITY=JOB[,JOB...], got '${spec}'`);
    const jobs = spec.slice(eq + 1).split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (jobs.length === 0) throw new ConfigError(`${source}: no job names in '${spec}'`);
    const id = spec.slice(0, eq).trim();
    out[id] = [...(out[id] ?? []), ...jobs];
  }
  return out;
}

/** `HOST:PORT[,HOST:PORT...]` (each value may hold several, comma-separated), or `*`. */
export function parseBeepTargets(values: readonly string[], source: string): string[] {
  const out: string[] = [];
  for (const t of values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '')) {
    if (t !== '*' && !/^(?:\[[0-9A-Fa-f:.]+\]|[^:[\]\s/]+):[0-9]{1,5}$/.test(t)) throw new ConfigError(`${source}: expected HOST:PORT or *, got '${t}'`);
    if (t !== '*' && Number(t.slice(t.lastIndexOf(':') + 1)) > 65535) throw new ConfigError(`${source}: port out of range in '${t}'`);
    if (!out.includes(t)) out.push(t);
  }
  return out;
}

interface Picked<T> {
  value: T;
  source: string;
}

/** The first defined of flag, env, file. */
function first<T>(...c: Array<Picked<T | undefined>>): Picked<T> | undefined {
  for (const p of c) if (p.value !== undefined) return p as Picked<T>;
  return undefined;
}

function tlsFromFlagsOrEnv(flags: SecurityFlags, envOf: EnvOf): Picked<TlsConfig> | undefined {
  const fromPair = (cert: string | undefined, key: string | undefined, self: boolean | undefined, names: [string, string, string]): TlsConfig | undefined => {
    if ((cert === undefined) !== (key === undefined)) throw new ConfigError(`${names[0]} and ${names[1]} go together`);
    if (cert !== undefined && key !== undefined) {
      if (self) throw new ConfigError(`use either ${names[2]} or ${names[0]}/${names[1]}`);
      return { certFile: cert, keyFile: key };
    }
    return self ? { selfSigned: true } : undefined;
  };
  const flag = fromPair(flags['tls-cert'], flags['tls-key'], flags['tls-self-signed'], ['--tls-cert', '--tls-key', '--tls-self-signed']);
  if (flag) return { value: flag, source: flags['tls-self-signed'] ? '--tls-self-signed' : '--tls-cert' };
  const self = envBool(envOf, SECURITY_ENV.tlsSelfSigned);
  const env = fromPair(envOf(SECURITY_ENV.tlsCert), envOf(SECURITY_ENV.tlsKey), self, [SECURITY_ENV.tlsCert, SECURITY_ENV.tlsKey, SECURITY_ENV.tlsSelfSigned]);
  if (env) return { value: env, source: self ? SECURITY_ENV.tlsSelfSigned : SECURITY_ENV.tlsCert };
  return undefined;
}

/** Layers flags and environment over the file's security settings and checks the combination. */
export function resolveSecurityConfig(flags: SecurityFlags, envOf: EnvOf, file: FileSecurity): ResolvedSecurity {
  const sources: Record<string, string> = {};
  const src = (key: string): string => `${file.source}: ${key}`;
  const fileSec = file.security;

  // TLS: one source for the certificate; the file's handshakeTimeoutMs is kept under a flag's certificate.
  let tls: TlsConfig | undefined = fileSec.tls;
  const tlsOver = tlsFromFlagsOrEnv(flags, envOf);
  if (tlsOver) {
    const hs = fileSec.tls?.handshakeTimeoutMs;
    tls = hs === undefined ? tlsOver.value : { ...tlsOver.value, handshakeTimeoutMs: hs };
  }
  sources['tls'] = tlsOver?.source ?? (fileSec.tls ? src('tls') : 'default');
  // Client certificates (SASL EXTERNAL): a flag or the environment names the CA over the file's tls.clientCaFile.
  const clientCa = first<string>(
    { value: flags['tls-client-ca'], source: '--cacert' },
    { value: envOf(SECURITY_ENV.tlsClientCa), source: SECURITY_ENV.tlsClientCa },
  );
  if (clientCa) {
    if (!tls) throw new ConfigError(`${clientCa.source}: asking clients for certificates needs TLS (--tls, or --cert/--key)`);
    tls = { ...tls, clientCaFile: clientCa.value };
  }
  if (tls?.clientCaFile !== undefined) sources['tls.clientCaFile'] = clientCa?.source ?? src('tls.clientCaFile');

  const envUsers = envOf(SECURITY_ENV.saslUsers);
  const users = first<string[]>(
    { value: flags['sasl-user'] && flags['sasl-user'].length > 0 ? checkUsers(flags['sasl-user'], '--sasl-user') : undefined, source: '--sasl-user' },
    { value: envUsers === undefined ? undefined : checkUsers(envUsers.split(',').map((s) => s.trim()).filter((s) => s !== ''), SECURITY_ENV.saslUsers), source: SECURITY_ENV.saslUsers },
    { value: fileSec.sasl?.users, source: src('sasl.users') },
  );
  const boolSetting = (flag: boolean | undefined, flagName: string, envName: string, fileValue: boolean | undefined, fileKey: string): Picked<boolean> | undefined =>
    first<boolean>({ value: flag ? true : undefined, source: flagName }, { value: envBool(envOf, envName), source: envName }, { value: fileValue, source: src(fileKey) });
  const cleartext = boolSetting(flags['allow-cleartext'], '--allow-cleartext', SECURITY_ENV.allowCleartext, fileSec.sasl?.allowCleartext, 'sasl.allowCleartext');
  const anonymous = boolSetting(flags['allow-anonymous'], '--allow-anonymous', SECURITY_ENV.allowAnonymous, fileSec.sasl?.allowAnonymous, 'sasl.allowAnonymous');
  let sasl: SaslConfig | undefined;
  if ((users && users.value.length > 0) || anonymous?.value || fileSec.sasl) {
    sasl = { users: users?.value ?? [] };
    if (cleartext) sasl.allowCleartext = cleartext.value;
    if (anonymous) sasl.allowAnonymous = anonymous.value;
  } else if (cleartext?.value) {
    throw new ConfigError(`${cleartext.source}: allowing cleartext SASL needs SASL users (--sasl-user)`);
  }
  sources['sasl'] = users?.source ?? anonymous?.source ?? (fileSec.sasl ? src('sasl') : 'default');

  const reqTls = boolSetting(flags['require-tls'], '--require-tls', SECURITY_ENV.requireTls, fileSec.require?.tls, 'require.tls');
  const reqSasl = boolSetting(flags['require-sasl'], '--require-sasl', SECURITY_ENV.requireSasl, fileSec.require?.sasl, 'require.sasl');
  if (reqTls?.value && !tls) throw new ConfigError(`${reqTls.source}: requiring TLS needs a certificate (--tls, or --cert/--key)`);
  if (reqSasl?.value && !sasl && tls?.clientCaFile === undefined) {
    throw new ConfigError(`${reqSasl.source}: requiring SASL needs users (--user NAME:PASSWORD) or client certificates (--cacert)`);
  }

  const security: SecurityConfig = {};
  if (tls) security.tls = tls;
  if (sasl) security.sasl = sasl;
  if (reqTls || reqSasl) {
    security.require = {};
    if (reqTls) security.require.tls = reqTls.value;
    if (reqSasl) security.require.sasl = reqSasl.value;
  }

  const envAccess = envOf(SECURITY_ENV.access);
  const access = first<AccessConfig>(
    { value: flags.access && flags.access.length > 0 ? parseAccessSpecs(flags.access, '--access') : undefined, source: '--access' },
    { value: envAccess === undefined ? undefined : parseAccessSpecs(envAccess.split(';').filter((s) => s.trim() !== ''), SECURITY_ENV.access), source: SECURITY_ENV.access },
    { value: file.access, source: src('access') },
  );
  sources['access'] = access?.source ?? 'default';

  const respTls = boolSetting(flags['resp-tls'], '--resp-tls', SECURITY_ENV.respTls, file.respTls, 'respTls');
  if (respTls?.value && !tls) throw new ConfigError(`${respTls.source}: TLS on the RESP listener needs a certificate (--tls-self-signed or --tls-cert/--tls-key)`);
  sources['respTls'] = respTls?.source ?? 'default';

  const contextCa = first<string>(
    { value: flags['context-ca'], source: '--context-ca' },
    { value: envOf(SECURITY_ENV.contextCa), source: SECURITY_ENV.contextCa },
    { value: file.contextCa, source: src('contextCa') },
  );
  if (contextCa) sources['contextCa'] = contextCa.source;

  const envTargets = envOf(SECURITY_ENV.allowBeepTargets);
  const targets = first<string[]>(
    { value: flags['allow-beep-targets'] && flags['allow-beep-targets'].length > 0 ? parseBeepTargets(flags['allow-beep-targets'], '--allow-beep-targets') : undefined, source: '--allow-beep-targets' },
    { value: envTargets === undefined ? undefined : parseBeepTargets([envTargets], SECURITY_ENV.allowBeepTargets), source: SECURITY_ENV.allowBeepTargets },
    { value: file.allowBeepTargets, source: src('allowBeepTargets') },
  );
  sources['allowBeepTargets'] = targets?.source ?? 'default';

  return { security, access: access?.value, respTls: respTls?.value === true, contextCa: contextCa?.value, allowBeepTargets: targets?.value ?? [], sources };
}
