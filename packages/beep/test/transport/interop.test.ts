import { expect } from 'chai';
import net, { type AddressInfo } from 'node:net';
import { connect, listen, type Listener } from '../../src/api/connect.js';
import type { Session } from '../../src/session/session.js';
import type { ProfileDefinition } from '../../src/session/types.js';
import { MIME_OCTETS, MIME_XML, RawPeer } from './raw-peer.js';

const ECHO = 'urn:test:echo';
const echo: ProfileDefinition = { uri: ECHO, onMessage: (m, r) => r.rpy(m.payload, { contentType: 'text/plain' }) };

describe('transport: interop with an independent peer', function () {
  this.timeout(15000);
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('initiator: works with a listener that greets only after our greeting, MIME-prefixes payloads, sends NUL+CRLF', async () => {
    const server = net.createServer((sock) => {
      const peer = new RawPeer(sock);
      let m = 0;
      peer.onFrame = (f) => {
        if (f.channel === 0 && f.type === 'RPY' && f.msgno === 0) peer.greet([ECHO]);
        else if (f.channel === 0 && f.type === 'MSG') {
          expect(f.payload.toString()).to.contain("<start number='1'>");
          peer.send('RPY', 0, f.msgno, MIME_XML + `<profile uri='${ECHO}'/>`);
        } else if (f.channel === 1 && f.type === 'MSG') {
          const body = f.payload.toString('latin1').replace(/^\r\n/, '');
          peer.send('ANS', 1, f.msgno, MIME_OCTETS + body.toUpperCase(), { ansno: 0 });
          peer.send('ANS', 1, f.msgno, MIME_OCTETS + body, { ansno: 1 });
          peer.send('NUL', 1, f.msgno, '\r\n');
          m++;
        }
      };
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => server.close(r)));
    const s = await connect({ port: (server.address() as AddressInfo).port });
    cleanup.push(() => s.destroy());
    expect(s.peerProfiles).to.deep.equal([ECHO]);
    const ch = await s.startChannel(ECHO);
    const r = await ch.request('abc');
    expect(r.type).to.equal('NUL');
    expect(r.answers?.map((a) => a.text())).to.deep.equal(['ABC', 'abc']);
    expect(r.answers?.[0]?.entity.contentType).to.equal('application/octet-stream');
    const got: string[] = [];
    for await (const a of ch.requestMany('xy')) got.push(a.text());
    expect(got).to.deep.equal(['XY', 'xy']);
  });

  it('listener: serves an initiator that waits for our greeting and MIME-prefixes everything', async () => {
    const l = await listen({ port: 0, profiles: [echo] });
    cleanup.push(() => l.close(100));
    const sock = net.connect((l.address() as AddressInfo).port, '127.0.0.1');
    cleanup.push(() => sock.destroy());
    const peer = new RawPeer(sock);
    const greeting = await peer.waitFor((f) => f.channel === 0 && f.msgno === 0);
    expect(greeting.payload.toString()).to.match(/^Content-Type: application\/beep\+xml\r\n\r\n<greeting><profile uri='urn:test:echo' \/><\/greeting>$/);
    peer.greet([]);
    peer.send('MSG', 0, 1, MIME_XML + `<start number='1'><profile uri='${ECHO}'/></start>`);
    const ok = await peer.waitFor((f) => f.channel === 0 && f.msgno === 1);
    expect(ok.type).to.equal('RPY');
    peer.send('MSG', 1, 0, 'Content-Type: text/plain\r\nX-Extra: 1\r\n\r\nhello');
    const rpy = await peer.waitFor((f) => f.channel === 1 && f.msgno === 0);
    expect(rpy.type).to.equal('RPY');
    expect(rpy.payload.toString()).to.equal('Content-Type: text/plain\r\n\r\nhello');
  });

  it('garbage terminates only that session while the listener serves others', async () => {
    const l = await listen({ port: 0, profiles: [echo] });
    cleanup.push(() => l.close(100));
    const port = (l.address() as AddressInfo).port;
    const reasons: unknown[] = [];
    l.on('session', (s: Session) => s.on('close', (r) => reasons.push(r)));
    const good = await connect({ port });
    cleanup.push(() => good.destroy());
    const bad = net.connect(port, '127.0.0.1');
    bad.on('error', () => undefined);
    const closed = new Promise((r) => bad.on('close', r));
    bad.write('GARBAGE GARBAGE GARBAGE\r\n');
    // a gigabyte would not matter: the parser fails on the first header
    const chunk = Buffer.alloc(1 << 20, 0x41);
    for (let i = 0; i < 8 && !bad.destroyed; i++) bad.write(chunk);
    await closed;
    expect(reasons.some((r) => (r as { code?: string })?.code === 'BEEP_BAD_KEYWORD' || (r as { code?: string })?.code === 'BEEP_HEADER_TOO_LONG')).to.equal(true);
    const ch = await good.startChannel(ECHO);
    expect((await ch.request('still here')).text()).to.equal('still here');
  });

  it('a peer that never reads does not grow our memory', async () => {
    let produced = 0;
    let server: Session | undefined;
    const flood: ProfileDefinition = {
      uri: 'urn:test:flood',
      async onMessage(_m, reply) {
        const block = Buffer.alloc(8192, 0x61);
        try {
          for (;;) {
            await reply.ans(block);
            produced++;
          }
        } catch {
          // session closed
        }
      },
    };
    const l = await listen({ port: 0, profiles: [flood] });
    cleanup.push(() => l.close(100));
    l.on('session', (s: Session) => (server = s));
    const sock = net.connect((l.address() as AddressInfo).port, '127.0.0.1');
    cleanup.push(() => sock.destroy());
    const peer = new RawPeer(sock);
    peer.greet([]);
    peer.send('MSG', 0, 1, MIME_XML + `<start number='1'><profile uri='urn:test:flood'/></start>`);
    await peer.waitFor((f) => f.channel === 0 && f.msgno === 1);
    // grant a huge window, then stop reading
    sock.write('SEQ 1 0 2147483647\r\n');
    peer.send('MSG', 1, 0, '\r\ngo');
    await peer.waitFor((f) => f.channel === 1 && f.type === 'ANS');
    sock.pause();
    // The kernel buffers fill, then the session's queue, then the producer waits: poll until it has stopped
    // (no progress over three polls), with a deadline.
    const deadline = Date.now() + 10000;
    for (let still = 0, last = -1; still < 3; ) {
      if (Date.now() > deadline) throw new Error(`the producer never stopped (${produced} blocks)`);
      await new Promise((r) => setTimeout(r, 50));
      still = produced === last ? still + 1 : 0;
      last = produced;
    }
    const p1 = produced;
    for (let k = 0; k < 100; k++) await new Promise((r) => setImmediate(r));
    expect(server).to.not.equal(undefined);
    expect(produced - p1, 'producer must be stalled').to.be.lessThan(3);
    expect((server as Session).queuedBytes).to.be.at.most(65536 + 8192 + 64);
  });

  it('both roles on one channel: the listener sends MSGs on a channel the initiator started', async () => {
    const l = await listen({ port: 0, profiles: [echo] });
    cleanup.push(() => l.close(100));
    const fromListener = new Promise<string>((resolve) => {
      l.on('session', (s: Session) =>
        s.on('channel', (ch) => {
          ch.request('question from listener').then((r: { text(): string }) => resolve(r.text()));
        }),
      );
    });
    const s = await connect({ port: (l.address() as AddressInfo).port });
    cleanup.push(() => s.destroy());
    const ch = await s.startChannel(ECHO);
    ch.onMessage = (m, reply) => reply.rpy('answer to ' + m.text());
    const [a, b] = await Promise.all([fromListener, ch.request('q')]);
    expect(a).to.equal('answer to question from listener');
    expect(b.text()).to.equal('q');
  });
});
