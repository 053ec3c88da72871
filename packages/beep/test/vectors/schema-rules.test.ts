/**
 * Every file under test-vectors/ against its JSON Schema (test-vectors/schema/, checked with ajv), every vector's
 * `rule`/`rules` against test-vectors/rules.json, and docs/rules.md against the rules it is generated from.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';

const root = fileURLToPath(new URL('../../../../../', import.meta.url));
const vectorsDir = join(root, 'test-vectors');
const schemaDir = join(vectorsDir, 'schema');

function vectorFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.isDirectory()) return e.name === 'schema' || e.name === 'examples' ? [] : vectorFiles(join(dir, e.name));
    return e.name.endsWith('.json') && e.name !== 'rules.json' ? [join(dir, e.name)] : [];
  });
}

const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
for (const f of readdirSync(schemaDir).filter((n) => n.endsWith('.schema.json'))) {
  ajv.addSchema(JSON.parse(readFileSync(join(schemaDir, f), 'utf8')) as object);
}
const schemaFor = (kind: string): string => `https://beamgate.dev/test-vectors/schema/${kind}.schema.json`;

interface Rule {
  id: string;
  force: string;
}
const rulesDoc = JSON.parse(readFileSync(join(vectorsDir, 'rules.json'), 'utf8')) as { rules: Rule[] };
const ruleIds = new Set(rulesDoc.rules.map((r) => r.id));

describe('test vectors: schemas and rules', () => {
  it('rules.json matches its schema and has unique ids', () => {
    const ok = ajv.validate(schemaFor('rules'), rulesDoc);
    expect(ok, ajv.errorsText(ajv.errors)).to.equal(true);
    expect(ruleIds.size).to.equal(rulesDoc.rules.length);
  });

  for (const file of vectorFiles(vectorsDir).sort()) {
    const name = file.slice(vectorsDir.length + 1);
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { kind: string; vectors?: { id: string; rule?: string; rules?: string[] }[]; seeds?: { id: string }[] };
    it(`${name} matches the ${doc.kind} schema`, () => {
      const validate = ajv.getSchema(schemaFor(doc.kind));
      expect(validate, `no schema for kind ${doc.kind}`).to.not.equal(undefined);
      const ok = validate?.(doc);
      expect(ok, ajv.errorsText(validate?.errors, { separator: '\n' })).to.equal(true);
    });
    if (doc.vectors === undefined) {
      // Seed inputs (test-vectors/fuzz/seeds.json) are material for a tool, not checks of a rule.
      it(`${name}: ids are unique`, () => {
        const ids = (doc.seeds ?? []).map((v) => v.id);
        expect(new Set(ids).size, 'duplicate ids').to.equal(ids.length);
      });
      continue;
    }
    const vectors = doc.vectors;
    it(`${name}: ids are unique and every rule resolves to rules.json`, () => {
      const ids = vectors.map((v) => v.id);
      expect(new Set(ids).size, 'duplicate ids').to.equal(ids.length);
      const missing = vectors.flatMap((v) => [v.rule, ...(v.rules ?? [])].filter((r) => r === undefined || !ruleIds.has(r)).map((r) => `${v.id}: ${r}`));
      expect(missing).to.deep.equal([]);
    });
  }

  it('the schema refuses a vector whose bytes are not octets, and an unknown step', () => {
    const bad = { kind: 'beep-session', version: 1, vectors: [{ id: 'x', rule: 'A.1', description: 'd', role: 'listener', steps: [{ send: '\u0100' }] }] };
    expect(ajv.validate(schemaFor('beep-session'), bad)).to.equal(false);
    const bad2 = { ...bad, vectors: [{ ...bad.vectors[0], steps: [{ sleep: 1 }] }] };
    expect(ajv.validate(schemaFor('beep-session'), bad2)).to.equal(false);
  });

  it('docs/rules.md is generated from rules.json and up to date', () => {
    execFileSync(process.execPath, [join(root, 'tools', 'rules-page.mjs'), '--check'], { stdio: 'pipe' });
  });
});
