/**
 * Ends the jobs of workers whose lease expired (docs/scale-out.md §3). Any worker or gateway may run it; the
 * claim swap `run:WID -> lost:WID` decides atomically who publishes the exit, so a job gets exactly one status
 * even when a slow worker, its reapers and the worker itself race.
 */
import { encodeFrame } from '../jobs/frames.js';
import { allJobKeys, jobKey } from '../jobs/keys.js';
import { claimKey, WORKERS_KEY, workerExecKey, workerHandlersKey, workerJobsKey } from './keys.js';
import { scripts } from './scripts.js';
import type { RedisLike } from './target.js';

/** Exit status of a job whose worker was lost: the outcome is unknown (the process may even have finished). */
export const EXIT_WORKER_LOST = 255;

export interface ReaperOptions {
  /** PEXPIRE of a reaped job's keys (0: keep them); as the workers' retainFinishedMs. Default 1 hour. */
  retainFinishedMs?: number;
}

export class Reaper {
  private running = false;
  private readonly retainMs: number;

  constructor(
    private readonly redis: RedisLike,
    options: ReaperOptions = {},
    /** Told about every job it ended. */
    private readonly onReaped: (id: number, wid: string) => void = () => {},
  ) {
    this.retainMs = options.retainFinishedMs ?? 60 * 60 * 1000;
  }

  /** One pass: every expired worker's claimed jobs get their exit; then the worker's keys go. Never throws. */
  async pass(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    let n = 0;
    try {
      const dead = await scripts(this.redis).beamWorkers(WORKERS_KEY, 'expired');
      for (const wid of dead) n += await this.reapWorker(wid);
    } catch {
      // Redis unreachable: the next pass tries again.
    } finally {
      this.running = false;
    }
    return n;
  }

  private async reapWorker(wid: string): Promise<number> {
    const ids = await this.redis.smembers(workerJobsKey(wid));
    let n = 0;
    for (const text of ids) {
      const id = Number(text);
      if (!Number.isSafeInteger(id) || id < 0) continue;
      if (await this.reapJob(id, wid)) n++;
    }
    await Promise.all([
      this.redis.del(workerJobsKey(wid)),
      this.redis.del(workerHandlersKey(wid)),
      this.redis.del(workerExecKey(wid)),
    ]);
    await this.redis.zrem(WORKERS_KEY, wid);
    return n;
  }

  private async reapJob(id: number, wid: string): Promise<boolean> {
    const won = await scripts(this.redis).beamSwap(claimKey(id), `run:${wid}`, `lost:${wid}`, this.claimRetainMs());
    if (won !== 1) return false;
    const r = this.redis;
    const msg = `beam: worker ${wid} was lost (its lease expired); the job's outcome is unknown\n`;
    await r.rpush(jobKey(id, 'out'), encodeFrame(2, Buffer.from(msg)), encodeFrame(1, null), encodeFrame(2, null));
    await writeExit(r, id, EXIT_WORKER_LOST);
    await Promise.all([r.del(jobKey(id, 'in')), r.del(jobKey(id, 'signal'))]);
    if (this.retainMs > 0) {
      const gone = new Set([jobKey(id, 'in'), jobKey(id, 'signal')]);
      await Promise.all(allJobKeys(id).filter((k) => !gone.has(k)).map((k) => r.pexpire(k, this.retainMs)));
    }
    this.onReaped(id, wid);
    return true;
  }

  /** A finished claim outlives the job's keys, so a late look never mistakes the job for a new one. */
  claimRetainMs(): number {
    return claimRetainMs(this.retainMs);
  }
}

/** The exit as clients see it: `/jobs/$id/status`, then one entry pushed on `/jobs/$id/wait`. */
export async function writeExit(r: RedisLike, id: number, status: number): Promise<void> {
  await r.set(jobKey(id, 'status'), String(status));
  await r.rpush(jobKey(id, 'wait'), String(status));
}

export function claimRetainMs(retainFinishedMs: number): number {
  return retainFinishedMs > 0 ? retainFinishedMs + 60_000 : 0;
}
