import { expect } from 'chai';
import { connect, type Channel, type Session } from '@beamgate/beep';
import { GatewayClient } from '../../src/client/gateway-client.js';
import type { Gateway } from '../../src/gateway.js';
import { PeerReplyError } from '../../src/errors.js';
import { RESP_PROFILE_URI } from '../../src/wire/job-xml.js';
import { collect, testGateway } from './helpers.js';
import { cliPath, spawnNode, type Spawned } from './processes.js';

describe('gateway e2e: remote context (beam serve)', function () {
  this.timeout(30000);
  let beam: Spawned | undefined;
  let gw: Gateway | undefined;
  let client: GatewayClient | undefined;
  let beamPort = 0;

  before(async function () {
    const beamCli = cliPath('beam');
    if (!beamCli) this.skip();
    beam = spawnNode(beamCli!, ['serve', '--port', '0']);
    beamPort = (await beam.waitFor((l) => l['msg'] === 'listening'))['port'] as number;
    gw = await testGateway({ context: { kind: 'remote', url: `redis://127.0.0.1:${beamPort}`, host: '127.0.0.1', port: beamPort, db: 0 } });
    client = await GatewayClient.connect({ host: '127.0.0.1', port: gw.beepAddress.port });
  });
  after(async () => {
    await client?.close().catch(() => {});
    await gw?.close(1000);
    await beam?.stop();
  });

  it('runs cat with input on the remote context', async () => {
    const job = await client!.run(['cat'], { stdin: 'over the wire\n' });
    const [out, status] = await Promise.all([collect(job.stdout), job.exit]);
    expect(out.toString()).to.equal('over the wire\n');
    expect(status).to.equal(0);
  });

  it('runs jobs concurrently; an unknown handler is refused with 550 (beam serve publishes /beam/handlers)', async () => {
    const [a, b] = await Promise.all([client!.run(['echo', 'x']), client!.run(['nope']).then(() => undefined, (x: unknown) => x)]);
    const [aout, astatus] = await Promise.all([collect(a.stdout), a.exit]);
    expect(aout.toString()).to.equal('x\n');
    expect(astatus).to.equal(0);
    expect(b).to.be.instanceOf(PeerReplyError);
    expect((b as PeerReplyError).replyCode).to.equal(550);
  });

  it('refuses exec outside the beam server allow-list with 537', async () => {
    const e = await client!.run(['exec', 'rm', '-rf', '/']).then(() => undefined, (x: unknown) => x);
    expect((e as PeerReplyError).replyCode).to.equal(537);
  });

  it('relays the RESP profile, pub/sub included', async () => {
    const s: Session = await connect({ host: '127.0.0.1', port: gw!.beepAddress.port });
    try {
      const ch: Channel = await s.startChannel(RESP_PROFILE_URI);
      const r = await ch.request('*3\r\n$3\r\nSET\r\n$4\r\nrk:1\r\n$1\r\nv\r\nGET rk:1\r\n');
      expect(r.payload.toString()).to.equal('+OK\r\n$1\r\nv\r\n');
      const sub = ch.requestMany('SUBSCRIBE rk:news\r\n');
      const first = await sub.next();
      expect(first.value!.payload.toString()).to.equal('*3\r\n$9\r\nsubscribe\r\n$7\r\nrk:news\r\n:1\r\n');
      const pub: Channel = await s.startChannel(RESP_PROFILE_URI);
      expect((await pub.request('PUBLISH rk:news hi\r\n')).payload.toString()).to.equal(':1\r\n');
      expect((await sub.next()).value!.payload.toString()).to.equal('*3\r\n$7\r\nmessage\r\n$7\r\nrk:news\r\n$2\r\nhi\r\n');
      const unsub = ch.request('UNSUBSCRIBE\r\n');
      expect((await sub.next()).value!.payload.toString()).to.equal('*3\r\n$11\r\nunsubscribe\r\n$7\r\nrk:news\r\n:0\r\n');
      expect((await sub.next()).done).to.equal(true);
      expect((await unsub).payload.length).to.equal(0);
    } finally {
      await s.close().catch(() => s.destroy());
    }
  });

  it('refuses new work with 421 when the context goes away', async () => {
    await beam!.stop();
    const e = await client!.run(['echo', 'y']).then(() => undefined, (x: unknown) => x);
    expect(e).to.be.instanceOf(PeerReplyError);
    expect((e as PeerReplyError).replyCode).to.equal(421);
  });
});
