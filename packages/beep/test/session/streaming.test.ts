import { expect } from 'chai';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, listen, type Listener } from '../../src/api/connect.js';
import { BeepReplyError } from '../../src/errors.js';
import type { MessageStream } from '../../src/session/message-stream.js';
import type { Session } from '../../src/session/session.js';
import type { ProfileDefinition } from '../../src/session/types.js';

const MiB = 1024 * 1024;
const WINDOW = 256 * 1024;
const HWM = 65536;
const STREAMED = 'urn:test:streamed';
const PLAIN = 'urn:test:plain';

/** A deterministic pseudo-random buffer (cheap to build, not compressible into a pattern by accident). */
function bigBuffer(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = 0x12345678;
  for (let i = 0; i + 4 <= size; i += 4) {
    x = (x * 1103515245 + 12345) >>> 0;
    b.writeUInt32LE(x, i);
  }
  return b;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Read a stream to its end, hashing it and recording the most octets it ever held for us. */
async function drain(stream: MessageStream, slowEvery = 0): Promise<{ size: number; hash: string; maxBuffered: number }> {
  const h = createHash('sha256');
  let size = 0;
  let maxBuffered = 0;
  let n = 0;
  for await (const chunk of stream) {
    maxBuffered = Math.max(maxBuffered, stream.bufferedBytes + (chunk as Buffer).length);
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (slowEvery > 0 && ++n % slowEvery === 0) await sleep(1);
  }
  return { size, hash: h.digest('hex'), maxBuffered };
}

describe('session: streamed messages larger than maxMessageSize', function () {
  this.timeout(60000);
  let listener: Listener;
  let port: number;
  let session: Session | undefined;
  let serverMax = 0;

  const streamed: ProfileDefinition = {
    uri: STREAMED,
    streaming: true,
    async onMessage(msg, reply) {
      const stream = msg.stream as MessageStream;
      const mode = msg.entity.headers.find(([k]) => k === 'X-Mode')?.[1];
      if (mode === 'ignore') {
        reply.rpy('ignored');
        return;
      }
      if (mode === 'one-chunk') {
        for await (const c of stream) {
          reply.rpy(`first ${(c as Buffer).length}`);
          break; // leaving the loop destroys the stream: the rest is dropped
        }
        return;
      }
      const r = await drain(stream, mode === 'slow' ? 64 : 0);
      serverMax = Math.max(serverMax, r.maxBuffered);
      reply.rpy(`${r.size} ${r.hash} ${msg.entity.contentType}`);
    },
  };

  const plain: ProfileDefinition = {
    uri: PLAIN,
    onMessage(msg, reply) {
      const t = msg.text();
      if (t.startsWith('big ')) reply.rpy(bigBuffer(Number(t.slice(4))));
      else if (t === 'fail') reply.err(550, 'asked to fail');
      else if (t.startsWith('ans ')) {
        const n = Number(t.slice(4));
        for (let i = 0; i < n; i++) void reply.ans(`part ${i};`);
        reply.nul();
      } else reply.rpy(t);
    },
  };

  beforeEach(async () => {
    serverMax = 0;
    listener = await listen({ port: 0, profiles: [streamed, plain], maxMessageSize: MiB, receiveWindow: WINDOW });
    port = (listener.address() as AddressInfo).port;
  });

  afterEach(async () => {
    session?.destroy();
    session = undefined;
    await listener.close(100);
  });

  it('a 64 MiB MSG reaches a streaming handler with bounded buffering (cap 1 MiB)', async () => {
    session = await connect({ port }, { maxMessageSize: MiB });
    const ch = await session.startChannel(STREAMED);
    const big = bigBuffer(64 * MiB);
    const r = await ch.request(big, { contentType: 'application/x-test', headers: { 'X-Mode': 'slow' } });
    expect(r.text()).to.equal(`${big.length} ${sha(big)} application/x-test`);
    // Never more than one receive window plus the Readable's buffer (and the chunk in hand).
    expect(serverMax).to.be.greaterThan(0);
    expect(serverMax).to.be.at.most(WINDOW + HWM + 16384);
  });

  it('the same MSG on a non-streaming channel is refused with 554', async () => {
    session = await connect({ port }, {});
    const ch = await session.startChannel(PLAIN);
    const err = await ch.request(Buffer.alloc(2 * MiB)).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(BeepReplyError);
    expect((err as BeepReplyError).replyCode).to.equal(554);
    expect((await ch.request('still ok')).text()).to.equal('still ok');
  });

  it('requestStream: a 64 MiB RPY against a 1 MiB cap, bounded buffering, slow reader', async () => {
    session = await connect({ port }, { maxMessageSize: MiB, receiveWindow: WINDOW });
    const ch = await session.startChannel(PLAIN);
    const size = 64 * MiB;
    const msg = await ch.requestStream(`big ${size}`);
    expect(msg.type).to.equal('RPY');
    expect(msg.payload.length).to.equal(0);
    const r = await drain(msg.stream as MessageStream, 64);
    expect(r.size).to.equal(size);
    expect(r.hash).to.equal(sha(bigBuffer(size)));
    expect(r.maxBuffered).to.be.at.most(WINDOW + HWM + 16384);
    // plain request() still enforces the cap
    const err = await ch.request(`big ${2 * MiB}`).catch((e: unknown) => e);
    expect((err as { code?: string }).code).to.equal('BEEP_MESSAGE_TOO_LARGE');
  });

  it('requestStream: small RPY, headers parsed, ERR rejects, ANS bodies in order', async () => {
    session = await connect({ port }, {});
    const ch = await session.startChannel(PLAIN);
    const small = await ch.requestStream('hello');
    expect(small.entity.contentType).to.equal('application/octet-stream');
    expect((await drain(small.stream as MessageStream)).size).to.equal(5);
    const err = await ch.requestStream('fail').catch((e: unknown) => e);
    expect((err as BeepReplyError).replyCode).to.equal(550);
    const many = await ch.requestStream('ans 3');
    expect(many.type).to.equal('ANS');
    const chunks: Buffer[] = [];
    for await (const c of many.stream as MessageStream) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).to.equal('part 0;part 1;part 2;');
  });

  it('a handler that replies without reading drops the rest; the channel stays usable', async () => {
    session = await connect({ port }, {});
    const ch = await session.startChannel(STREAMED);
    const r = await ch.request(Buffer.alloc(8 * MiB), { headers: { 'X-Mode': 'ignore' } });
    expect(r.text()).to.equal('ignored');
    const r2 = await ch.request(Buffer.alloc(3 * MiB), { headers: { 'X-Mode': 'one-chunk' } });
    expect(r2.text()).to.match(/^first \d+$/);
    const r3 = await ch.request('abc');
    expect(r3.text()).to.match(/^3 [0-9a-f]{64} application\/octet-stream$/);
  });

  it('replies to pipelined streamed MSGs stay in order', async () => {
    session = await connect({ port }, {});
    const ch = await session.startChannel(STREAMED);
    const bodies = [3 * MiB, 10, 2 * MiB, 0].map((n, i) => Buffer.alloc(n, i + 1));
    const rs = await Promise.all(bodies.map((b) => ch.request(b)));
    rs.forEach((r, i) => expect(r.text().split(' ')[0]).to.equal(String(bodies[i]?.length)));
  });

  it('the stream errors when the session ends mid-message', async () => {
    session = await connect({ port }, {});
    const ch = await session.startChannel(PLAIN);
    const msg = await ch.requestStream(`big ${16 * MiB}`);
    const s = session;
    const failed = new Promise<unknown>((resolve) => (msg.stream as MessageStream).on('error', resolve));
    (msg.stream as MessageStream).once('data', () => s.destroy());
    const e = await failed;
    expect(e).to.be.instanceOf(Error);
  });
});
