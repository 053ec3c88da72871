import { expect } from 'chai';
import type { AddressInfo } from 'node:net';
import { connect, listen, type Listener } from '../../src/api/connect.js';
import type { Session } from '../../src/session/session.js';
import type { ProfileDefinition } from '../../src/session/types.js';
import { BeepReplyError } from '../../src/errors.js';

const ECHO = 'urn:test:echo';
const STREAM = 'urn:test:stream';

const echo: ProfileDefinition = {
  uri: ECHO,
  onMessage(msg, reply) {
    if (msg.text() === 'fail') reply.err(550, 'asked to fail');
    else reply.rpy(msg.payload);
  },
};

const stream: ProfileDefinition = {
  uri: STREAM,
  async onMessage(msg, reply) {
    const n = Number(msg.text());
    for (let i = 0; i < n; i++) await reply.ans(`part ${i}`);
    reply.nul();
  },
};

describe('api: TCP sessions', function () {
  this.timeout(20000);
  let listener: Listener;
  let port: number;
  const sessions: Session[] = [];

  beforeEach(async () => {
    listener = await listen({ port: 0, profiles: [echo, stream] });
    port = (listener.address() as AddressInfo).port;
  });

  afterEach(async () => {
    for (const s of sessions.splice(0)) s.destroy();
    await listener.close(100);
  });

  async function open(): Promise<Session> {
    const s = await connect({ port }, { profiles: [] });
    sessions.push(s);
    return s;
  }

  it('exchanges greetings and echoes a message', async () => {
    const s = await open();
    expect(s.peerProfiles).to.deep.equal([ECHO, STREAM]);
    const ch = await s.startChannel(ECHO);
    expect(ch.number).to.equal(1);
    const r = await ch.request('hello');
    expect(r.type).to.equal('RPY');
    expect(r.text()).to.equal('hello');
  });

  it('rejects with BeepReplyError on ERR', async () => {
    const s = await open();
    const ch = await s.startChannel(ECHO);
    const err = await ch.request('fail').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(BeepReplyError);
    expect((err as BeepReplyError).replyCode).to.equal(550);
    expect((err as BeepReplyError).message).to.equal('asked to fail');
  });

  it('refuses an unknown profile with 550', async () => {
    const s = await open();
    const err = await s.startChannel('urn:nope').catch((e: unknown) => e);
    expect(err).to.be.instanceOf(BeepReplyError);
    expect((err as BeepReplyError).replyCode).to.equal(550);
  });

  it('streams ANS ... NUL', async () => {
    const s = await open();
    const ch = await s.startChannel(STREAM);
    const got: string[] = [];
    for await (const a of ch.requestMany('5')) got.push(a.text());
    expect(got).to.deep.equal(['part 0', 'part 1', 'part 2', 'part 3', 'part 4']);
    const r = await ch.request('3');
    expect(r.type).to.equal('NUL');
    expect(r.answers?.map((a) => a.text())).to.deep.equal(['part 0', 'part 1', 'part 2']);
  });

  it('moves a 10 MiB message', async () => {
    const s = await open();
    const ch = await s.startChannel(ECHO);
    const big = Buffer.alloc(10 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
    const r = await ch.request(big);
    expect(r.payload.length).to.equal(big.length);
    expect(r.payload.equals(big)).to.equal(true);
  });

  it('keeps replies in order with pipelining', async () => {
    const s = await open();
    const ch = await s.startChannel(ECHO);
    const ps = [];
    for (let i = 0; i < 2000; i++) ps.push(ch.request(String(i)));
    const rs = await Promise.all(ps);
    rs.forEach((r, i) => expect(r.text()).to.equal(String(i)));
  });

  it('runs 100 channels on one session', async () => {
    const s = await open();
    const chans = await Promise.all(Array.from({ length: 100 }, () => s.startChannel(ECHO)));
    expect(new Set(chans.map((c) => c.number)).size).to.equal(100);
    const rs = await Promise.all(chans.map((c, i) => c.request(`ch${i}`)));
    rs.forEach((r, i) => expect(r.text()).to.equal(`ch${i}`));
  });

  it('closes a channel and releases the session', async () => {
    const s = await open();
    const ch = await s.startChannel(ECHO);
    await ch.request('x');
    await ch.close();
    expect(ch.isOpen).to.equal(false);
    const closed = new Promise((r) => s.once('close', r));
    await s.close();
    await closed;
    expect(s.closed).to.equal(true);
    expect(s.closeReason).to.equal(undefined);
  });
});
