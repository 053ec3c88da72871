import { expect } from 'chai';
import { ZSet } from '../../src/context/zset.js';

/** The blocked sorted list against a naive model (a fully re-sorted array) under random operations. */
describe('context/ZSet', () => {
  it('matches a naive model through inserts, updates, deletes, range removals and bulk calls', () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return Math.floor(seed / 65536) % n;
    };
    const z = new ZSet();
    let maxSize = 0;
    const model = new Map<string, number>();
    const sorted = (): Array<[string, number]> =>
      [...model].sort((a, b) => (a[1] !== b[1] ? a[1] - b[1] : a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    // Single inserts first: blocks fill and split.
    for (let i = 0; i < 1200; i++) {
      const s = rnd(40) - 20;
      z.set(`m${rnd(1500)}`, s);
    }
    for (const [m, s] of z) model.set(m, s);
    for (let step = 0; step < 6000; step++) {
      const op = rnd(100);
      if (op < 70) {
        const m = `m${rnd(1500)}`;
        const s = rnd(40) - 20;
        z.set(m, s);
        model.set(m, s);
      } else if (op < 78) {
        const m = `m${rnd(1500)}`;
        expect(z.delete(m)).to.equal(model.delete(m));
      } else if (op < 80) {
        const start = rnd(Math.max(1, model.size));
        const end = start + rnd(40);
        const want = sorted().slice(start, end);
        const got = z.removeRange(start, end).map((n) => [n.m, n.s]);
        expect(got).to.deep.equal(want);
        for (const [m] of want) model.delete(m);
      } else if (op < 84) {
        const batch = new Map<string, number>();
        for (let i = 0; i < 100; i++) batch.set(`m${rnd(1500)}`, rnd(40) - 20);
        z.setMany(batch);
        for (const [m, s] of batch) model.set(m, s);
      } else if (op < 86) {
        const ms = Array.from({ length: 80 }, () => `m${rnd(1500)}`);
        const existed = new Set(ms.filter((m) => model.has(m))).size;
        expect(z.deleteMany(ms)).to.equal(existed);
        for (const m of ms) model.delete(m);
      } else {
        const all = sorted();
        const s = rnd(40) - 20;
        expect(z.firstScoreIndex(s, false)).to.equal(all.filter(([, x]) => x < s).length);
        expect(z.firstScoreIndex(s, true)).to.equal(all.filter(([, x]) => x <= s).length);
        if (all.length > 0) {
          const [m] = all[rnd(all.length)]!;
          expect(z.rank(m)).to.equal(all.findIndex(([x]) => x === m));
        }
        const a = rnd(all.length + 1);
        expect(z.slice(a, a + 50).map((n) => [n.m, n.s])).to.deep.equal(all.slice(a, a + 50));
      }
      expect(z.size).to.equal(model.size);
      maxSize = Math.max(maxSize, model.size);
    }
    expect([...z]).to.deep.equal(sorted());
    expect([...z.clone()]).to.deep.equal(sorted());
    // Large enough for several blocks and block splits.
    expect(maxSize).to.be.greaterThan(600);
  });
});
