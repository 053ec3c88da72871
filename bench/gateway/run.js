#!/usr/bin/env node
// Gateway benchmark (issue #4 item 9): job output streamed over BEEP ANS next to the same job read with BLPOP
// over RESP, a raw TCP loopback baseline, and the round trip of a trivial job (echo hi) over BEEP and RESP.
// The gateway runs in a child process (bench/gateway/server.js, the public startGateway() plus a `blast`
// output handler), so client and server do not share an event loop. Loopback only; every child is killed on exit.
//
//   npx tsc -b packages/gateway && node bench/gateway/run.js [--quick] [--size MiB] [--runs N] [--reps N]
//        [--only throughput|latency] [--window BYTES] (GatewayClient receive window) [--max-send-frame BYTES]
//        [--profile DIR] (writes a --cpu-prof of the gateway process to DIR)
//
// Throughput rows also give each process's CPU use (% of one core, user + system) in the median run; latency rows
// the CPU time per job of each process, which other load on the machine disturbs much less than wall time.
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import os from 'node:os';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { GatewayClient } from '../../packages/gateway/dist/src/index.js';
import { BeamClient } from '../../packages/beam/dist/src/index.js';
import { benchOptions } from '../lib/args.js';
import { track, stopChild } from '../lib/children.js';
import { HOST } from '../lib/net.js';
import { quantile, table, cpuSummary } from '../lib/report.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The whole run is killed after this long, whatever happens. */
const DEADLINE_MS = 115_000;

const opts = benchOptions(
  'Usage: node bench/gateway/run.js [--quick] [--size MiB] [--runs N] [--reps N] [--only throughput|latency]\n' +
    '         [--window BYTES] [--max-send-frame BYTES] [--profile DIR]\n',
  {
    quick: { type: 'boolean', default: false },
    size: { type: 'string' },
    runs: { type: 'string' },
    reps: { type: 'string' },
    profile: { type: 'string' },
    only: { type: 'string' },
    window: { type: 'string' },
    'max-send-frame': { type: 'string' },
  },
);
const QUICK = opts.quick;
const SIZE = Math.round(Number(opts.size ?? (QUICK ? 64 : 256)) * 1024 * 1024);
/** Sequential runs per latency measurement (after WARMUP more, and after JIT_WARMUP jobs of every kind first). */
const RUNS = Number(opts.runs ?? (QUICK ? 500 : 2000));
const WARMUP = QUICK ? 300 : 1000;
/** Both processes need a few thousand jobs before the JIT has settled; without it the first row pays for it. */
const JIT_WARMUP = 1000;
/** Throughput repetitions per transport (the median is reported, the best shown next to it). */
const REPS = Number(opts.reps ?? (QUICK ? 1 : 3));

// ---- the server child; killed on any exit path (track) ----

let child;
setTimeout(() => {
  process.stderr.write(`bench/gateway: over ${DEADLINE_MS / 1000} s, giving up\n`);
  process.exit(1);
}, DEADLINE_MS).unref();

async function startServer() {
  const nodeArgs = opts.profile ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(opts.profile)] : [];
  const serverArgs = opts['max-send-frame'] ? ['--max-send-frame', opts['max-send-frame']] : [];
  child = track(spawn(process.execPath, [...nodeArgs, path.join(HERE, 'server.js'), ...serverArgs], { stdio: ['pipe', 'pipe', 'inherit'] }));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    serverOut += d;
    for (let nl = serverOut.indexOf('\n'); nl >= 0; nl = serverOut.indexOf('\n')) {
      const line = serverOut.slice(0, nl);
      serverOut = serverOut.slice(nl + 1);
      serverLines.shift()?.(JSON.parse(line));
    }
  });
  return nextServerLine();
}

let serverOut = '';
const serverLines = [];
function nextServerLine() {
  return new Promise((resolve) => serverLines.push(resolve));
}

/** CPU time (µs) the server process and this one used so far. */
async function cpuNow() {
  const reply = nextServerLine();
  child.stdin.write('cpu\n');
  const s = await reply;
  const c = process.cpuUsage();
  return { server: s.user + s.system, client: c.user + c.system };
}

async function stopServer() {
  if (!child) return;
  // A graceful stop, so that --cpu-prof writes its profile.
  await stopChild(child, { graceMs: 5000, ask: (c) => c.stdin.end() });
}

// ---- helpers ----

/** Counts a Readable's octets until it ends. */
function drain(readable) {
  return new Promise((resolve, reject) => {
    let n = 0;
    readable.on('data', (d) => (n += d.length));
    readable.once('end', () => resolve(n));
    readable.once('error', reject);
  });
}

function median(xs) {
  return quantile([...xs].sort((a, b) => a - b), 0.5);
}

const mbps = (bytes, ms) => bytes / 1e6 / (ms / 1000);

/** One output job end to end: from run() until the exit status and every octet of stdout are in. */
async function throughput(runJob) {
  const cpu0 = await cpuNow();
  const t0 = performance.now();
  const job = await runJob();
  const [n, status] = await Promise.all([drain(job.stdout), job.exit, drain(job.stderr)]);
  const ms = performance.now() - t0;
  const cpu1 = await cpuNow();
  if (status !== 0 || n !== SIZE) throw new Error(`blast job: status ${status}, ${n} of ${SIZE} octets`);
  return { mbps: mbps(n, ms), server: (cpu1.server - cpu0.server) / 10 / ms, client: (cpu1.client - cpu0.client) / 10 / ms };
}

async function rawTcp(port) {
  const cpu0 = await cpuNow();
  const t0 = performance.now();
  const sock = net.connect({ host: HOST, port });
  sock.setNoDelay(true);
  await once(sock, 'connect');
  sock.write(`${SIZE}\n`);
  const n = await drain(sock);
  const ms = performance.now() - t0;
  sock.destroy();
  const cpu1 = await cpuNow();
  if (n !== SIZE) throw new Error(`raw TCP: ${n} of ${SIZE} octets`);
  return { mbps: mbps(n, ms), server: (cpu1.server - cpu0.server) / 10 / ms, client: (cpu1.client - cpu0.client) / 10 / ms };
}

/** Round trips of `echo hi`, in milliseconds, sorted; and the CPU time per job of both processes (µs). */
async function latency(runJob) {
  const times = [];
  let cpu0;
  for (let i = 0; i < WARMUP + RUNS; i++) {
    if (i === WARMUP) cpu0 = await cpuNow();
    const t0 = performance.now();
    const job = await runJob();
    const [out, status] = await Promise.all([collect(job.stdout), job.exit, drain(job.stderr)]);
    const ms = performance.now() - t0;
    if (status !== 0 || out !== 'hi\n') throw new Error(`echo job: status ${status}, output ${JSON.stringify(out)}`);
    if (i >= WARMUP) times.push(ms);
  }
  const cpu1 = await cpuNow();
  return { times: times.sort((a, b) => a - b), serverCpu: (cpu1.server - cpu0.server) / RUNS, clientCpu: (cpu1.client - cpu0.client) / RUNS };
}

function collect(readable) {
  return new Promise((resolve, reject) => {
    const parts = [];
    readable.on('data', (d) => parts.push(d));
    readable.once('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    readable.once('error', reject);
  });
}

/** Median and best MB/s of REPS runs, with the CPU use (% of one core) of both processes in the median run. */
async function repeat(fn) {
  const runs = [];
  for (let i = 0; i < REPS; i++) runs.push(await fn());
  runs.sort((a, b) => a.mbps - b.mbps);
  const mid = runs[Math.ceil(runs.length / 2) - 1];
  return { median: mid.mbps, best: runs[runs.length - 1].mbps, server: mid.server, client: mid.client };
}

// ---- main ----

const started = performance.now();
const ports = await startServer();
const results = { throughput: [], latency: [] };
try {
  const beep = await GatewayClient.connect({ host: HOST, port: ports.beep }, opts.window ? { receiveWindow: Number(opts.window) } : {});
  const beam = await new BeamClient({ host: HOST, port: ports.resp }).connect();
  const blastArgs = ['blast', String(SIZE)];
  const echo = ['echo', 'hi'];

  // Warm both paths (JIT, buffers) with small jobs first.
  const small = ['blast', String(4 << 20)];
  for (let i = 0; i < 3; i++) {
    for (const c of [beep, beam]) {
      const j = await c.run(small);
      await Promise.all([drain(j.stdout), drain(j.stderr), j.exit]);
    }
  }

  if (opts.only !== 'latency') {
    const mib = `${(SIZE / 1048576).toFixed(0)} MiB`;
    results.throughput.push({ what: `job output over BEEP ANS (GatewayClient), ${mib}`, ...(await repeat(() => throughput(() => beep.run(blastArgs)))) });
    results.throughput.push({ what: `same job over RESP BLPOP (BeamClient.run), ${mib}`, ...(await repeat(() => throughput(() => beam.run(blastArgs)))) });
    results.throughput.push({ what: `raw TCP loopback, one socket, ${mib}`, ...(await repeat(() => rawTcp(ports.raw))) });
  }

  if (opts.only !== 'throughput') {
    for (let i = 0; i < JIT_WARMUP; i++) {
      const j = await (i % 3 === 0 ? beam.run(echo) : beep.run(echo, { startEarly: i % 3 === 1 }));
      await Promise.all([drain(j.stdout), drain(j.stderr), j.exit]);
    }
    results.latency.push({ what: "BEEP, start='create' (GatewayClient default)", ...(await latency(() => beep.run(echo))) });
    results.latency.push({ what: "BEEP, start='run' (startEarly: false)", ...(await latency(() => beep.run(echo, { startEarly: false }))) });
    results.latency.push({ what: 'RESP, BeamClient.run (BLPOP)', ...(await latency(() => beam.run(echo))) });
  }

  await beep.close().catch(() => {});
  await beam.close().catch(() => {});
} finally {
  await stopServer();
}

// ---- report ----

const f1 = (x) => x.toFixed(1);
const f3 = (x) => x.toFixed(3);
const lines = [];
lines.push(`node ${process.version}, ${cpuSummary()}, ${os.platform()} ${os.release()}`);
lines.push(`gateway in a child process; ${REPS} repetition(s) per throughput row; ${RUNS} sequential runs per latency row after ${JIT_WARMUP} mixed and ${WARMUP} own warm-up runs`);
lines.push('');
lines.push(table(
  ['throughput', 'MB/s (median)', 'best', 'CPU % server', 'client'],
  results.throughput.map((r) => [r.what, f1(r.median), f1(r.best), r.server.toFixed(0), r.client.toFixed(0)]),
));
lines.push('');
lines.push(table(
  ['`echo hi` round trip', 'p50 ms', 'p90 ms', 'p99 ms', 'mean ms', 'jobs/s', 'CPU µs/job server', 'client'],
  results.latency.map((r) => {
    const t = r.times;
    const mean = t.reduce((a, b) => a + b, 0) / t.length;
    return [r.what, f3(quantile(t, 0.5)), f3(quantile(t, 0.9)), f3(quantile(t, 0.99)), f3(mean), (1000 / mean).toFixed(0), r.serverCpu.toFixed(0), r.clientCpu.toFixed(0)];
  }),
));
lines.push('');
lines.push(`(MB = 10^6 octets; wall time ${((performance.now() - started) / 1000).toFixed(1)} s)`);
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(0);
