/**
 * Names of the keys of the Beam job protocol. The job namespace lives in database 0 only; `/jobs...` keys in
 * other databases are ordinary keys.
 */
export const JOBS_DB = 0;
export const JOBS_KEY = '/jobs';

/**
 * The engine's published catalog, in database 0 under the reserved `/beam` prefix (clients read, only Beam writes):
 * the names of the registered handlers and the exec allow-list, both sets. See catalog.ts.
 */
export const HANDLERS_KEY = '/beam/handlers';
export const EXEC_KEY = '/beam/exec';

export type JobKeyKind = 'start' | 'args' | 'env' | 'in' | 'out' | 'status' | 'wait' | 'signal';

const SUBKEYS: ReadonlySet<string> = new Set(['args', 'env', 'in', 'out', 'status', 'wait', 'signal']);

export type ParsedJobKey =
  | { kind: 'jobs' }
  | { kind: JobKeyKind; id: number }
  /** Under `/jobs/` but not a protocol key (bad id, unknown sub key): clients may not write it. */
  | { kind: 'invalid' };

/** Largest job id accepted: keeps ids exact in a JS number. */
export const MAX_JOB_ID = Number.MAX_SAFE_INTEGER - 1;

/** Classifies a key name; `undefined` when the key is outside the job namespace. */
export function parseJobKey(key: Buffer | string): ParsedJobKey | undefined {
  const s = typeof key === 'string' ? key : key.toString('latin1');
  if (s === JOBS_KEY) return { kind: 'jobs' };
  if (!s.startsWith('/jobs/')) return undefined;
  const rest = s.slice(6);
  const slash = rest.indexOf('/');
  const idText = slash === -1 ? rest : rest.slice(0, slash);
  const sub = slash === -1 ? null : rest.slice(slash + 1);
  // Canonical decimal only: "/jobs/01" would be a second name for job 1.
  if (!/^(0|[1-9][0-9]{0,15})$/.test(idText)) return { kind: 'invalid' };
  const id = Number(idText);
  if (id > MAX_JOB_ID) return { kind: 'invalid' };
  if (sub === null) return { kind: 'start', id };
  if (!SUBKEYS.has(sub)) return { kind: 'invalid' };
  return { kind: sub as JobKeyKind, id };
}

export function jobKey(id: number, kind: JobKeyKind = 'start'): string {
  return kind === 'start' ? `/jobs/${id}` : `/jobs/${id}/${kind}`;
}

/** Every key a job may own, for retention and cleanup. */
export function allJobKeys(id: number): string[] {
  return [jobKey(id), ...[...SUBKEYS].map((k) => `/jobs/${id}/${k}`)];
}
