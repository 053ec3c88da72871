/**
 * Session vectors (test-vectors/beep/sessions-*.json) and rules (test-vectors/rules.json) as `beep conform` reads
 * them, and the choice of the vectors that can run against a given peer.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Rule {
  id: string;
  spec: string;
  section: string;
  force: 'MUST' | 'SHOULD' | 'MAY';
  applies: string;
  statement: string;
}

export interface SessionStep {
  send?: string;
  send_base64?: string;
  expect?: string;
  expect_match?: string;
  expect_nothing?: boolean;
  expect_close?: string | null;
  wait_ms?: number;
  do?: string;
  action?: string;
  outcome?: string;
  action_result?: string;
  [k: string]: unknown;
}

export interface SessionVector {
  id: string;
  rule: string;
  rules?: string[];
  description: string;
  role: 'initiator' | 'listener';
  needs?: (string | { sasl: { mechanism: string; user?: string; password?: string } })[];
  iut?: string;
  options?: Record<string, unknown>;
  steps: SessionStep[];
  /** File it came from (added on load). */
  file?: string;
}

/** test-vectors/ of this repository (the CLI runs from packages/beep/dist/src/conform). */
export function defaultVectorsDir(): string {
  return fileURLToPath(new URL('../../../../../test-vectors/', import.meta.url));
}

export function loadRules(dir: string): Rule[] {
  return (JSON.parse(readFileSync(join(dir, 'rules.json'), 'utf8')) as { rules: Rule[] }).rules;
}

export function loadSessionVectors(dir: string): SessionVector[] {
  const beep = join(dir, 'beep');
  const out: SessionVector[] = [];
  for (const f of readdirSync(beep).filter((n) => /^sessions-.*\.json$/.test(n)).sort()) {
    const doc = JSON.parse(readFileSync(join(beep, f), 'utf8')) as { kind: string; vectors: SessionVector[] };
    if (doc.kind !== 'beep-session') continue;
    for (const v of doc.vectors) out.push({ ...v, file: f });
  }
  return out;
}

export const LEGACY_PROFILE_PREFIX = 'urn:beamgate:test:';
export const TEST_PROFILE_PREFIX = 'urn:beamgate:profile:test:';
export const TLS_URI = 'http://iana.org/beep/TLS';
export const SASL_PREFIX = 'http://iana.org/beep/SASL/';

/** `needs` of a vector, derived from its content when the file predates the field. */
export function needsOf(v: SessionVector): string[] {
  if (v.needs !== undefined) return v.needs.map((n) => (typeof n === 'string' ? n : 'sasl'));
  const text = JSON.stringify(v.steps);
  const needs: string[] = [];
  for (const p of ['echo', 'ans', 'hold']) if (text.includes(TEST_PROFILE_PREFIX + p) || text.includes(LEGACY_PROFILE_PREFIX + p)) needs.push(p);
  if (text.includes(TLS_URI)) needs.push('tls');
  if (text.includes(SASL_PREFIX)) needs.push('sasl');
  if (v.steps.some((s) => s.do !== undefined || s.action !== undefined)) needs.push('script');
  return needs.length ? needs : ['channel0'];
}

export function rulesOf(v: SessionVector): string[] {
  return [...new Set([v.rule, ...(v.rules ?? [])])];
}
