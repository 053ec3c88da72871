/**
 * Where a `beam worker` (or a gateway) finds a real Redis: one server by URL, a Redis Cluster by seed nodes, or
 * the master a set of Sentinels names. Connections are ioredis clients (docs/architecture.md says why).
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { BeamError } from '../errors.js';

export interface HostPort {
  host: string;
  port: number;
}

export type RedisTarget =
  /** `redis://[user:pw@]host:port[/db]`, `rediss://...` (TLS) or `unix:/path`. */
  | { kind: 'standalone'; url: string }
  /** Seed nodes of a Redis Cluster (any reachable node is enough; the rest is discovered). */
  | { kind: 'cluster'; nodes: HostPort[]; password?: string; tls?: boolean }
  /** The master named `name` by these Sentinels; followed across failovers. */
  | { kind: 'sentinel'; sentinels: HostPort[]; name: string; password?: string; db?: number };

export class RedisTargetError extends BeamError {
  override readonly name = 'RedisTargetError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('BEAM_BAD_REDIS_TARGET', message, options);
  }
}

/** The database a target's job keys live in (Redis Cluster has only database 0). */
export function targetDb(t: RedisTarget): number {
  if (t.kind === 'cluster') return 0;
  if (t.kind === 'sentinel') return t.db ?? 0;
  if (t.url.startsWith('unix:')) return 0;
  const db = new URL(t.url).pathname.replace(/^\//, '');
  return db === '' ? 0 : Number(db);
}

/** Parses `HOST:PORT` (IPv6 as `[::1]:PORT`). */
export function parseHostPort(text: string, what: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):([0-9]{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw new RedisTargetError(`${what}: expected HOST:PORT, got '${text}'`);
  return { host: (m[1] ?? m[2])!, port };
}

/** Checks a standalone URL early, so that a typo fails at start with a clear message. */
export function checkRedisUrl(url: string): void {
  if (url.startsWith('unix:')) {
    if (!/^unix:(\/\/)?\//.test(url)) throw new RedisTargetError(`bad unix URL '${url}': expected unix:/path`);
    return;
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch (cause) {
    throw new RedisTargetError(`bad Redis URL '${url}'`, { cause });
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new RedisTargetError(`unsupported scheme '${u.protocol}' in '${url}' (use redis://, rediss:// or unix:)`);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^([0-9]|1[0-5])$/.test(db)) throw new RedisTargetError(`bad database '${db}' in '${url}' (0..15)`);
}

/**
 * No auto-pipelining: ioredis 6.1 breaks `callBuffer` under it (commands still pipeline on the wire, since
 * ioredis never waits for a reply before writing the next command).
 * Commands wait for a reconnect instead of failing after a few retries: a worker rides out a Redis restart or
 * failover. Callers that must answer quickly (the gateway) pass their own `maxRetriesPerRequest`.
 */
const COMMON: RedisOptions = { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(50 * n, 1000) };

export type RedisLike = Redis | Cluster;

/** Opens a client for the target (connects in the background; commands queue until ready). */
export function connectRedis(t: RedisTarget, extra: RedisOptions = {}): RedisLike {
  const opts = { ...COMMON, ...extra };
  if (t.kind === 'standalone') {
    checkRedisUrl(t.url);
    if (t.url.startsWith('unix:')) return new Redis({ ...opts, path: t.url.replace(/^unix:(\/\/)?/, '') });
    return new Redis(t.url, opts);
  }
  if (t.kind === 'sentinel') {
    return new Redis({
      ...opts,
      sentinels: t.sentinels,
      name: t.name,
      ...(t.password !== undefined ? { password: t.password } : {}),
      ...(t.db !== undefined ? { db: t.db } : {}),
      sentinelRetryStrategy: (n: number) => Math.min(100 * n, 1000),
      // Sentinel does not always disconnect the clients of a demoted master: follow +switch-master, and treat
      // a READONLY reply (we are talking to a replica) as a reason to reconnect and resend.
      failoverDetector: true,
      reconnectOnError: (e: Error) => (e.message.startsWith('READONLY') ? 2 : false),
    });
  }
  const redisOptions: RedisOptions = {
    ...opts,
    ...(t.password !== undefined ? { password: t.password } : {}),
    ...(t.tls ? { tls: {} } : {}),
  };
  const clusterOptions: ClusterOptions = {
    redisOptions,
    maxRedirections: 16,
    // Follows failovers and resharding even when no command meets a MOVED reply.
    slotsRefreshInterval: 2000,
    clusterRetryStrategy: (n: number) => Math.min(100 * n, 1000),
  };
  return new Cluster(t.nodes, clusterOptions);
}

/** True for a Redis Cluster client. */
export function isCluster(r: RedisLike): r is Cluster {
  return r instanceof Cluster;
}

/**
 * Resolves once the client has connected; rejects after `timeoutMs`, or at the first connection error when
 * `failFast` (a gateway refusing a bad context at start) — ioredis itself would retry for ever.
 */
export async function whenReady(r: RedisLike, timeoutMs = 10_000, failFast = false): Promise<void> {
  if (r.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    let last: Error | undefined;
    const t = setTimeout(() => {
      cleanup();
      reject(new RedisTargetError(`Redis not ready after ${timeoutMs} ms (status ${r.status}${last ? `; ${last.message}` : ''})`, { cause: last }));
    }, timeoutMs);
    const ok = (): void => {
      cleanup();
      resolve();
    };
    const failed = (e: Error): void => {
      last = e;
      if (!failFast) return;
      cleanup();
      reject(new RedisTargetError(e.message, { cause: e }));
    };
    const cleanup = (): void => {
      clearTimeout(t);
      r.off('ready', ok);
      r.off('error', failed);
    };
    r.on('ready', ok);
    r.on('error', failed);
  });
}
