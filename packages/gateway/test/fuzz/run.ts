/**
 * `npm run fuzz [-- --count N] [--seed S] [--target NAME]... [--start I]`: fuzzes every target (or those named),
 * one worker thread each, one after the other. A worker that reports no progress for --stall-ms is
 * terminated and the block of inputs it was in is reported as a hang. Findings are saved as regression vectors
 * (test-vectors/fuzz/regressions.json). Prints one JSON line per target; exits 1 if anything was found.
 */
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { fuzz, inputAt, type Finding, type FuzzResult } from './harness.js';
import { saveRegressions } from './regressions.js';
import { allTargets } from './targets.js';

interface Job {
  target: string;
  seed: number;
  count: number;
  start: number;
}

type FromWorker = { kind: 'progress'; next: number } | { kind: 'done'; result: Omit<FuzzResult, 'findings'>; findings: Array<Omit<Finding, 'input'> & { input: string }> };

const PROGRESS_EVERY = 1000;

if (!isMainThread) {
  const job = workerData as Job;
  const target = allTargets().find((t) => t.name === job.target)!;
  const r = fuzz(target, { seed: job.seed, count: job.count, start: job.start, progressEvery: PROGRESS_EVERY, onProgress: (next) => parentPort!.postMessage({ kind: 'progress', next } satisfies FromWorker) });
  const { findings, ...result } = r;
  parentPort!.postMessage({ kind: 'done', result, findings: findings.map((f) => ({ ...f, input: f.input.toString('base64') })) } satisfies FromWorker);
} else {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '1000000' },
      seed: { type: 'string', default: '1' },
      start: { type: 'string', default: '0' },
      target: { type: 'string', multiple: true, default: [] },
      'stall-ms': { type: 'string', default: '60000' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const names = allTargets().map((t) => t.name);
  if (values.help) {
    process.stdout.write(`Usage: npm run fuzz -- [--count N (1000000)] [--seed S (1)] [--start I (0)] [--target NAME]... [--stall-ms MS (60000)]\nTargets: ${names.join(', ')}\n`);
    process.exit(0);
  }
  const bad = values.target.filter((t) => !names.includes(t));
  if (bad.length > 0) {
    process.stderr.write(`unknown target(s): ${bad.join(', ')}; known: ${names.join(', ')}\n`);
    process.exit(2);
  }
  const job = { seed: Number(values.seed), count: Number(values.count), start: Number(values.start) };
  const stallMs = Number(values['stall-ms']);
  let failed = false;
  for (const target of values.target.length > 0 ? values.target : names) {
    const { result, findings } = await runWorker({ target, ...job }, stallMs);
    const added = saveRegressions(findings);
    if (findings.length > 0) failed = true;
    const byKind = { crash: 0, hang: 0, growth: 0 };
    for (const f of findings) byKind[f.kind]++;
    process.stdout.write(
      `${JSON.stringify({
        target,
        seed: job.seed,
        start: job.start,
        inputs: result.inputs,
        seconds: Number((result.ms / 1000).toFixed(1)),
        inputsPerSecond: Math.round(result.inputs / (result.ms / 1000)),
        typedErrors: result.typedErrors,
        crashes: byKind.crash,
        hangs: byKind.hang,
        growth: byKind.growth,
        slowestMs: Number(result.slowestMs.toFixed(1)),
        largestAllocation: result.largestAlloc,
        peakRssMiB: Math.round(result.peakRss / 1048576),
        newRegressionVectors: added,
      })}\n`,
    );
    for (const f of findings.slice(0, 5)) process.stderr.write(`${f.kind} at ${f.target} index ${f.index}: ${f.detail.split('\n').slice(0, 4).join('\n')}\n`);
  }
  process.exitCode = failed ? 1 : 0;
}

function runWorker(job: Job, stallMs: number): Promise<{ result: Omit<FuzzResult, 'findings'>; findings: Finding[] }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: job });
    let next = job.start;
    let timer = setTimeout(stalled, stallMs);
    function stalled(): void {
      void w.terminate();
      // The worker is stuck in one of the inputs of this block: report them all, they are regenerated exactly.
      const target = allTargets().find((t) => t.name === job.target)!;
      const findings: Finding[] = [];
      for (let i = next; i < Math.min(next + PROGRESS_EVERY, job.start + job.count); i++) {
        findings.push({ target: job.target, seed: job.seed, index: i, kind: 'hang', detail: `no progress for ${stallMs} ms in inputs ${next}..${next + PROGRESS_EVERY - 1}`, input: inputAt(target, job.seed, i).input });
      }
      resolve({ result: { target: job.target, seed: job.seed, inputs: next - job.start, ms: 0, typedErrors: 0, slowestMs: stallMs, largestAlloc: 0, peakRss: 0 }, findings });
    }
    w.on('message', (m: FromWorker) => {
      if (m.kind === 'progress') {
        next = m.next;
        clearTimeout(timer);
        timer = setTimeout(stalled, stallMs);
        return;
      }
      clearTimeout(timer);
      resolve({ result: m.result, findings: m.findings.map((f) => ({ ...f, input: Buffer.from(f.input, 'base64') })) });
    });
    w.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
