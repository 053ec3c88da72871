/** Inputs the fuzzer once found failing, kept as vectors (test-vectors/fuzz/regressions.json) that npm test replays. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../e2e/processes.js';
import type { Finding } from './harness.js';

export interface RegressionVector {
  id: string;
  /** The rule of test-vectors/rules.json every regression checks. */
  rule: 'ROBUST.parsers';
  target: string;
  /** Run seed and index: they give the chunking and options the input was found with. */
  seed: number;
  index: number;
  kind: Finding['kind'];
  description: string;
  input_b64: string;
}

interface RegressionFile {
  kind: 'fuzz-regressions';
  version: 1;
  description: string;
  vectors: RegressionVector[];
}

export const REGRESSIONS_FILE = join(repoRoot(), 'test-vectors', 'fuzz', 'regressions.json');

export function loadRegressions(): RegressionVector[] {
  try {
    return (JSON.parse(readFileSync(REGRESSIONS_FILE, 'utf8')) as RegressionFile).vectors;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Adds findings not yet recorded (same target and input); returns how many were new. */
export function saveRegressions(findings: readonly Finding[]): number {
  const vectors = loadRegressions();
  const seen = new Set(vectors.map((v) => `${v.target}:${v.input_b64}`));
  let added = 0;
  for (const f of findings) {
    const input_b64 = f.input.toString('base64');
    if (seen.has(`${f.target}:${input_b64}`)) continue;
    seen.add(`${f.target}:${input_b64}`);
    vectors.push({ id: `${f.target}-${f.seed}-${f.index}`, rule: 'ROBUST.parsers', target: f.target, seed: f.seed, index: f.index, kind: f.kind, description: f.detail.split('\n')[0]!, input_b64 });
    added++;
  }
  const file: RegressionFile = {
    kind: 'fuzz-regressions',
    version: 1,
    description: 'Inputs npm run fuzz found crashing, hanging or growing memory; each must now end in the target\'s typed error or parse (replayed by npm test).',
    vectors,
  };
  if (added > 0) writeFileSync(REGRESSIONS_FILE, `${JSON.stringify(file, null, 1)}\n`);
  return added;
}
