/**
 * Window vectors fitted to the window a peer announced: the scaled form keeps every frame at the same fraction of
 * the window, and still fails against a peer whose window is not the one it was scaled to.
 */
import { expect } from 'chai';
import { listen, type Listener } from '../../src/api/connect.js';
import { replayVector } from '../../src/conform/replay.js';
import { scaleWindow, windowBound } from '../../src/conform/scale-window.js';
import { defaultVectorsDir, loadSessionVectors, type SessionVector } from '../../src/conform/vectors.js';
import { testProfiles } from '../../src/testing/test-profiles.js';

const vectors = loadSessionVectors(defaultVectorsDir());
const byId = (id: string): SessionVector => {
  const v = vectors.find((x) => x.id === id);
  if (!v) throw new Error(`no vector ${id}`);
  return v;
};
const HALF = 'seq-only-once-half-the-window-is-free-again-no-seq-per-frame';
const FILL = 'a-frame-filling-the-initial-4096-window-exactly-is-accepted';
const BEYOND = 'a-frame-beyond-the-window-is-refused-from-its-header';
const ECHO = 'the-sender-never-exceeds-the-peer-window-and-resumes-on-seq';
const opts = { stepTimeout: 2000, vectorTimeout: 10000, quietMs: 150 };

describe('conform: window vectors scaled to the announced window', function () {
  this.timeout(30000);

  it('multiplies octet counts on the test channels, leaves channel 0 alone', () => {
    const v = scaleWindow(byId(HALF), 4096, 65536);
    expect(v).to.not.equal(undefined);
    const sends = v?.steps.flatMap((s) => (s.send ? [s.send.split('\r\n')[0]] : [])) ?? [];
    expect(sends).to.deep.equal([
      'RPY 0 0 . 0 50',
      'MSG 0 1 . 50 111',
      'MSG 1 0 . 0 16000',
      'MSG 1 1 . 16000 16752',
      'MSG 1 2 . 32752 16',
    ]);
    expect(v?.steps.at(-1)?.expect).to.equal('SEQ 1 32768 65536\r\n');
    expect(scaleWindow(byId(BEYOND), 4096, 65536)?.steps.find((s) => s.send?.startsWith('MSG 1'))?.send).to.equal('MSG 1 0 . 0 65552\r\n');
  });

  it('refuses what it cannot scale faithfully', () => {
    expect(windowBound(byId(ECHO))).to.equal(true);
    expect(scaleWindow(byId(ECHO), 4096, 65536), 'the peer replies on the channel').to.equal(undefined);
    expect(scaleWindow(byId(HALF), 4096, 10000), 'not a whole multiple').to.equal(undefined);
    expect(scaleWindow(byId(HALF), 4096, 4096)).to.equal(byId(HALF));
  });

  // Against a smaller window the frame past 65536 octets is refused too: that vector alone cannot tell them apart.
  const expected: [number, Record<string, 'pass' | 'fail'>][] = [
    [65536, { [HALF]: 'pass', [FILL]: 'pass', [BEYOND]: 'pass' }],
    [4096, { [HALF]: 'fail', [FILL]: 'fail', [BEYOND]: 'pass' }],
    [131072, { [HALF]: 'fail', [FILL]: 'fail', [BEYOND]: 'fail' }],
  ];
  for (const [window, verdicts] of expected) {
    it(`the vectors scaled to 65536 against a listener whose window is ${window}: ${Object.values(verdicts).join(', ')}`, async () => {
      const listener: Listener = await listen({ port: 0, profiles: testProfiles(['hold']), receiveWindow: window });
      try {
        const target = { host: '127.0.0.1', port: (listener.server.address() as { port: number }).port };
        for (const [id, verdict] of Object.entries(verdicts)) {
          const v = scaleWindow(byId(id), 4096, 65536);
          if (v === undefined) throw new Error(`${id} not scaled`);
          const out = await replayVector(v, target, opts);
          expect(out.status, `${id}: ${JSON.stringify(out)}`.slice(0, 600)).to.equal(verdict);
        }
      } finally {
        await listener.close(200);
      }
    });
  }
});
