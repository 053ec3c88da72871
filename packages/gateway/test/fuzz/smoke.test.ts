import { expect } from 'chai';
import { fuzz, inputAt, replay } from './harness.js';
import { loadRegressions } from './regressions.js';
import { mutate } from './mutate.js';
import { inputRng } from './rng.js';
import { allTargets } from './targets.js';

/** npm test's share of the fuzz harness: a short seeded run per target and a replay of every regression vector. */
describe('fuzz: smoke run of every target (npm run fuzz does 1,000,000 inputs each)', function () {
  this.timeout(120000);
  const SMOKE_INPUTS = 20_000;

  for (const target of allTargets()) {
    it(`${target.name}: ${SMOKE_INPUTS} mutated inputs, no crash, hang or unbounded growth`, function () {
      // Not npm run fuzz's default seed (1), so that the smoke inputs are not a prefix of the full run's.
      const seed = 2;
      const r = fuzz(target, { seed, count: SMOKE_INPUTS });
      const first = r.findings[0];
      expect(r.findings, first ? `${first.kind} at seed ${seed} index ${first.index} (npm run fuzz -- --seed ${seed} --start ${first.index} --count 1 --target ${target.name}): ${first.detail}` : '').to.deep.equal([]);
      expect(target.seeds.length).to.be.greaterThan(0);
    });
  }

  it('replays every regression vector (test-vectors/fuzz/regressions.json): no crash, hang or growth', () => {
    const targets = new Map(allTargets().map((t) => [t.name, t]));
    const vectors = loadRegressions();
    expect(vectors.length).to.be.greaterThan(0);
    for (const v of vectors) {
      const target = targets.get(v.target);
      expect(target, v.id).to.not.equal(undefined);
      const r = replay(target!, v.seed, v.index, Buffer.from(v.input_b64, 'base64'));
      expect(r.findings.map((f) => `${f.kind}: ${f.detail}`), v.id).to.deep.equal([]);
    }
  });

  it('is reproducible: the same seed and index give the same input', () => {
    const [t] = allTargets();
    expect(inputAt(t!, 7, 12345).input).to.deep.equal(inputAt(t!, 7, 12345).input);
    expect(inputAt(t!, 7, 12345).input).to.not.deep.equal(inputAt(t!, 8, 12345).input);
    const seed = Buffer.from('MSG 0 1 . 0 5\r\nhelloEND\r\n');
    expect(mutate(inputRng(1, 'x', 5), seed, [seed], [])).to.deep.equal(mutate(inputRng(1, 'x', 5), seed, [seed], []));
  });
});
