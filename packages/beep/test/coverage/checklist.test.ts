/**
 * Coverage of the 53 BEEP rules (A.1 ... K.53 of test-vectors/rules.json, docs/rules.md) by the language-neutral vectors in
 * test-vectors/beep/*.json: every rule has at least one vector, and every rule where a violation can be fed to an
 * implementation has both a valid and a violating case.
 *
 * Rule ids: frame and XML vectors carry `rule`; session transcripts carry `rule` (main) and `rules` (all). A vector
 * is *violating* when it expects a refusal: frame/XML vectors with `expect.error`; transcripts in which the IUT ends
 * the session for a reason (`expect_close` with a code) or sends a negative reply (an `ERR` frame). Otherwise it is
 * *valid*.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../../../../../test-vectors/beep/', import.meta.url));

/** Checklist sections and the rule numbers they hold. */
const SECTIONS: Record<string, [number, number]> = {
  A: [1, 7],
  B: [8, 10],
  C: [11, 22],
  D: [23, 26],
  E: [27, 33],
  F: [34, 38],
  G: [39, 41],
  H: [42, 46],
  I: [47, 47],
  J: [48, 50],
  K: [51, 53],
};

/**
 * Rules with no violating input to feed: sender behaviour (29-32: window use, SEQ policy, frame size; 46: 257
 * channels), a rule whose breach is indistinguishable from legal input (19: a reused ansno reads as the next frame of
 * that answer), legality statements (9: zero-size frames), and TLS steps after `proceed` that need a real handshake
 * (49, 50; covered by test/profiles/tls-upgrade.test.ts).
 */
const VALID_ONLY = new Set([9, 19, 29, 30, 31, 32, 46, 49, 50]);

interface Step {
  expect?: string;
  expect_match?: string;
  expect_close?: string | null;
}
interface AnyVector {
  id: string;
  rule: string;
  rules?: string[];
  expect?: { error?: string };
  steps?: Step[];
}

function isViolating(v: AnyVector): boolean {
  if (v.steps === undefined) return v.expect?.error !== undefined;
  return v.steps.some(
    (s) =>
      (s.expect_close !== undefined && s.expect_close !== null) ||
      (s.expect ?? '').startsWith('ERR ') ||
      (s.expect_match ?? '').startsWith('ERR '),
  );
}

interface Tally {
  valid: number;
  violating: number;
  files: Set<string>;
}

const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const tally = new Map<number, Tally>();
const badIds: string[] = [];
for (const file of files) {
  const doc = JSON.parse(readFileSync(dir + file, 'utf8')) as { vectors: AnyVector[] };
  for (const v of doc.vectors) {
    const ids = new Set([v.rule, ...(v.rules ?? [])]);
    for (const id of ids) {
      const m = /^([A-K])\.([0-9]+)$/.exec(id);
      const sec = m ? SECTIONS[m[1] as string] : undefined;
      const n = m ? Number(m[2]) : NaN;
      if (sec === undefined || n < sec[0] || n > sec[1]) {
        badIds.push(`${file} ${v.id}: ${id}`);
        continue;
      }
      const t = tally.get(n) ?? { valid: 0, violating: 0, files: new Set<string>() };
      if (isViolating(v)) t.violating++;
      else t.valid++;
      t.files.add(file.replace(/\.json$/, ''));
      tally.set(n, t);
    }
  }
}

function ruleId(n: number): string {
  for (const [s, [lo, hi]] of Object.entries(SECTIONS)) if (n >= lo && n <= hi) return `${s}.${n}`;
  return String(n);
}

describe('checklist coverage by test-vectors/beep/*.json', () => {
  it('reads every vector file', () => {
    expect(files.length).to.be.at.least(10);
  });

  it('every rule id names a checklist rule of the right section (A.1-7 ... K.51-53)', () => {
    expect(badIds).to.deep.equal([]);
  });

  for (let n = 1; n <= 53; n++) {
    const t = tally.get(n);
    const label = t
      ? `${ruleId(n)}: ${t.valid} valid, ${t.violating} violating (${[...t.files].join(', ')})`
      : `${ruleId(n)}: no vector`;
    it(label, () => {
      expect(t, `rule ${ruleId(n)} has no vector`).to.not.equal(undefined);
      if (!VALID_ONLY.has(n)) {
        expect(t?.valid, `rule ${ruleId(n)} needs a valid case`).to.be.greaterThan(0);
        expect(t?.violating, `rule ${ruleId(n)} needs a violating case`).to.be.greaterThan(0);
      }
    });
  }

  it('lists the rules that have both a valid and a violating case', () => {
    const both = [...tally.entries()].filter(([, t]) => t.valid > 0 && t.violating > 0).map(([n]) => n);
    const required = Array.from({ length: 53 }, (_, i) => i + 1).filter((n) => !VALID_ONLY.has(n));
    expect(both.filter((n) => required.includes(n)).sort((a, b) => a - b)).to.deep.equal(required);
  });
});
