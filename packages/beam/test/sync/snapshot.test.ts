import { expect } from 'chai';
import { parseRdb } from '../../src/sync/rdb-reader.js';
import { rdbChunks } from '../../src/sync/rdb-writer.js';
import { captureSnapshot } from '../../src/sync/snapshot.js';
import { MiniKeyspace, canonOf, canonOfKeyspace, plain } from './helpers.js';

function populate(ks: MiniKeyspace, n: number): void {
  for (let i = 0; i < n; i++) {
    const db = i % 3;
    ks.apply(db, ['RPUSH', `list${i}`, 'a', 'b']);
    ks.apply(db, ['HSET', `hash${i}`, 'f', String(i)]);
    ks.apply(db, ['SADD', `set${i}`, 'x']);
    ks.apply(db, ['SET', `str${i}`, `v${i}`]);
  }
}

/** Writes the snapshot while `mutate(step)` runs between the writer's chunks; returns the parsed keyspace. */
async function writeWhileMutating(ks: MiniKeyspace, mutate: (step: number) => void): Promise<ReturnType<typeof plain>> {
  const snap = captureSnapshot(ks);
  const parts: Buffer[] = [];
  let step = 0;
  for await (const chunk of rdbChunks(snap, { yieldEveryKeys: 3, chunkSize: 256 })) {
    parts.push(chunk);
    mutate(step++);
  }
  snap.release();
  return plain(canonOf(parseRdb(Buffer.concat(parts)).entries));
}

describe('sync/snapshot', () => {
  for (const hook of [true, false]) {
    it(`stays equal to the keyspace at capture while commands mutate it (${hook ? 'copy-on-write hook' : 'eager copy'})`, async () => {
      const ks = new MiniKeyspace();
      ks.hookEnabled = hook;
      populate(ks, 60);
      const before = plain(canonOfKeyspace(ks));
      let touched = 0;
      const got = await writeWhileMutating(ks, (step) => {
        // in-place writes to keys both already written and not yet written, deletes, renames-by-move, new keys
        for (const i of [step, 59 - step, (step * 7) % 60]) {
          const db = i % 3;
          ks.apply(db, ['RPUSH', `list${i}`, `new${step}`]);
          ks.apply(db, ['HSET', `hash${i}`, 'f', `changed${step}`, `g${step}`, 'x']);
          ks.apply(db, ['SADD', `set${i}`, `y${step}`]);
          touched++;
        }
        ks.apply(step % 3, ['DEL', `str${(step * 11) % 60}`]);
        ks.apply(step % 3, ['SET', `fresh${step}`, 'new key']);
      });
      expect(touched).to.be.greaterThan(10);
      expect(got).to.deep.equal(before);
      expect(plain(canonOfKeyspace(ks))).to.not.deep.equal(before);
      expect(ks.hookListeners).to.equal(0);
    });
  }

  it('copies only containers mutated before the writer reached them, and unhooks once done', async () => {
    const ks = new MiniKeyspace();
    ks.apply(0, ['RPUSH', 'a', '1']);
    ks.apply(0, ['RPUSH', 'b', '1']);
    const snap = captureSnapshot(ks);
    expect(snap.mode).to.equal('cow');
    expect(ks.hookListeners).to.equal(1);
    const it = snap.databases()[Symbol.iterator]().next().value!.entries()[Symbol.iterator]();
    const first = it.next().value!;
    expect(first.key.toString()).to.equal('a');
    ks.apply(0, ['RPUSH', 'a', '2']); // already handed out: no copy
    ks.apply(0, ['RPUSH', 'b', '2']); // pending: copied
    expect(snap.preservedCount).to.equal(1);
    const second = it.next().value!;
    expect((second.value as Buffer[]).map(String)).to.deep.equal(['1']);
    expect(ks.hookListeners).to.equal(0);
    snap.release();
  });

  it('release() drops the hook even when writing is abandoned', () => {
    const ks = new MiniKeyspace();
    populate(ks, 5);
    const snap = captureSnapshot(ks);
    expect(ks.hookListeners).to.equal(1);
    snap.release();
    snap.release();
    expect(ks.hookListeners).to.equal(0);
  });
});
