export { BeamWorker, DEFAULT_LEASE_MS, DEFAULT_RECONCILE_MS, type WorkerOptions } from './worker.js';
export { Reaper, EXIT_WORKER_LOST, type ReaperOptions } from './reaper.js';
export { readWorkerCatalog, type WorkerCatalog } from './catalog.js';
export { RedisJobContext } from './redis-context.js';
export { Notifications } from './notifications.js';
export { connectRedis, checkRedisUrl, parseHostPort, targetDb, whenReady, isCluster, RedisTargetError, type RedisTarget, type RedisLike, type HostPort } from './target.js';
export { WORKERS_KEY, NOTIFY_FLAGS, claimKey, workerJobsKey, workerHandlersKey, workerExecKey } from './keys.js';
