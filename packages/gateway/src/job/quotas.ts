/**
 * Per-session and per-identity job quotas: how many jobs the channels of one BEEP session, and of all sessions
 * authenticated as one identity, may hold at once (created or running, until the job exits or its channel closes).
 * They keep one peer from taking every job slot of the context.
 */
import { JobQuotaError } from '../errors.js';

export interface JobQuotaLimits {
  maxJobsPerSession: number;
  maxJobsPerIdentity: number;
}

export class JobQuotas {
  private readonly bySession = new Map<number, number>();
  private readonly byIdentity = new Map<string, number>();

  constructor(private readonly limits: JobQuotaLimits) {}

  /** Takes a slot for a job of `session` (and `identity`, when authenticated); returns its release (idempotent). */
  acquire(session: number, identity: string | undefined): () => void {
    const s = this.bySession.get(session) ?? 0;
    if (s >= this.limits.maxJobsPerSession) {
      throw new JobQuotaError(`job quota reached: this session holds ${s} jobs (maxJobsPerSession)`);
    }
    const id = identity === undefined || identity === '' ? undefined : identity;
    const i = id === undefined ? 0 : (this.byIdentity.get(id) ?? 0);
    if (id !== undefined && i >= this.limits.maxJobsPerIdentity) {
      throw new JobQuotaError(`job quota reached: identity '${id}' holds ${i} jobs (maxJobsPerIdentity)`);
    }
    this.bySession.set(session, s + 1);
    if (id !== undefined) this.byIdentity.set(id, i + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      dec(this.bySession, session);
      if (id !== undefined) dec(this.byIdentity, id);
    };
  }
}

function dec<K>(m: Map<K, number>, k: K): void {
  const n = (m.get(k) ?? 1) - 1;
  if (n <= 0) m.delete(k);
  else m.set(k, n);
}
