#!/usr/bin/env node
// Scale-out benchmark: the Beam job protocol through a real redis-server with 1, 2 and 4 `beam worker`s, next to
// `beam serve` (embedded context), in one run. Reports jobs/s (echo jobs, concurrent clients), job-output MB/s
// (exec head -c, concurrent jobs) and Redis commands per job (INFO commandstats). Loopback only.
//
//   npx tsc -b && node bench/scale/run.js [--quick] [--jobs N] [--clients N] [--out-mib N]
//
// Needs redis-server on PATH (Debian: redis-server).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startRedisServer } from '../../packages/beam/dist/src/testing/redis-servers.js';
import { benchOptions } from '../lib/args.js';
import { track, killAll, stopChild } from '../lib/children.js';
import { freePort, waitForPort } from '../lib/net.js';
import { ROOT } from '../lib/paths.js';
import { table, fmt, cpuSummary } from '../lib/report.js';

const BEAM = path.join(ROOT, 'packages/beam/dist/src/cli/main.js');
const opts = benchOptions('Usage: node bench/scale/run.js [--quick] [--jobs N] [--clients N] [--out-mib N]\n', {
  quick: { type: 'boolean', default: false },
  jobs: { type: 'string' },
  clients: { type: 'string' },
  'out-mib': { type: 'string' },
});
const JOBS = Number(opts.jobs ?? (opts.quick ? 500 : 3000));
const CLIENTS = Number(opts.clients ?? 32);
/** Output of each of the OUT_JOBS concurrent `head -c` jobs. */
const OUT_MIB = Number(opts['out-mib'] ?? (opts.quick ? 8 : 32));
const OUT_JOBS = 4;

function spawnBeam(args, ready) {
  const child = track(spawn(process.execPath, [BEAM, ...args], { stdio: ['ignore', 'ignore', 'pipe'] }));
  return new Promise((resolve, reject) => {
    let log = '';
    child.stderr.on('data', (d) => {
      if (log.length < 8192) log += d.toString();
      if (log.includes(ready)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`beam ${args[0]} exited (${code}): ${log}`)));
  });
}

/** CLIENTS loops, each creating an echo job, starting it and waiting for its exit, until JOBS are done. */
async function jobsPerSecond(port) {
  const conns = Array.from({ length: CLIENTS }, () => new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: null }));
  await Promise.all(conns.map((c) => c.ping()));
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    conns.map(async (c) => {
      while (next++ < JOBS) {
        const id = (await c.rpush('/jobs', 'echo')) - 1;
        await c.rpush(`/jobs/${id}/args`, 'echo', 'x');
        await c.set(`/jobs/${id}`, '');
        await c.blpop(`/jobs/${id}/wait`, 0);
      }
    }),
  );
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  for (const c of conns) c.disconnect();
  return JOBS / s;
}

/** OUT_JOBS concurrent `head -c OUT_MIB MiB /dev/zero` jobs, their output read in batches of 128 frames. */
async function outputMBs(port) {
  const conns = Array.from({ length: OUT_JOBS }, () => new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: null }));
  const bytes = OUT_MIB * 1024 * 1024;
  const t0 = process.hrtime.bigint();
  let total = 0;
  await Promise.all(
    conns.map(async (c) => {
      const id = (await c.rpush('/jobs', 'head')) - 1;
      await c.rpush(`/jobs/${id}/args`, 'head', '-c', String(bytes), '/dev/zero');
      await c.set(`/jobs/${id}`, '');
      for (;;) {
        const r = await c.blpop(`/jobs/${id}/out`, `/jobs/${id}/wait`, 0);
        if (r[0].endsWith('/wait')) break;
        total += r[1].length - 2;
        const more = await c.lpopBuffer(`/jobs/${id}/out`, 128);
        if (more) for (const f of more) total += f.length - 2;
      }
    }),
  );
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  for (const c of conns) c.disconnect();
  if (total < bytes * OUT_JOBS) throw new Error(`read ${total} bytes, expected ${bytes * OUT_JOBS}`);
  return total / 1e6 / s;
}

/** Commands Redis has executed, and the CPU seconds (user + system) it has used. */
async function redisCounters(r) {
  const info = await r.info('commandstats');
  let calls = 0;
  for (const m of info.matchAll(/calls=(\d+)/g)) calls += Number(m[1]);
  const cpu = await r.info('cpu');
  const sec = (k) => Number(new RegExp(`^${k}:([0-9.]+)`, 'm').exec(cpu)?.[1] ?? 0);
  return { calls, cpu: sec('used_cpu_user') + sec('used_cpu_sys') };
}

const rows = [];
const results = {};
try {
  // Embedded: one `beam serve` process.
  {
    const port = await freePort();
    const serve = await spawnBeam(['serve', '--port', String(port), '--exec', 'head', '--max-jobs', '1024'], '"listening"');
    await waitForPort(port);
    const jps = await jobsPerSecond(port);
    const mbs = await outputMBs(port);
    results.embedded = { jobsPerSecond: jps, outputMBs: mbs };
    rows.push(['beam serve (embedded)', fmt(jps), fmt(mbs, 1), '-', '-']);
    await stopChild(serve);
  }
  for (const workers of [1, 2, 4]) {
    const redis = await startRedisServer();
    const r = new Redis({ port: redis.port, host: '127.0.0.1' });
    const url = `redis://127.0.0.1:${redis.port}`;
    const children = await Promise.all(Array.from({ length: workers }, () => spawnBeam(['worker', '--context', url, '--exec', 'head'], '"worker ready"')));
    await jobsPerSecond(redis.port).catch(() => 0); // warm-up (JIT, script cache)
    const c0 = await redisCounters(r);
    const jps = await jobsPerSecond(redis.port);
    const c1 = await redisCounters(r);
    const mbs = await outputMBs(redis.port);
    // Both readings include the benchmark's own INFO; the clients send 4 commands per job.
    const perJob = (c1.calls - c0.calls) / JOBS;
    // Redis CPU per job (notifications included): the jobs/s one Redis core could serve if nothing else were short.
    const cpuUs = ((c1.cpu - c0.cpu) / JOBS) * 1e6;
    results[`redis-${workers}`] = { workers, jobsPerSecond: jps, outputMBs: mbs, redisCommandsPerJob: perJob, workerCommandsPerJob: perJob - 4, redisCpuUsPerJob: cpuUs };
    rows.push([`redis-server + ${workers} beam worker${workers > 1 ? 's' : ''}`, fmt(jps), fmt(mbs, 1), `${fmt(perJob, 1)} (${fmt(perJob - 4, 1)} by workers)`, `${fmt(cpuUs)} (${fmt(1e6 / cpuUs)} jobs/s)`]);
    r.disconnect();
    await Promise.all(children.map((c) => stopChild(c)));
    await redis.stop();
  }
} finally {
  killAll();
}
console.log(`\nScale-out: ${JOBS} echo jobs by ${CLIENTS} clients; output: ${OUT_JOBS} jobs x ${OUT_MIB} MiB (${cpuSummary()})\n`);
console.log(table(['context', 'jobs/s', 'output MB/s', 'Redis commands/job', 'Redis CPU µs/job (per core)'], rows));
console.log(`\n${JSON.stringify(results)}`);
