import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { connect, type Channel, type Session } from '@beamgate/beep';
import { asNumber, type CommandClient } from '../../src/backend/types.js';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { metricValue } from '../../src/metrics.js';
import type { Gateway } from '../../src/gateway.js';
import { PeerReplyError } from '../../src/errors.js';
import { RESP_PROFILE_URI } from '../../src/wire/job-xml.js';
import { collect, testGateway } from './helpers.js';
import { pollUntil } from '@beamgate/base/testing';

/** Polls until `fn` holds, with a deadline. */
async function until(fn: () => boolean | Promise<boolean>, ms = 10000): Promise<void> {
  return pollUntil(fn, { timeoutMs: ms });
}

async function status(beam: CommandClient, id: number, ms = 8000): Promise<number> {
  const r = await beam.call(['BLPOP', `/jobs/${id}/wait`, String(ms / 1000)]);
  if (!Array.isArray(r)) throw new Error(`job ${id} did not exit`);
  return asNumber(r[1]!);
}

describe('gateway e2e: channel close, session loss, detach, signals, drain, RESP', function () {
  this.timeout(20000);
  let gw: Gateway;
  let beam: CommandClient;
  before(async () => {
    gw = await testGateway();
    beam = await gw.backend.openClient();
  });
  after(async () => {
    beam?.close();
    await gw?.close(1000);
  });
  const newClient = () => GatewayClient.connect({ host: '127.0.0.1', port: gw.beepAddress.port });

  it('losing the session stops a running job', async () => {
    const c = await newClient();
    const stdin = new PassThrough();
    const job = await c.run(['cat'], { stdin });
    stdin.write('x');
    await new Promise((r) => job.stdout.once('data', r));
    c.session.destroy();
    expect(await status(beam, job.id)).to.equal(128 + 15);
  });

  it('a detached job keeps running after the session is lost', async () => {
    const c = await newClient();
    const stdin = new PassThrough();
    const job = await c.run(['cat'], { stdin, detach: true });
    stdin.write('before\n');
    await new Promise((r) => job.stdout.once('data', r));
    const open = await metricValue(gw.metrics.sessions);
    c.session.destroy();
    await until(async () => (await metricValue(gw.metrics.sessions)) < open); // the gateway has handled the loss
    expect(await beam.call(['GET', `/jobs/${job.id}/status`])).to.equal(null);
    await beam.call(['RPUSH', `/jobs/${job.id}/in`, '0:after\n', '0:']);
    expect(await status(beam, job.id)).to.equal(0);
    const out = (await beam.call(['LRANGE', `/jobs/${job.id}/out`, '0', '-1'])) as Buffer[];
    expect(out.map(String)).to.include('1:after\n');
  });

  it('delivers a signal from the input reply', async () => {
    const c = await newClient();
    const stdin = new PassThrough();
    const job = await c.run(['cat'], { stdin });
    await job.kill('INT');
    expect(await job.exit).to.equal(128 + 2);
    await c.close();
  });

  it('aborting run() signals the job', async () => {
    const c = await newClient();
    const ac = new AbortController();
    const job = await c.run(['cat'], { stdin: new PassThrough(), signal: ac.signal });
    ac.abort();
    expect(await job.exit).to.equal(128 + 15);
    await c.close();
  });

  it('closing the channel stops the job and the close succeeds', async () => {
    const gw3 = await testGateway({ exec: ['sleep'] });
    const s: Session = await connect({ host: '127.0.0.1', port: gw3.beepAddress.port });
    try {
      const ch: Channel = await s.startChannel('urn:beamgate:profile:job', {
        content: "<job name='exec' input='none'><arg>exec</arg><arg>sleep</arg><arg>30</arg></job>",
      });
      const answers: string[] = [];
      const done = (async () => {
        for await (const a of ch.requestMany('<run/>', { contentType: 'application/beep+xml' })) answers.push(a.payload.toString());
      })();
      await until(async () => (await metricValue(gw3.metrics.jobs, { state: 'running' })) === 1);
      const started = Date.now();
      await ch.close();
      await done;
      expect(Date.now() - started).to.be.below(5000);
      expect(answers.at(-1)).to.equal("<exit status='143'/>");
    } finally {
      await s.close().catch(() => s.destroy());
      await gw3.close(1000);
    }
  });

  it('drains on close: running jobs finish, new starts get 421', async () => {
    const gw2 = await testGateway();
    const c = await GatewayClient.connect({ host: '127.0.0.1', port: gw2.beepAddress.port });
    const stdin = new PassThrough();
    const job = await c.run(['cat'], { stdin });
    const closing = gw2.close(5000); // draining from now on
    const refused = await c.run(['echo']).then(() => undefined, (e: unknown) => e);
    expect((refused as PeerReplyError).replyCode).to.equal(421);
    stdin.end('last words\n');
    const [out, st] = await Promise.all([collect(job.stdout), job.exit]);
    expect(out.toString()).to.equal('last words\n');
    expect(st).to.equal(0);
    await closing;
  });

  it('RESP profile: HELLO 3 switches the channel, BLPOP waits for another channel', async () => {
    const s: Session = await connect({ host: '127.0.0.1', port: gw.beepAddress.port });
    try {
      const a: Channel = await s.startChannel(RESP_PROFILE_URI);
      const b: Channel = await s.startChannel(RESP_PROFILE_URI);
      const hello = await a.request('HELLO 3\r\nGET resp:missing\r\n');
      expect(hello.payload.toString()).to.match(/^%/);
      expect(hello.payload.toString().endsWith('_\r\n')).to.equal(true);
      const blocked = a.request('BLPOP resp:list 5\r\n');
      await until(async () => String(await beam.call(['INFO', 'clients'])).includes('blocked_clients:1\r\n'));
      expect((await b.request('RPUSH resp:list v\r\nGET resp:missing\r\n')).payload.toString()).to.equal(':1\r\n$-1\r\n');
      expect((await blocked).payload.toString()).to.equal('*2\r\n$9\r\nresp:list\r\n$1\r\nv\r\n');
      const bad = await b.request('*2\r\n$3\r\nGET').then(() => undefined, (e: unknown) => e);
      expect((bad as { replyCode?: number }).replyCode).to.equal(501);
    } finally {
      await s.close().catch(() => s.destroy());
    }
  });
});
