/**
 * What the live workers of a shared Redis can run: the union of the catalogs they publish under
 * `/beam/worker/{WID}/handlers` and `.../exec`. Gateways answer 550/537 from it with `checkJob`.
 */
import { checkJob, type JobCatalog, type JobCheck } from '../jobs/catalog.js';
import { WORKERS_KEY, workerExecKey, workerHandlersKey } from './keys.js';
import { scripts } from './scripts.js';
import type { RedisLike } from './target.js';

export interface WorkerCatalog extends JobCatalog {
  /** Live workers (lease not expired). With none, nothing can be decided: jobs wait for a worker. */
  readonly workers: number;
  check(name: string, args?: readonly string[]): JobCheck;
}

export async function readWorkerCatalog(redis: RedisLike): Promise<WorkerCatalog> {
  const live = await scripts(redis).beamWorkers(WORKERS_KEY, 'live');
  const lists = await Promise.all(live.map((w) => Promise.all([redis.smembers(workerHandlersKey(w)), redis.smembers(workerExecKey(w))])));
  const handlers = new Set(lists.flatMap(([h]) => h));
  const exec = new Set(lists.flatMap(([, e]) => e));
  const catalog: WorkerCatalog = {
    workers: live.length,
    hasHandler: (n) => handlers.has(n),
    // Workers register their built-in exec under this name.
    isExecBuiltin: (n) => n === 'exec' && handlers.has(n),
    execAllowed: (p) => exec.has(p),
    check: (name, args = [name]) => checkJob(catalog, name, args),
  };
  return catalog;
}
