/** `beep conform` against the gateway's BEEP listener: every applicable MUST rule holds. */
import { expect } from 'chai';
import { checkListener, defaultVectorsDir, exitStatus } from '@beamgate/beep';
import type { Gateway } from '../../src/gateway.js';
import { testGateway } from './helpers.js';

describe('gateway e2e: beep conform against beamgate serve', function () {
  this.timeout(60000);
  let gw: Gateway;
  before(async () => {
    gw = await testGateway();
  });
  after(() => gw.close());

  it('exits 0: no FAIL, and the channel-0, frame and greeting rules PASS', async () => {
    const r = await checkListener({
      target: { host: '127.0.0.1', port: gw.beepAddress.port },
      vectorsDir: defaultVectorsDir(),
      stepTimeout: 2000,
      vectorTimeout: 10000,
      quietMs: 150,
      concurrency: 4,
    });
    expect(r.reports.filter((x) => x.verdict === 'FAIL'), JSON.stringify(r.reports.filter((x) => x.verdict === 'FAIL'), null, 1)).to.deep.equal([]);
    expect(exitStatus(r.reports)).to.equal(0);
    const pass = new Set(r.reports.filter((x) => x.verdict === 'PASS').map((x) => x.id));
    for (const id of ['A.1', 'A.2', 'B.8', 'F.34', 'F.36', 'G.39', 'H.42']) expect(pass.has(id), id).to.equal(true);
    expect(pass.size).to.be.at.least(20);
  });
});
