/** `beep conform --listen`: judging the initiator that connects (ours, and broken ones). */
import { expect } from 'chai';
import net from 'node:net';
import { connect } from '../../src/api/connect.js';
import { judgeInitiators } from '../../src/conform/check-initiator.js';
import type { RuleReport } from '../../src/conform/report.js';
import { defaultVectorsDir } from '../../src/conform/vectors.js';
import { TEST_PROFILE_URIS } from '../../src/testing/test-profiles.js';

async function judge(sessions: number, drive: (port: number) => Promise<void>, stepTimeout = 2000): Promise<RuleReport[]> {
  let ready: (port: number) => void = () => undefined;
  const listening = new Promise<number>((resolve) => (ready = resolve));
  const result = judgeInitiators({ host: '127.0.0.1', port: 0, sessions, waitMs: 20000, stepTimeout, vectorsDir: defaultVectorsDir(), onListening: ready });
  await drive(await listening);
  return (await result).reports;
}

const verdict = (r: RuleReport[], id: string): string | undefined => r.find((x) => x.id === id)?.verdict;

function raw(port: number, bytes: string): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(Buffer.from(bytes, 'latin1')));
    s.on('data', () => undefined);
    s.on('error', () => resolve());
    s.on('close', () => resolve());
    setTimeout(() => s.destroy(), 1500);
  });
}

const XML = 'Content-Type: application/beep+xml\r\n\r\n';
const frame = (kw: string, ch: number, msgno: number, seq: number, payload: string): string =>
  `${kw} ${ch} ${msgno} . ${seq} ${Buffer.byteLength(payload, 'latin1')}\r\n${payload}END\r\n`;

describe('beep conform --listen (judging an initiator)', function () {
  this.timeout(30000);

  it('our own initiator: greets at once, odd channel, correct seqnos and XML, no FAIL', async () => {
    const r = await judge(1, async (port) => {
      const s = await connect({ host: '127.0.0.1', port });
      const ch = await s.startChannel(TEST_PROFILE_URIS.echo);
      await ch.request('hello '.repeat(2000));
      await ch.close();
      await s.close();
    });
    expect(r.filter((x) => x.verdict === 'FAIL')).to.deep.equal([]);
    for (const id of ['F.34', 'F.36', 'F.37', 'D.24', 'G.39']) expect(verdict(r, id), id).to.equal('PASS');
  });

  it('an initiator that starts an even channel fails F.37', async () => {
    const r = await judge(1, (port) => {
      const g = XML + '<greeting />';
      const start = XML + `<start number='2'><profile uri='${TEST_PROFILE_URIS.echo}'/></start>`;
      return raw(port, frame('RPY', 0, 0, 0, g) + frame('MSG', 0, 1, g.length, start));
    });
    expect(verdict(r, 'F.37')).to.equal('FAIL');
  });

  it('an initiator that waits for our greeting fails F.34; one with a wrong seqno fails D.24', async () => {
    const r = await judge(
      2,
      async (port) => {
        await raw(port, '');
        const g = XML + '<greeting />';
        await raw(port, frame('RPY', 0, 0, 0, g) + frame('MSG', 0, 1, 7, XML + `<start number='1'><profile uri='${TEST_PROFILE_URIS.echo}'/></start>`));
      },
      300,
    );
    expect(verdict(r, 'F.34')).to.equal('FAIL');
    expect(verdict(r, 'D.24')).to.equal('FAIL');
  });
});
