/**
 * The gateway's configuration as data (what `loadConfig` in config.ts produces and the rest of the gateway reads),
 * and HOST:PORT addresses. No I/O; the lowest layer of the package with errors.ts.
 */
import type { ClientTlsOptions } from '@beamgate/base';
import { ConfigError } from './errors.js';
import type { LogLevel } from './log.js';

export interface Address {
  host: string;
  port: number;
}

/** TLS to a remote context (`rediss://`): `true` verifies against the system CAs. */
export type ContextTls = true | Pick<ClientTlsOptions, 'ca' | 'servername' | 'rejectUnauthorized'>;

export type ContextConfig =
  | { kind: 'embedded' }
  | {
      kind: 'remote';
      url: string;
      host: string;
      port: number;
      db: number;
      tls?: ContextTls;
      /** host:port is a seed of a Redis Cluster (scale-config.ts). */
      cluster?: true;
      /** The master these Sentinels name (scale-config.ts). */
      sentinel?: { sentinels: Address[]; name: string };
    };

export interface GatewayLimits {
  maxJobXml: number;
  maxArgs: number;
  maxEnv: number;
  maxChannelsPerSession: number;
  maxRespMessage: number;
  maxRespArgs: number;
  outputHighWater: number;
  /** Largest BEEP frame payload the gateway sends (frames are also cut to the peer's window). */
  maxSendFrame: number;
  pubsubHighWater: number;
  /** Jobs the channels of one BEEP session may hold at once (created or running); more are refused with 450. */
  maxJobsPerSession: number;
  /** Jobs all sessions of one SASL identity may hold at once; more are refused with 450. */
  maxJobsPerIdentity: number;
}

export const DEFAULT_LIMITS: Readonly<GatewayLimits> = Object.freeze({
  maxJobXml: 65536,
  maxArgs: 4096,
  maxEnv: 1024,
  maxChannelsPerSession: 1024,
  maxRespMessage: 64 * 1024 * 1024,
  maxRespArgs: 1024 * 1024,
  outputHighWater: 256 * 1024,
  maxSendFrame: 256 * 1024,
  pubsubHighWater: 1024 * 1024,
  maxJobsPerSession: 64,
  maxJobsPerIdentity: 128,
});

/** TLS for the BEEP listener (the TLS tuning profile): PEM files, or a certificate generated at start. */
/** `clientCaFile`: PEM CA(s) to ask clients for a certificate signed by them (SASL EXTERNAL takes its subject). */
export type TlsConfig = ({ certFile: string; keyFile: string } | { selfSigned: true }) & { handshakeTimeoutMs?: number; clientCaFile?: string };

/** SASL for the BEEP listener: `user:password` pairs and the mechanisms' policy. */
export interface SaslConfig {
  users: string[];
  allowCleartext?: boolean;
  allowAnonymous?: boolean;
}

export interface SecurityConfig {
  tls?: TlsConfig;
  sasl?: SaslConfig;
  /** Refuse other starts until TLS is up (554) or a SASL exchange succeeded (530). */
  require?: { tls?: boolean; sasl?: boolean };
}

/**
 * Which job handlers each identity may run: keys are SASL identities, `*` any authenticated identity, and ``
 * (empty) sessions without one; values are handler names or `*`. Absent: every job is allowed to everyone.
 */
export type AccessConfig = Record<string, string[]>;

export interface GatewayConfig {
  beep: Address;
  /** null: no plain RESP listener. */
  resp: Address | null;
  context: ContextConfig;
  /** Program names the `exec` handler may run. */
  exec: string[];
  /** null: no metrics endpoint. */
  metrics: Address | null;
  logLevel: LogLevel;
  shutdownTimeoutMs: number;
  limits: GatewayLimits;
  security: SecurityConfig;
  access: AccessConfig | undefined;
  /** TLS on the plain RESP listener too, with the BEEP listener's certificate. */
  respTls: boolean;
  /** BEEP peers the `beep` job handler may reach (`HOST:PORT` or `*`); empty: none. */
  allowBeepTargets: string[];
  /** Lockouts after repeated authentication failures (SASL and RESP AUTH); false: off; undefined: defaults. */
  authThrottle: AuthThrottleConfig | false | undefined;
  /** Run a Beam worker in the gateway's process (`--worker`, a Redis context only). */
  worker: boolean;
  /** Where each top-level value came from (`--beep`, `BEAMGATE_BEEP`, `FILE: beep`, `default`), for logs. */
  sources: Record<string, string>;
}

/** Options of the authentication throttle (docs/security.md). */
export interface AuthThrottleConfig {
  freeFailures?: number;
  baseLockoutMs?: number;
  maxLockoutMs?: number;
  forgetAfterMs?: number;
  maxEntries?: number;
}

/** `HOST:PORT`, `[IPv6]:PORT`; port 0..65535. */
export function parseAddress(value: string, source: string): Address {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):([0-9]{1,5})$/.exec(value.trim());
  if (!m) throw new ConfigError(`${source}: expected HOST:PORT, got '${value}'`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(`${source}: port ${port} out of range`);
  return { host: (m[1] ?? m[2])!, port };
}

export function formatAddress(a: Address): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
