/** Real redis-server / redis-sentinel / cluster processes and `beam worker` children for the scale-out tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Cluster, Redis } from 'ioredis';

export * from '../../src/testing/redis-servers.js';

export const BEAM_CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface WorkerProcess {
  proc: ChildProcess;
  /** Its worker id, from its 'worker ready' log line. */
  wid: string;
  lines: string[];
  stop(): Promise<void>;
}

/** Runs `beam worker ARGS...` and waits for its 'worker ready' line. */
export async function spawnWorker(args: string[]): Promise<WorkerProcess> {
  const proc = spawn(process.execPath, [BEAM_CLI, 'worker', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const lines: string[] = [];
  let rest = '';
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const wid = await new Promise<string>((resolve, reject) => {
    proc.stderr!.on('data', (d: Buffer) => {
      rest += d.toString();
      let nl: number;
      while ((nl = rest.indexOf('\n')) >= 0) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        lines.push(line);
        if (!line.startsWith('{')) continue;
        const rec = JSON.parse(line) as { msg?: string; worker?: string };
        if (rec.msg === 'worker ready' && rec.worker !== undefined) resolve(rec.worker);
      }
    });
    proc.once('exit', (code) => reject(new Error(`beam worker exited (${code}): ${lines.join('\n')}`)));
  });
  return {
    proc,
    wid,
    lines,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** Creates and starts a job with ioredis as any client would; returns its id. */
export async function startJob(r: Redis | Cluster, name: string, args: string[] = [name], input?: string[]): Promise<number> {
  const id = (await r.rpush('/jobs', name)) - 1;
  await r.rpush(`/jobs/${id}/args`, ...args);
  if (input) await r.rpush(`/jobs/${id}/in`, ...input);
  await r.set(`/jobs/${id}`, '');
  return id;
}

/** Reads a job's whole output until its exit: frames in order and the status from /jobs/$id/wait. */
export async function readJob(r: Redis | Cluster, id: number, timeoutS = 10): Promise<{ frames: string[]; status: number }> {
  const frames: string[] = [];
  const end = Date.now() + timeoutS * 1000;
  for (;;) {
    if (Date.now() > end) throw new Error(`job ${id}: no exit within ${timeoutS} s (frames ${JSON.stringify(frames)})`);
    const f = await r.lpop(`/jobs/${id}/out`);
    if (f !== null) {
      frames.push(f);
      continue;
    }
    const w = await r.blpop(`/jobs/${id}/wait`, 0.2);
    if (w) {
      let more: string | null;
      while ((more = await r.lpop(`/jobs/${id}/out`)) !== null) frames.push(more);
      return { frames, status: Number(w[1]) };
    }
  }
}

/**
 * Resolves once every id's `/jobs/$id/status` is set: driven by the `set` keyevent notifications (which the workers
 * enable), with one look at each id after subscribing, rather than polling a thousand keys.
 */
export async function waitForStatuses(r: Redis, ids: number[], timeoutMs: number): Promise<void> {
  const left = new Set(ids);
  const sub = r.duplicate();
  sub.on('error', () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${left.size} of ${ids.length} jobs without a status after ${timeoutMs} ms`)), timeoutMs);
      const check = (): void => {
        if (left.size > 0) return;
        clearTimeout(t);
        resolve();
      };
      sub.on('message', (_channel: string, key: string) => {
        const m = /^\/jobs\/([0-9]+)\/status$/.exec(key);
        if (m) left.delete(Number(m[1]));
        check();
      });
      sub.subscribe('__keyevent@0__:set').then(async () => {
        const seen = await Promise.all([...left].map(async (id) => [id, await r.exists(`/jobs/${id}/status`)] as const));
        for (const [id, e] of seen) if (e === 1) left.delete(id);
        check();
      }, reject);
    });
  } finally {
    sub.disconnect();
  }
}
