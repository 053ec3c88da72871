import net, { type AddressInfo } from 'node:net';
import { expect } from 'chai';
import { listen, connect, type Listener, type ListenOptions } from '../../src/api/connect.js';
import { Session } from '../../src/session/session.js';
import { bindSession } from '../../src/transport/duplex-binding.js';
import { ansProfile, echoProfile, TEST_PROFILE_URIS } from '../../src/testing/test-profiles.js';
import type { Channel } from '../../src/session/channel.js';
import { pollUntil } from '@beamgate/base/testing';

const KiB = 1024;

async function until(pred: () => boolean, what: string, ms = 10000): Promise<void> {
  return pollUntil(pred, { what, timeoutMs: ms });
}

/** A session whose socket we can stop reading (a peer that sends but never reads). */
async function rawPeer(port: number): Promise<{ session: Session; socket: net.Socket }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const session = new Session({ role: 'initiator' });
  session.on('error', () => undefined);
  bindSession(session, socket);
  await session.ready;
  return { session, socket };
}

/** A fresh client gets a session and an echo within `ms`. */
async function freshEcho(port: number): Promise<number> {
  const t0 = Date.now();
  const s = await connect({ port }, { profiles: [] });
  try {
    const ch = await s.startChannel(TEST_PROFILE_URIS.echo);
    const r = await ch.request('ping');
    expect(r.text()).to.equal('ping');
  } finally {
    s.destroy();
  }
  return Date.now() - t0;
}

describe('session: send-queue bounds', function () {
  this.timeout(30000);
  let listener: Listener;
  let port: number;
  const cleanup: Array<() => void> = [];

  async function start(opts: ListenOptions): Promise<void> {
    listener = await listen({ port: 0, profiles: [echoProfile(), ansProfile()], ...opts });
    port = (listener.address() as AddressInfo).port;
  }

  afterEach(async () => {
    for (const c of cleanup.splice(0)) c();
    await listener?.close(100);
  });

  /**
   * On each of `n` channels, asks for an endless stream of 16 KiB answers and reads none of them: the peer grants
   * no window once the first 64 KiB arrived, so everything else the listener produces stays queued.
   */
  async function flood(n: number): Promise<{ session: Session; socket: net.Socket; chans: Channel[] }> {
    const peer = await rawPeer(port);
    cleanup.push(() => peer.socket.destroy());
    const chans: Channel[] = [];
    for (let i = 0; i < n; i++) chans.push(await peer.session.startChannel(TEST_PROFILE_URIS.ans));
    for (const ch of chans) ch.requestMany('1000000,16384');
    return { ...peer, chans };
  }

  it('makes new work wait on a session whose peer does not read, then drops it (BEEP_SLOW_READER)', async () => {
    const maxQueuedBytes = 256 * KiB;
    await start({ maxQueuedBytes, slowReaderTimeout: 800, maxTotalQueuedBytes: 0 });
    await until(() => listener.sessions.size === 0, 'no session');
    const flooding = flood(64);
    await until(() => listener.sessions.size === 1, 'the session');
    const server = [...listener.sessions][0]!;
    let closeReason: Error | undefined;
    server.on('close', (e?: Error) => (closeReason = e));
    let peak = 0;
    let fresh = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, server.queuedBytes)), 2);
    try {
      await flooding;
      await until(() => server.queuedBytes > maxQueuedBytes, 'the queue to pass the bound');
      fresh = await freshEcho(port);
      await until(() => server.closed, 'the slow reader to be dropped');
    } finally {
      clearInterval(sampler);
    }
    expect((closeReason as { code?: string } | undefined)?.code).to.equal('BEEP_SLOW_READER');
    // Without the bound each of the 64 channels would queue sendHighWater (64 KiB) and more: 4 MiB and up. With it,
    // each answer loop stops at the bound, at most one 16 KiB answer per channel past it.
    expect(peak).to.be.below(maxQueuedBytes + 64 * 17 * KiB);
    expect(fresh).to.be.below(1000);
  });

  it('drops the session holding the most when all sessions together pass maxTotalQueuedBytes', async () => {
    await start({ maxQueuedBytes: 64 * 1024 * 1024, slowReaderTimeout: 0, maxTotalQueuedBytes: 512 * KiB });
    await flood(64);
    await until(() => listener.sendBudget.dropped >= 1, 'a dropped session');
    expect(listener.sendBudget.total).to.be.at.most(512 * KiB);
    expect(await freshEcho(port)).to.be.below(1000);
  });

  it('grants no channel-0 window while its replies wait for a peer that grants none', async () => {
    await start({ sendHighWater: 8 * KiB, maxTotalQueuedBytes: 0 });
    // Raw BEEP: start requests for an unknown profile, sent only as our window allows; never a SEQ from us.
    const sock = net.connect(port, '127.0.0.1');
    cleanup.push(() => sock.destroy());
    await new Promise((r) => sock.once('connect', r));
    let edge = 4096;
    let text = '';
    sock.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      for (const m of text.matchAll(/SEQ 0 (\d+) (\d+)\r\n/g)) edge = Math.max(edge, Number(m[1]) + Number(m[2]));
      text = text.slice(-200);
    });
    const frame = (type: string, msgno: number, seq: number, body: string): string =>
      `${type} 0 ${msgno} . ${seq} ${Buffer.byteLength(body)}\r\n${body}END\r\n`;
    const greeting = 'Content-Type: application/beep+xml\r\n\r\n<greeting/>';
    sock.write(frame('RPY', 0, 0, greeting));
    await until(() => listener.sessions.size === 1, 'the session');
    const server = [...listener.sessions][0]!;
    let reason: Error | undefined;
    server.on('close', (e?: Error) => (reason = e));
    let seq = Buffer.byteLength(greeting);
    let msgno = 1;
    const target = 3000;
    let lastProgress = Date.now();
    while (msgno <= target && Date.now() - lastProgress < 1000) {
      const body = `Content-Type: application/beep+xml\r\n\r\n<start number='${2 * msgno + 1}'><profile uri='urn:x:none'/></start>`;
      const len = Buffer.byteLength(body);
      if (seq + len <= edge) {
        sock.write(frame('MSG', msgno++, seq, body));
        seq += len;
        lastProgress = Date.now();
      } else {
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    await until(() => server.queuedBytes > 8 * KiB || server.closed, 'replies to queue');
    // The peer got no more window once 8 KiB of replies waited, so it could not send all its starts.
    expect(msgno).to.be.below(target);
    expect(server.queuedBytes).to.be.below(8 * KiB + 4096 * 2);
    expect(server.closed, reason?.message).to.equal(false);
  });
});
