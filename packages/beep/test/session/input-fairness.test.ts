import { expect } from 'chai';
import { Session, type SessionBinding } from '../../src/session/session.js';
import type { ProfileDefinition } from '../../src/session/types.js';
import { InputPacer } from '../../src/session/input-pacer.js';

/** `n` turns of the event loop. */
async function turns(n: number): Promise<void> {
  for (let k = 0; k < n; k++) await new Promise((r) => setImmediate(r));
}

/** `count` MSG frames on `channel`, msgno 0.., each a one-frame message of `size` octets (an entity without headers). */
function msgFrames(channel: number, count: number, size: number): Buffer {
  const parts: Buffer[] = [];
  let seq = 0;
  for (let m = 0; m < count; m++) {
    parts.push(Buffer.from(`MSG ${channel} ${m} . ${seq} ${size}\r\n\r\n`, 'latin1'), Buffer.alloc(size - 2, 0x61), Buffer.from('END\r\n'));
    seq += size;
  }
  return Buffer.concat(parts);
}

/**
 * A listener whose channel 1 counts the MSGs it gets (in `seen`), after a real start from an initiator; from then on
 * the initiator's side is played by hand (`l.receive(...)`). `reads` counts the listener's pause/resume calls.
 */
async function countingListener(readTurnBytes?: number): Promise<{ l: Session; i: Session; seen: number[]; reads: { pauses: number; resumes: number } }> {
  const seen: number[] = [];
  const counting: ProfileDefinition = { uri: 'urn:count', onMessage: (m, r) => (seen.push(m.msgno), r.rpy('')) };
  const opts = { receiveWindow: 4 * 1024 * 1024 };
  const i = new Session({ role: 'initiator', ...opts });
  const l = new Session({ role: 'listener', profiles: [counting], ...opts, ...(readTurnBytes !== undefined ? { readTurnBytes } : {}) });
  const reads = { pauses: 0, resumes: 0 };
  let cut = false;
  const link = (to: Session): SessionBinding => ({
    write(chunk) {
      if (!cut) setImmediate(() => to.receive(chunk));
      return true;
    },
    end: () => undefined,
    destroy: () => undefined,
  });
  i.attach(link(l));
  l.attach({ ...link(i), pauseReading: () => void reads.pauses++, resumeReading: () => void reads.resumes++ });
  await i.ready;
  await i.startChannel('urn:count');
  await turns(5); // the listener's window advertisement went out with its reply
  cut = true;
  return { l, i, seen, reads };
}

describe('session: fair input', function () {
  this.timeout(20000);

  it('parses a large read over several event-loop turns, not reading meanwhile, in order', async () => {
    const { l, i, seen, reads } = await countingListener();
    const flood = msgFrames(1, 1000, 1000); // ~1 MiB in one read
    l.receive(flood);
    // One turn parses a bounded share of it and asks the transport to stop reading.
    expect(seen.length).to.be.greaterThan(0);
    expect(seen.length).to.be.at.most(300);
    expect(reads.pauses).to.equal(1);
    expect(reads.resumes).to.equal(0);
    let t = 0;
    while (seen.length < 1000 && t++ < 100) await turns(1);
    expect(t).to.be.greaterThan(2); // several turns
    expect(seen).to.deep.equal(Array.from({ length: 1000 }, (_, k) => k));
    expect(reads.resumes).to.equal(1);
    expect(l.closed, String(l.closeReason)).to.equal(false);
    l.destroy();
    i.destroy();
  });

  it('parses at most readTurnBytes per turn (default 64 KiB; 16 KiB when asked)', async () => {
    for (const [limit, expected] of [[undefined, 64 * 1024], [16 * 1024, 16 * 1024]] as const) {
      const { l, i, seen } = await countingListener(limit);
      expect(l.limits.readTurnBytes).to.equal(expected);
      l.receive(msgFrames(1, 200, 1000));
      // A message is parsed once its last octet is in the turn's share: at most share/size + 1 of them.
      expect(seen.length).to.be.greaterThan(0);
      expect(seen.length).to.be.at.most(Math.ceil(expected / 1000) + 1);
      let t = 0;
      while (seen.length < 200 && t++ < 100) await turns(1);
      expect(seen).to.deep.equal(Array.from({ length: 200 }, (_, k) => k));
      l.destroy();
      i.destroy();
    }
    expect(() => new Session({ role: 'listener', readTurnBytes: 10 })).to.throw(/readTurnBytes/);
  });

  it('keeps a backlog in arrival order when more reads come in before it is worked off', async () => {
    const { l, i, seen } = await countingListener();
    const flood = msgFrames(1, 600, 1000);
    // Split at odd places: in the middle of headers and payloads, as a transport would.
    for (let off = 0; off < flood.length; off += 65_537) l.receive(flood.subarray(off, off + 65_537));
    expect(seen.length).to.be.at.most(300);
    let t = 0;
    while (seen.length < 600 && t++ < 100) await turns(1);
    expect(seen).to.deep.equal(Array.from({ length: 600 }, (_, k) => k));
    expect(l.closed, String(l.closeReason)).to.equal(false);
    l.destroy();
    i.destroy();
  });

  it('InputPacer.flush() hands the whole backlog over at once, in order (tuning swaps the stream)', () => {
    const got: Buffer[] = [];
    const states: boolean[] = [];
    const pacer = new InputPacer({ consume: (c) => void got.push(c), backlogged: (p) => void states.push(p) }, 1000);
    const data = Buffer.from(Array.from({ length: 3500 }, (_, k) => k % 251));
    pacer.push(data.subarray(0, 2500));
    pacer.push(data.subarray(2500));
    expect(Buffer.concat(got).length).to.equal(1000);
    expect(states).to.deep.equal([true]);
    pacer.flush();
    expect(Buffer.concat(got).equals(data)).to.equal(true);
    expect(states).to.deep.equal([true, false]);
    expect(pacer.pending).to.equal(false);
    pacer.stop();
  });
});
