/**
 * Keys a shared context holds under the reserved `/beam/` prefix (docs/scale-out.md §2). Per-worker keys carry
 * the worker id as a hash tag so that one MULTI can update them together on a Redis Cluster; job keys are the
 * protocol's own and are never hash-tagged.
 */

/** Sorted set: worker id -> lease deadline (ms, the server's clock). */
export const WORKERS_KEY = '/beam/workers';

/** String `run:WID`, then `done:WID` or `lost:WID`: who runs job `id`, set once with SET NX. */
export function claimKey(id: number): string {
  return `/beam/claim/${id}`;
}

/** Set of the job ids a worker has claimed and not yet finished (the reaper's list when it dies). */
export function workerJobsKey(wid: string): string {
  return `/beam/worker/{${wid}}/jobs`;
}

/** The handler names a worker can run (its catalog; expires unless the worker renews it). */
export function workerHandlersKey(wid: string): string {
  return `/beam/worker/{${wid}}/handlers`;
}

/** The programs a worker's exec handler may run. */
export function workerExecKey(wid: string): string {
  return `/beam/worker/{${wid}}/exec`;
}

/** Keyspace-notification classes a worker needs (notify-keyspace-events): keyspace and keyevent channels for
 * strings ($), lists (l) and generic commands (g, e.g. del), plus expirations (x). */
export const NOTIFY_FLAGS = 'KEg$lx';

/** Union of notify-keyspace-events flag strings, as Redis would accept it. */
export function mergeNotifyFlags(current: string, needed: string): string {
  const have = new Set(current.split(''));
  if (have.has('A')) for (const c of 'g$lshzxetd') have.add(c);
  for (const c of needed) have.add(c);
  return [...have].filter((c) => c !== 'A').sort().join('');
}

/** The flags missing from `current` (empty when nothing must change). */
export function missingNotifyFlags(current: string, needed: string): string {
  const have = new Set(current.split(''));
  if (have.has('A')) for (const c of 'g$lshzxetd') have.add(c);
  return [...needed].filter((c) => !have.has(c)).join('');
}
