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
 * Running jobs: those whose claim on the new master is still this worker's carry on; the others (claim lost or
 * held by another party) are not ours any more. Returns the ids to give up (killed without publishing).
 */
export async function reassertClaims(r: RedisLike, mine: ReadonlyMap<number, string>): Promise<number[]> {
  const lost: number[] = [];
  await Promise.all(
    [...mine].map(async ([id, wid]) => {
      const claim = await r.get(claimKey(id));
      // A job without this worker's claim is not provably the one it runs: the new master may have lost the claim,
      // or the job may be a new one reusing the id (a restart without persistence resets the counter). The run is
      // given up; the job, if it still exists, is claimed and run afresh (never by two workers at once).
      if (claim === `run:${wid}`) return;
      lost.push(id);
    }),
  );
  return lost;
}

/**
 * Exits published before the switch: where the new master has no status for a job that still exists and whose
 * claim is still this worker's (`run:` or `done:`), the exit is written again (claim `done:WID`, status, one wait entry). The caller waits for
 * its exits still being written to settle first, so that none is written twice. Returns the ids published again.
 */
export async function republishExits(r: RedisLike, exits: [number, RecentExit][], retainFinishedMs: number, claimRetainMs: number): Promise<number[]> {
  const again: number[] = [];
  await Promise.all(
    exits.map(async ([id, e]) => {
      // Only the job this worker ran: its claim came over with the data. A job without a claim may be a new one
      // that reuses the id (a restart without persistence resets the id counter) and must not get this status.
      const claim = await r.get(claimKey(id));
      const mineNow = claim === `run:${e.wid}` || claim === `done:${e.wid}`;
      if (!mineNow || (await r.exists(jobKey(id))) === 0) return;
      if (claim !== `done:${e.wid}`) {
        if ((await scripts(r).beamSwap(claimKey(id), claim, `done:${e.wid}`, claimRetainMs)) !== 1) return;
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
