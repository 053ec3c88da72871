import net, { type AddressInfo } from 'node:net';
import { expect } from 'chai';
import { connect, DEFAULT_LISTENER_IDLE_TIMEOUT, listen, type Listener } from '../../src/api/connect.js';
import type { Session } from '../../src/session/session.js';
import { echoProfile, TEST_PROFILE_URIS } from '../../src/testing/test-profiles.js';
import { pollUntil } from '@beamgate/base/testing';

async function until(pred: () => boolean, what: string, ms = 10000): Promise<void> {
  return pollUntil(pred, { what, timeoutMs: ms });
}

describe('session: idle timeout after the greeting', function () {
  this.timeout(20000);
  let listener: Listener;
  let port: number;
  const cleanup: Array<() => void> = [];

  beforeEach(async () => {
    listener = await listen({ port: 0, profiles: [echoProfile()], idleTimeout: 300 });
    port = (listener.address() as AddressInfo).port;
  });
  afterEach(async () => {
    for (const c of cleanup.splice(0)) c();
    await listener.close(100);
  });

  function serverSession(): Promise<Session> {
    return new Promise((resolve) => listener.once('session', resolve));
  }

  it('closes a session that trickles a frame header byte by byte (slowloris) with BEEP_IDLE_TIMEOUT', async () => {
    const accepted = serverSession();
    const sock = net.connect(port, '127.0.0.1');
    cleanup.push(() => sock.destroy());
    sock.on('error', () => undefined);
    await new Promise((r) => sock.once('connect', r));
    const body = 'Content-Type: application/beep+xml\r\n\r\n<greeting/>';
    sock.write(`RPY 0 0 . 0 ${body.length}\r\n${body}END\r\n`);
    const server = await accepted;
    let reason: (Error & { code?: string }) | undefined;
    server.on('close', (e?: Error) => (reason = e));
    const header = 'MSG 0 1 . 49 100\r\n';
    let i = 0;
    const t = setInterval(() => {
      if (i < header.length && !sock.destroyed) sock.write(header[i++]!);
    }, 50);
    cleanup.push(() => clearInterval(t));
    await until(() => server.closed, 'the idle session to be closed');
    expect(reason?.code).to.equal('BEEP_IDLE_TIMEOUT');
    expect(i).to.be.below(header.length);
  });

  it('keeps sessions with an open channel, and defaults to 5 minutes on listeners', async () => {
    expect(DEFAULT_LISTENER_IDLE_TIMEOUT).to.equal(300_000);
    const accepted = serverSession();
    const s = await connect({ port }, { profiles: [] });
    cleanup.push(() => s.destroy());
    const server = await accepted;
    const ch = await s.startChannel(TEST_PROFILE_URIS.echo);
    const t0 = Date.now();
    await until(() => Date.now() - t0 > 900, 'three idle periods');
    expect(server.closed).to.equal(false);
    expect((await ch.request('still here')).text()).to.equal('still here');
  });
});
