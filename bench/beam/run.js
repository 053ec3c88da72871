#!/usr/bin/env node
// Beam server benchmark: redis-benchmark against our server and a real redis-server (same run, interleaved),
// jobs/s over RESP, and exec start overhead against a bare spawn. Loopback only.
//
//   npx tsc -b packages/beam && node bench/beam/run.js [--quick] [--rounds N] [--beam-main PATH]
//
// Needs redis-server and redis-benchmark on PATH (Debian: redis-server, redis-tools).
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { BeamClient, createServer, attachJobs } from '../../packages/beam/dist/src/index.js';
import { benchOptions } from '../lib/args.js';
import { track, killAll, stopChild } from '../lib/children.js';
import { HOST, freePort, waitForPort } from '../lib/net.js';
import { ROOT } from '../lib/paths.js';
import { quantile, table, fmt, cpuSummary } from '../lib/report.js';

const DEFAULT_BEAM_MAIN = path.join(ROOT, 'packages/beam/dist/src/cli/main.js');

const opts = benchOptions('Usage: node bench/beam/run.js [--quick] [--rounds N] [--beam-main PATH/TO/cli/main.js]\n', {
  quick: { type: 'boolean', default: false },
  rounds: { type: 'string' },
  'beam-main': { type: 'string' },
});
const QUICK = opts.quick;
/** The server to compare (A/B runs of a modified build); default this checkout's. */
const BEAM_MAIN = path.resolve(opts['beam-main'] ?? DEFAULT_BEAM_MAIN);
/** Each redis-benchmark test runs this many times per server (alternating); the median is reported. */
const ROUNDS = Number(opts.rounds ?? (QUICK ? 1 : 5));
/** Requests per redis-benchmark run, without and with pipelining. */
const N_P1 = QUICK ? 20_000 : 30_000;
const N_P16 = QUICK ? 100_000 : 200_000;
const CLIENTS = 50;
const TESTS = ['PING_INLINE', 'PING_MBULK', 'SET', 'GET', 'LPUSH', 'RPOP', 'LRANGE_100'];
/** LRANGE_100 moves 100 elements per request: fewer requests keep its run as long as the others. */
const N_SCALE = { LRANGE_100: 0.25 };

/**
 * Starts a server that listens on HOST:`port` in a child process; resolves once it accepts connections, rejects
 * with the start of its stderr if it exits first.
 */
async function startListening(name, cmd, args, port) {
  const child = track(spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
  let log = '';
  child.stderr.on('data', (d) => {
    // beam's job start/exit lines arrive all the time: keep only the start of the log for error messages.
    if (log.length < 4096) log += d.toString();
  });
  const exited = new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`${name} exited (${code}): ${log}`))));
  exited.catch(() => {});
  await Promise.race([waitForPort(port), exited]);
  return { port, child };
}

/** `beam serve` in a child process (its own event loop); resolves with its port. */
async function startBeam(extraArgs = []) {
  const port = await freePort();
  return startListening('beam serve', process.execPath, [BEAM_MAIN, 'serve', '--host', HOST, '--port', String(port), ...extraArgs], port);
}

async function startRedis() {
  const port = await freePort();
  return startListening('redis-server', 'redis-server', ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'], port);
}

// ---- redis-benchmark ----

/**
 * CPU seconds (user + system) a process has used so far, from /proc (Linux); NaN elsewhere. Clock ticks are
 * taken as 100 Hz (USER_HZ on Linux).
 */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/**
 * Runs one redis-benchmark test against `server`; resolves with requests/s of the row named `test` and the
 * server's CPU time per request in microseconds (less sensitive than requests/s to other load on the machine).
 */
async function measure(server, test, n, pipeline) {
  const before = cpuSeconds(server.child.pid);
  const rps = await redisBenchmark(server.port, test, n, pipeline);
  const cpu = ((cpuSeconds(server.child.pid) - before) * 1e6) / n;
  return { rps, cpu };
}

/** Runs one redis-benchmark test; resolves with requests/s of the row named `test`. */
function redisBenchmark(port, test, n, pipeline) {
  const args = ['-h', HOST, '-p', String(port), '-c', String(CLIENTS), '-n', String(n), '-q', '--csv', '-t', test.toLowerCase()];
  if (pipeline > 1) args.push('-P', String(pipeline));
  return new Promise((resolve, reject) => {
    const child = track(spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('error', reject);
    child.once('exit', (code) => {
      // The LRANGE tests print a preparatory LPUSH row first; pick the row of the test itself.
      for (const line of out.split('\n')) {
        const cells = line.split(',').map((c) => c.replace(/^"|"$/g, ''));
        if (cells[0] !== undefined && (cells[0] === test || cells[0].startsWith(`${test} `))) {
          const rps = Number(cells[1]);
          if (Number.isFinite(rps) && rps > 0) return resolve(rps);
        }
      }
      reject(new Error(`redis-benchmark ${args.join(' ')} exited ${code}: no ${test} row\n${out}${err}`));
    });
  });
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function percentile(xs, p) {
  return quantile([...xs].sort((a, b) => a - b), p / 100);
}

/** A short pass over every test on both servers first: our server's JIT warms up, both get their sockets and lists. */
async function warmUp(ours, redis) {
  for (const test of TESTS) {
    for (const pipeline of [1, 16]) {
      const n = QUICK ? 5_000 : 20_000;
      await redisBenchmark(ours.port, test, n, pipeline);
      await redisBenchmark(redis.port, test, n, pipeline);
    }
  }
}

async function serverBench(ours, redis, pipeline) {
  const rows = [];
  for (const test of TESTS) {
    const n = Math.round((pipeline > 1 ? N_P16 : N_P1) * (N_SCALE[test] ?? 1));
    const a = [];
    const b = [];
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate who goes first so that slow drift (other load, thermal) hits both alike.
      if (r % 2 === 0) {
        a.push(await measure(ours, test, n, pipeline));
        b.push(await measure(redis, test, n, pipeline));
      } else {
        b.push(await measure(redis, test, n, pipeline));
        a.push(await measure(ours, test, n, pipeline));
      }
    }
    const ratios = a.map((x, i) => x.rps / b[i].rps);
    const row = {
      test,
      ours: median(a.map((x) => x.rps)),
      redis: median(b.map((x) => x.rps)),
      ratio: median(ratios),
      min: Math.min(...ratios),
      max: Math.max(...ratios),
      oursCpu: median(a.map((x) => x.cpu)),
      redisCpu: median(b.map((x) => x.cpu)),
      n,
    };
    rows.push(row);
    process.stderr.write(`  P${pipeline} ${test}: ours ${fmt(row.ours)} redis ${fmt(row.redis)} ratio ${row.ratio.toFixed(2)}  [${ratios.map((x) => x.toFixed(2)).join(' ')}]  cpu us/req ${row.oursCpu.toFixed(2)} vs ${row.redisCpu.toFixed(2)}\n`);
  }
  return rows;
}

// ---- jobs ----

async function jobsPerSecond(port, name, args, total, concurrency) {
  const clients = [];
  for (let i = 0; i < concurrency; i++) clients.push(await new BeamClient({ host: HOST, port }).connect());
  let next = 0;
  const lat = [];
  const t0 = performance.now();
  try {
    await Promise.all(clients.map(async (client) => {
      while (next < total) {
        next++;
        const s = performance.now();
        const job = await client.run(args, { name });
        job.stdout.resume();
        job.stderr.resume();
        const status = await job.exit;
        if (status !== 0) throw new Error(`job ${name} exited ${status}`);
        lat.push(performance.now() - s);
      }
    }));
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
  const secs = (performance.now() - t0) / 1000;
  return { rate: lat.length / secs, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

/** A server in this process with a custom handler, so the handler runs in the harness' own event loop. */
async function inProcessServer() {
  const server = createServer({
    host: HOST,
    port: 0,
    setup: (dispatcher, context) => {
      attachJobs(context, { dispatcher, handlers: { noop: () => 0 } });
    },
  });
  const addr = await server.listen();
  return { server, port: addr.port };
}

async function bareSpawn(count) {
  const lat = [];
  for (let i = 0; i < count; i++) {
    const s = performance.now();
    await new Promise((resolve, reject) => {
      const c = spawn('true', [], { stdio: ['pipe', 'pipe', 'pipe'] });
      c.stdout.resume();
      c.stderr.resume();
      c.once('error', reject);
      c.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`true exited ${code}`))));
    });
    lat.push(performance.now() - s);
  }
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), rate: count / (lat.reduce((x, y) => x + y, 0) / 1000) };
}

// ---- output ----

function version(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim().split('\n')[0];
  } catch {
    return `${cmd}: unknown version`;
  }
}

async function main() {
  const started = Date.now();
  const cpus = os.cpus();
  process.stderr.write(`beam bench${QUICK ? ' (quick)' : ''}: ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, node ${process.version}, ${version('redis-server', ['--version'])}\n`);

  const ours = await startBeam(['--exec', 'true']);
  const redis = await startRedis();
  const out = [];
  out.push(`Run: \`node bench/beam/run.js${process.argv.slice(2).map((a) => ` ${a}`).join('')}\` — ${cpuSummary()}, node ${process.version}, ${version('redis-server', ['--version'])}; load average at start ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}${BEAM_MAIN === DEFAULT_BEAM_MAIN ? '' : `; server ${BEAM_MAIN}`}.`);
  out.push(`redis-benchmark -c ${CLIENTS} -q --csv after a warm-up pass; ${ROUNDS} round(s) per test, alternating which server goes first (median rps; ratio = median of per-round ratios); -n ${N_P1} without pipelining, ${N_P16} with -P 16 (LRANGE_100: a quarter).`);

  process.stderr.write('  warm-up...\n');
  await warmUp(ours, redis);
  for (const pipeline of [1, 16]) {
    const rows = await serverBench(ours, redis, pipeline);
    out.push('');
    out.push(pipeline === 1 ? '**Without pipelining** (requests/s)' : '**With -P 16** (requests/s)');
    out.push('');
    out.push(table(
      ['test', 'beam rps', 'redis-server rps', 'ratio (median)', 'ratio range', 'beam CPU µs/req', 'redis CPU µs/req'],
      rows.map((r) => [r.test, fmt(r.ours), fmt(r.redis), `${r.ratio.toFixed(2)}x`, `${r.min.toFixed(2)}-${r.max.toFixed(2)}`, r.oursCpu.toFixed(2), r.redisCpu.toFixed(2)]),
    ));
  }
  await stopChild(redis.child);

  // Jobs over RESP (child server): echo is a handler inside the server process.
  const nJobs = QUICK ? 100 : 500;
  const jobRows = [];
  process.stderr.write('  jobs...\n');
  for (const c of [1, 16]) {
    const r = await jobsPerSecond(ours.port, 'echo', ['echo', 'hi'], c === 1 ? nJobs : nJobs * 2, c);
    jobRows.push([`echo (beam serve, child process)`, String(c), fmt(r.rate), r.p50.toFixed(2), r.p99.toFixed(2)]);
  }
  const inproc = await inProcessServer();
  try {
    for (const c of [1, 16]) {
      const r = await jobsPerSecond(inproc.port, 'noop', ['noop'], c === 1 ? nJobs : nJobs * 2, c);
      jobRows.push([`custom handler (server in the harness process)`, String(c), fmt(r.rate), r.p50.toFixed(2), r.p99.toFixed(2)]);
    }
  } finally {
    await inproc.server.close();
  }
  out.push('');
  out.push('**Jobs over RESP** (BeamClient.run: RPUSH /jobs, RPUSH args, RPUSH in, SET start, BLPOP output on a second connection until exit)');
  out.push('');
  out.push(table(['handler', 'concurrent', 'jobs/s', 'p50 ms', 'p99 ms'], jobRows));

  // Exec start overhead: our exec job running `true` against a bare spawn of `true`.
  process.stderr.write('  exec...\n');
  const nExec = QUICK ? 50 : 200;
  const bare = await bareSpawn(nExec);
  const viaJob = await jobsPerSecond(ours.port, 'exec', ['exec', 'true'], nExec, 1);
  await stopChild(ours.child);
  out.push('');
  out.push(`**Exec start overhead** (${nExec} sequential runs of \`true\`)`);
  out.push('');
  out.push(table(['how', 'p50 ms', 'p99 ms', 'runs/s'], [
    ['bare child_process.spawn (harness)', bare.p50.toFixed(2), bare.p99.toFixed(2), fmt(bare.rate)],
    ['beam `exec true` job over RESP', viaJob.p50.toFixed(2), viaJob.p99.toFixed(2), fmt(viaJob.rate)],
    ['overhead (p50)', (viaJob.p50 - bare.p50).toFixed(2), (viaJob.p99 - bare.p99).toFixed(2), ''],
  ]));
  out.push('');
  out.push(`Total bench time ${((Date.now() - started) / 1000).toFixed(0)} s.`);
  process.stdout.write(`${out.join('\n')}\n`);
}

main().then(
  () => {
    killAll();
    process.exit(0);
  },
  (e) => {
    process.stderr.write(`bench failed: ${e?.stack ?? e}\n`);
    killAll();
    process.exit(1);
  },
);
