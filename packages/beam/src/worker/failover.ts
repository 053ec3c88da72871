/**
 * What a worker re-checks when its master gate finds a different server than before (a Sentinel failover, or a
 * restart): writes the old server acknowledged may never have reached the new one (docs/scale-out.md §5). Before
 * the gate opens again, the claims of running jobs are re-asserted (or the jobs given up), and exits published
 * shortly before the switch are published again where the new master lacks them.
 */
import { allJobKeys, jobKey } from '../jobs/keys.js';
import { claimKey, workerJobsKey } from './keys.js';
import { writeExit } from './reaper.js';
import { scripts } from './scripts.js';
import type { RedisLike } from './target.js';

/** An exit this worker published (claim swapped, status written, wait entry pushed) on the server `runId`. */
export interface RecentExit {
  wid: string;
  runId: string;
  at: number;
  status: number;
}

/** Exits of the last `keepMs` (at most `max`), the ones a failover may have lost. */
export class RecentExits {
  private readonly m = new Map<number, RecentExit>();

  constructor(
    private readonly keepMs: number,
    private readonly max: number,
  ) {}

  add(id: number, wid: string, runId: string, status: number): void {
    this.m.delete(id);
    this.m.set(id, { wid, runId, at: Date.now(), status });
    this.prune();
  }

  /** Entries recorded on another server than `runId`, newest last. */
  before(runId: string): [number, RecentExit][] {
    this.prune();
    return [...this.m].filter(([, e]) => e.runId !== runId);
  }

  private prune(): void {
    const old = Date.now() - this.keepMs;
    for (const [id, e] of this.m) {
      if (this.m.size <= this.max && e.at >= old) break;
      this.m.delete(id);
    }
  }
}

/**
 * Running jobs: a claim the new master lacks is set again (SET NX, the job still exists); one that another
 * party holds is not ours any more. Returns the ids to give up (killed without publishing).
 */
export async function reassertClaims(r: RedisLike, mine: ReadonlyMap<number, string>): Promise<number[]> {
  const lost: number[] = [];
  await Promise.all(
    [...mine].map(async ([id, wid]) => {
      const claim = await r.get(claimKey(id));
      if (claim === `run:${wid}`) return;
      if (claim === null && (await r.exists(jobKey(id))) === 1) {
        await r.sadd(workerJobsKey(wid), String(id));
        if ((await r.set(claimKey(id), `run:${wid}`, 'NX')) === 'OK') return;
      }
      lost.push(id);
    }),
  );
  return lost;
}

/**
 * Exits published before the switch: where the new master has no status for a job that still exists and that
 * nobody else claimed, the exit is written again (claim `done:WID`, status, one wait entry). The caller waits for
 * its exits still being written to settle first, so that none is written twice. Returns the ids published again.
 */
export async function republishExits(r: RedisLike, exits: [number, RecentExit][], retainFinishedMs: number, claimRetainMs: number): Promise<number[]> {
  const again: number[] = [];
  await Promise.all(
    exits.map(async ([id, e]) => {
      const claim = await r.get(claimKey(id));
      const mineNow = claim === null || claim === `run:${e.wid}` || claim === `done:${e.wid}`;
      if (!mineNow || (await r.exists(jobKey(id))) === 0) return;
      if (claim !== `done:${e.wid}`) {
        const to = `done:${e.wid}`;
        const set = (): Promise<string | null> => (claimRetainMs > 0 ? r.set(claimKey(id), to, 'PX', claimRetainMs, 'NX') : r.set(claimKey(id), to, 'NX'));
        const ok = claim === null ? (await set()) === 'OK' : (await scripts(r).beamSwap(claimKey(id), claim, to, claimRetainMs)) === 1;
        if (!ok) return;
      }
      if ((await r.exists(jobKey(id, 'status'))) === 1) return;
      await writeExit(r, id, e.status);
      const gone = [jobKey(id, 'in'), jobKey(id, 'signal')];
      await Promise.all(gone.map((k) => r.del(k)));
      if (retainFinishedMs > 0) await Promise.all(allJobKeys(id).filter((k) => !gone.includes(k)).map((k) => r.pexpire(k, retainFinishedMs)));
      again.push(id);
    }),
  );
  return again;
}
