import { expect } from 'chai';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { attachJobs, BEAM_HANDLERS_KEY, createServer, type BeamServer, type JobEngine, type JobLimits } from '@beamgate/beam';
import { GatewayClient } from '../../src/client/gateway-client.js';
import type { Gateway } from '../../src/gateway.js';
import { PeerReplyError } from '../../src/errors.js';
import { collect, testGateway } from './helpers.js';

const LIMITS: Partial<JobLimits> = { maxArgs: 4, maxArgsBytes: 64, maxJobs: 1 };

async function refusal(p: Promise<unknown>): Promise<PeerReplyError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).to.be.instanceOf(PeerReplyError);
  return e as PeerReplyError;
}

/** Job refusals that must look the same over an embedded and a remote context. */
function limitCases(get: () => GatewayClient): void {
  it('a job over maxArgs is refused with 554 and the context message', async () => {
    const e = await refusal(get().run(['echo', 'a', 'b', 'c', 'd']));
    expect(e.replyCode).to.equal(554);
    expect(e.message).to.match(/too many arguments \(maxArgs 4\)/);
  });

  it('a job over maxArgsBytes is refused with 554', async () => {
    const e = await refusal(get().run(['echo', 'x'.repeat(100)]));
    expect(e.replyCode).to.equal(554);
    expect(e.message).to.match(/maxArgsBytes 64/);
  });

  it('a start beyond maxJobs is refused with 554 (start at creation) or ERR 554 (start at run)', async () => {
    const stdin = new PassThrough();
    const held = await get().run(['cat'], { stdin });
    try {
      const early = await refusal(get().run(['echo', 'x']));
      expect(early.replyCode).to.equal(554);
      expect(early.message).to.match(/too many running jobs/);
      const late = await get().run(['echo', 'y'], { startEarly: false });
      const e = await refusal(late.exit);
      expect(e.replyCode).to.equal(554);
      expect(e.message).to.match(/cannot start.*too many running jobs/);
    } finally {
      stdin.end('bye');
    }
    expect((await collect(held.stdout)).toString()).to.equal('bye');
    expect(await held.exit).to.equal(0);
  });
}

describe('gateway e2e: context verdicts (remote context publishing its catalog)', function () {
  this.timeout(20000);
  let server: BeamServer;
  let engine: JobEngine | undefined;
  let gw: Gateway | undefined;
  let client: GatewayClient | undefined;

  before(async () => {
    server = createServer({
      host: '127.0.0.1',
      port: 0,
      setup: (dispatcher, context) => {
        engine = attachJobs(context, { dispatcher, exec: ['printf'], limits: LIMITS });
      },
    });
    const port = ((await server.listen()) as AddressInfo).port;
    gw = await testGateway({ context: { kind: 'remote', url: `redis://127.0.0.1:${port}`, host: '127.0.0.1', port, db: 0 } });
    client = await GatewayClient.connect({ host: '127.0.0.1', port: gw.beepAddress.port });
  });
  after(async () => {
    await client?.close().catch(() => {});
    await gw?.close(1000);
    await engine?.close();
    await server?.close();
  });

  const jobCount = (): number => server.context!.call(server.context!.createInternalClient(), [Buffer.from('LLEN'), Buffer.from('/jobs')]) as number;

  it('refuses an unknown handler with 550 before creating the job', async () => {
    const before = jobCount();
    const e = await refusal(client!.run(['no-such-handler']));
    expect(e.replyCode).to.equal(550);
    expect(jobCount()).to.equal(before);
  });

  it('applies the exec rules: 537 outside the allow-list, allowed programs run both ways', async () => {
    expect((await refusal(client!.run(['exec', 'rm', '-rf', '/']))).replyCode).to.equal(537);
    const a = await client!.run(['exec', 'printf', 'via-exec']);
    expect((await collect(a.stdout)).toString()).to.equal('via-exec');
    expect(await a.exit).to.equal(0);
    const b = await client!.run(['printf', 'direct']);
    expect((await collect(b.stdout)).toString()).to.equal('direct');
    expect(await b.exit).to.equal(0);
  });

  it('follows handlers registered and unregistered on the context', async () => {
    engine!.registerHandler('late', (job) => {
      job.stdout.write('late\n');
      return 3;
    });
    const j = await client!.run(['late']);
    expect((await collect(j.stdout)).toString()).to.equal('late\n');
    expect(await j.exit).to.equal(3);
    engine!.unregisterHandler('late');
    expect((await refusal(client!.run(['late']))).replyCode).to.equal(550);
  });

  it('falls back to creating the job when the context publishes no catalog (exit 127)', async () => {
    const ctx = server.context!;
    const internal = ctx.createInternalClient();
    ctx.call(internal, [Buffer.from('DEL'), Buffer.from(BEAM_HANDLERS_KEY)]);
    try {
      const j = await client!.run(['no-such-handler']);
      const [err, status] = await Promise.all([collect(j.stderr), j.exit]);
      expect(status).to.equal(127);
      expect(err.toString()).to.match(/no such job handler/);
    } finally {
      // FLUSHALL makes the engine publish its catalog again.
      ctx.call(internal, [Buffer.from('FLUSHALL')]);
      const deadline = Date.now() + 10000;
      while ((await ctx.call(internal, [Buffer.from('EXISTS'), Buffer.from('/beam/handlers')])) !== 1) {
        if (Date.now() > deadline) throw new Error('catalog not published again');
        await new Promise((r) => setImmediate(r));
      }
    }
    expect((await refusal(client!.run(['no-such-handler']))).replyCode).to.equal(550);
  });

  limitCases(() => client!);
});

describe('gateway e2e: context verdicts (embedded context)', function () {
  this.timeout(20000);
  let gw: Gateway | undefined;
  let client: GatewayClient | undefined;
  before(async () => {
    gw = await testGateway({ jobLimits: LIMITS });
    client = await GatewayClient.connect({ host: '127.0.0.1', port: gw.beepAddress.port });
  });
  after(async () => {
    await client?.close().catch(() => {});
    await gw?.close(1000);
  });

  limitCases(() => client!);
});
