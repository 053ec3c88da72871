import { expect } from 'chai';
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
