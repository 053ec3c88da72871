/**
 * The fuzz loop: input i of a target is mutate(seed, inputRng(runSeed, target, i)), so any input is
 * reproduced from (seed, target, index) alone. Per input it checks: only the target's typed error escapes
 * (else a crash), the time stays under a bound (else a hang), and no single allocation exceeds a bound
 * proportional to the input (else unbounded growth); every `memoryEvery` inputs the process RSS is checked too.
 */
import { performance } from 'node:perf_hooks';
import { mutate } from './mutate.js';
import { inputRng, type Rng } from './rng.js';
import type { FuzzTarget } from './targets.js';

export interface FuzzOptions {
  seed: number;
  count: number;
  /** First index (to resume or replay). */
  start?: number;
  /** An input taking longer than this is a hang (ms). */
  timeLimitMs?: number;
  /** Largest single allocation allowed: fixed part plus this many bytes per input byte. */
  allocBase?: number;
  allocPerByte?: number;
  /** RSS above this is unbounded growth. */
  maxRss?: number;
  /** Called every `progressEvery` inputs with the next index. */
  onProgress?: (next: number) => void;
  progressEvery?: number;
  /** Replaces the generated input of an index (regression vectors). */
  inputOf?: (index: number) => { input: Buffer; rng: Rng };
}

export interface Finding {
  target: string;
  seed: number;
  index: number;
  kind: 'crash' | 'hang' | 'growth';
  detail: string;
  input: Buffer;
}

export interface FuzzResult {
  target: string;
  seed: number;
  inputs: number;
  ms: number;
  typedErrors: number;
  findings: Finding[];
  slowestMs: number;
  largestAlloc: number;
  peakRss: number;
}

/** The input of `index` (what the loop feeds the target). */
export function inputAt(target: FuzzTarget, seed: number, index: number): { input: Buffer; rng: Rng } {
  const rng = inputRng(seed, target.name, index);
  const base = target.seeds[rng.int(target.seeds.length)]!;
  const input = rng.chance(64) ? base : mutate(rng, base, target.seeds, target.dict);
  return { input, rng };
}

function timed(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

/** Runs input `index` again, swallowing what it throws (its verdict is already recorded). */
function rerun(target: FuzzTarget, seed: number, index: number): void {
  const { input, rng } = inputAt(target, seed, index);
  try {
    target.run(input, rng);
  } catch {
    // recorded on the first run
  }
}

type AllocFn = (size: number, ...rest: never[]) => Buffer;

/** Records the largest Buffer allocation while `fn` runs. */
function trackAllocations(): { largest: () => number; reset: () => void; restore: () => void } {
  let largest = 0;
  const B = Buffer as unknown as Record<'alloc' | 'allocUnsafe' | 'allocUnsafeSlow', AllocFn>;
  const saved = { alloc: B.alloc, allocUnsafe: B.allocUnsafe, allocUnsafeSlow: B.allocUnsafeSlow };
  for (const name of ['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const) {
    const orig = saved[name];
    B[name] = function (this: unknown, size: number, ...rest: never[]): Buffer {
      if (size > largest) largest = size;
      return orig.call(this, size, ...rest);
    } as AllocFn;
  }
  return {
    largest: () => largest,
    reset: () => (largest = 0),
    restore: () => Object.assign(B, saved),
  };
}

/** Runs one given input with the options and chunking of (seed, index), under the same checks as fuzz(). */
export function replay(target: FuzzTarget, seed: number, index: number, input: Buffer): FuzzResult {
  return fuzz(target, { seed, count: 1, start: index, inputOf: () => ({ input, rng: inputAt(target, seed, index).rng }) });
}

export function fuzz(target: FuzzTarget, opts: FuzzOptions): FuzzResult {
  const { seed, count } = opts;
  const start = opts.start ?? 0;
  const timeLimit = opts.timeLimitMs ?? 1000;
  const allocBase = opts.allocBase ?? 1024 * 1024;
  const allocPerByte = opts.allocPerByte ?? 128;
  const maxRss = opts.maxRss ?? 1024 * 1024 * 1024;
  const progressEvery = opts.progressEvery ?? 1000;
  const findings: Finding[] = [];
  let typedErrors = 0;
  let slowest = 0;
  let largestAlloc = 0;
  let peakRss = 0;
  const alloc = trackAllocations();
  const t0 = performance.now();
  try {
    for (let index = start; index < start + count; index++) {
      const { input, rng } = (opts.inputOf ?? ((i: number) => inputAt(target, seed, i)))(index);
      const note = (kind: Finding['kind'], detail: string): void => {
        findings.push({ target: target.name, seed, index, kind, detail, input: Buffer.from(input) });
      };
      alloc.reset();
      const t = performance.now();
      try {
        target.run(input, rng);
      } catch (e) {
        if (target.typed(e)) typedErrors++;
        else note('crash', e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e));
      }
      let dt = performance.now() - t;
      // Wall time also counts a descheduled process (a loaded machine, nice 19): only an input slow on two
      // more runs as well is a hang.
      for (let again = 0; again < 2 && dt > timeLimit; again++) dt = Math.min(dt, timed(() => rerun(target, seed, index)));
      if (dt > slowest) slowest = dt;
      if (dt > timeLimit) note('hang', `took ${dt.toFixed(0)} ms (limit ${timeLimit}) on three runs`);
      const big = alloc.largest();
      if (big > largestAlloc) largestAlloc = big;
      if (big > allocBase + allocPerByte * input.length) note('growth', `allocated ${big} bytes at once for a ${input.length}-byte input`);
      if ((index + 1) % progressEvery === 0) {
        const rss = process.memoryUsage.rss();
        if (rss > peakRss) peakRss = rss;
        if (rss > maxRss) note('growth', `RSS ${rss} bytes`);
        opts.onProgress?.(index + 1);
      }
    }
  } finally {
    alloc.restore();
  }
  return { target: target.name, seed, inputs: count, ms: performance.now() - t0, typedErrors, findings, slowestMs: slowest, largestAlloc, peakRss };
}
