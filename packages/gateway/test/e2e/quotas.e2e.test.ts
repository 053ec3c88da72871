import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { GatewayClient, type GatewayJob } from '../../src/client/gateway-client.js';
import { DEFAULT_LIMITS } from '../../src/config.js';
import type { Gateway } from '../../src/gateway.js';
import { PeerReplyError } from '../../src/errors.js';
import { testGateway } from './helpers.js';

describe('gateway e2e: job quotas', function () {
  this.timeout(30000);
  let gw: Gateway;
  const clients: GatewayClient[] = [];
  const inputs: PassThrough[] = [];
  before(async () => {
    gw = await testGateway({
      limits: { ...DEFAULT_LIMITS, maxJobsPerSession: 2, maxJobsPerIdentity: 3 },
      security: { tls: { selfSigned: true }, sasl: { users: ['alice:wonderland'] } },
    });
  });
  afterEach(async () => {
    for (const i of inputs.splice(0)) i.end();
    for (const c of clients.splice(0)) await c.close().catch(() => c.session.destroy());
  });
  after(async () => {
    await gw?.close(1000);
  });

  async function client(alice = false): Promise<GatewayClient> {
    const c = alice
      ? await GatewayClient.connect(
          { host: '127.0.0.1', port: gw.beepAddress.port },
          { tls: { rejectUnauthorized: false }, sasl: { authcid: 'alice', password: 'wonderland' } },
        )
      : await GatewayClient.connect({ host: '127.0.0.1', port: gw.beepAddress.port });
    clients.push(c);
    return c;
  }

  /** A `cat` that runs until its input ends. */
  async function hold(c: GatewayClient): Promise<{ job: GatewayJob; stdin: PassThrough }> {
    const stdin = new PassThrough();
    inputs.push(stdin);
    const job = await c.run(['cat'], { stdin });
    job.stdout.resume();
    return { job, stdin };
  }

  async function refusal(c: GatewayClient): Promise<PeerReplyError> {
    const e = await hold(c).then(() => undefined, (x: unknown) => x);
    expect(e).to.be.instanceOf(PeerReplyError);
    return e as PeerReplyError;
  }

  it('refuses a session more jobs than maxJobsPerSession with 450, without affecting other sessions', async () => {
    const a = await client();
    const first = await hold(a);
    await hold(a);
    const e = await refusal(a);
    expect(e.replyCode).to.equal(450);
    expect(e.message).to.contain('maxJobsPerSession');
    // Another session is not affected.
    const b = await client();
    await hold(b);
    // The slot comes back when a job ends.
    first.stdin.end();
    expect(await first.job.exit).to.equal(0);
    await hold(a);
  });

  it('refuses an identity more jobs than maxJobsPerIdentity across its sessions', async () => {
    const s1 = await client(true);
    const s2 = await client(true);
    await hold(s1);
    await hold(s1);
    await hold(s2);
    const e = await refusal(s2);
    expect(e.replyCode).to.equal(450);
    expect(e.message).to.contain('maxJobsPerIdentity');
    // An anonymous session still runs jobs.
    const anon = await client();
    await hold(anon);
  });
});
