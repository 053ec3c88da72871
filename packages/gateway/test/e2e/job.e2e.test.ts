import { expect } from 'chai';
import net from 'node:net';
import { GatewayClient } from '../../src/client/gateway-client.js';
import type { Gateway } from '../../src/gateway.js';
import { PeerReplyError } from '../../src/errors.js';
import { collect, testGateway } from './helpers.js';

describe('gateway e2e: jobs over BEEP', function () {
  this.timeout(20000);
  let gw: Gateway;
  let client: GatewayClient;
  before(async () => {
    gw = await testGateway();
    client = await GatewayClient.connect({ host: '127.0.0.1', port: gw.beepAddress.port });
  });
  after(async () => {
    await client?.close().catch(() => {});
    await gw?.close(1000);
  });

  it('accepts escaped start content and answers with CDATA (peers such as Vortex 1.1 compare the raw text)', async () => {
    const sock = net.connect(gw.beepAddress.port, '127.0.0.1');
    let got = '';
    sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
    const xml = 'Content-Type: application/beep+xml\r\n\r\n';
    const greeting = `${xml}<greeting />`;
    const start = `${xml}<start number='1'><profile uri='urn:beamgate:profile:job'>&lt;job name='echo' input='none'&gt;&lt;arg&gt;echo&lt;/arg&gt;&lt;/job&gt;</profile></start>`;
    sock.write(`RPY 0 0 . 0 ${greeting.length}\r\n${greeting}END\r\nMSG 0 1 . ${greeting.length} ${start.length}\r\n${start}END\r\n`);
    const deadline = Date.now() + 10000;
    while (!/RPY 0 1 [^\r]*\r\n[\s\S]*?END\r\n/.test(got) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    sock.destroy();
    expect(got).to.match(/<profile uri='urn:beamgate:profile:job'><!\[CDATA\[<job id='\d+'\/>\]\]><\/profile>END\r\n/);
  });

  it('runs cat with input', async () => {
    const job = await client.run(['cat'], { stdin: 'hello\nworld\n' });
    expect(job.id).to.be.a('number');
    const [out, err, status] = await Promise.all([collect(job.stdout), collect(job.stderr), job.exit]);
    expect(out.toString()).to.equal('hello\nworld\n');
    expect(err.length).to.equal(0);
    expect(status).to.equal(0);
  });

  it('runs echo without input', async () => {
    const job = await client.run(['echo', 'a', 'b']);
    const [out, status] = await Promise.all([collect(job.stdout), job.exit]);
    expect(out.toString()).to.equal('a b\n');
    expect(status).to.equal(0);
  });

  it('refuses an unknown handler with 550', async () => {
    const e = await client.run(['no-such-handler']).then(() => undefined, (x: unknown) => x);
    expect(e).to.be.instanceOf(PeerReplyError);
    expect((e as PeerReplyError).replyCode).to.equal(550);
  });

  it('refuses exec of a program outside the allow-list with 537', async () => {
    const e = await client.run(['exec', 'rm', '-rf', '/']).then(() => undefined, (x: unknown) => x);
    expect((e as PeerReplyError).replyCode).to.equal(537);
  });
});
