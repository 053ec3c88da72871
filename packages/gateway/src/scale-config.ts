/**
 * The scale-out flags of `beamgate serve` (docs/scale-out.md §6): `--cluster` (the --context URL is a seed of a
 * Redis Cluster), `--sentinel HOST:PORT[,...]` with `--master NAME` (the context is the master those Sentinels
 * name), `--worker` (run a Beam worker in the gateway's process too). Flags > environment.
 */
import type { worker as W } from '@beamgate/beam';
import { parseAddress, type ContextConfig } from './config-types.js';
import { ConfigError } from './errors.js';

export interface ScaleFlags {
  cluster?: boolean;
  sentinel?: string;
  master?: string;
  worker?: boolean;
}

export const SCALE_FLAG_OPTIONS = {
  cluster: { type: 'boolean' },
  sentinel: { type: 'string' },
  master: { type: 'string' },
  worker: { type: 'boolean' },
} as const;

export const SCALE_ENV = { cluster: 'BEAMGATE_CLUSTER', sentinel: 'BEAMGATE_SENTINEL', master: 'BEAMGATE_MASTER', worker: 'BEAMGATE_WORKER' } as const;

type Env = (name: string) => string | undefined;

const on = (flag: boolean | undefined, env: string | undefined): boolean => flag ?? (env === '1' || env === 'true');

/** Applies --cluster / --sentinel to the parsed context; returns it and whether to run an in-process worker. */
export function scaleContext(context: ContextConfig, flags: ScaleFlags, envOf: Env): { context: ContextConfig; worker: boolean } {
  const cluster = on(flags.cluster, envOf(SCALE_ENV.cluster));
  const sentinel = flags.sentinel ?? envOf(SCALE_ENV.sentinel);
  const master = flags.master ?? envOf(SCALE_ENV.master);
  const worker = on(flags.worker, envOf(SCALE_ENV.worker));
  let out = context;
  if (sentinel !== undefined) {
    if (cluster) throw new ConfigError('--sentinel and --cluster exclude each other');
    if (master === undefined) throw new ConfigError('--sentinel needs --master NAME');
    const sentinels = sentinel.split(',').map((s) => parseAddress(s, '--sentinel'));
    const db = context.kind === 'remote' ? context.db : 0;
    out = { kind: 'remote', url: `sentinel://${sentinel}/${master}`, host: sentinels[0]!.host, port: sentinels[0]!.port, db, sentinel: { sentinels, name: master } };
  } else if (master !== undefined) {
    throw new ConfigError('--master needs --sentinel');
  } else if (cluster) {
    if (context.kind !== 'remote') throw new ConfigError('--cluster needs --context redis://SEED:PORT');
    if (context.db !== 0) throw new ConfigError('a Redis Cluster has only database 0');
    out = { ...context, cluster: true };
  }
  if (worker && out.kind !== 'remote') throw new ConfigError('--worker needs a Redis context (--context redis://..., --cluster or --sentinel)');
  return { context: out, worker };
}

/** The RedisTarget a remote context names. */
export function redisTarget(c: Extract<ContextConfig, { kind: 'remote' }>): W.RedisTarget {
  if (c.sentinel) return { kind: 'sentinel', sentinels: c.sentinel.sentinels, name: c.sentinel.name, db: c.db };
  if (c.cluster) return { kind: 'cluster', nodes: [{ host: c.host, port: c.port }], ...(c.tls ? { tls: true } : {}) };
  return { kind: 'standalone', url: c.url.replace(/^beam:/, 'redis:') };
}
