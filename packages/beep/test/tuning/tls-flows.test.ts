import { expect } from 'chai';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { BeepTlsError } from '../../src/errors.js';
import { TLS_PROFILE_URI } from '../../src/profiles/tls/tls-xml.js';
import { IDENTITY_EVENT } from '../../src/profiles/tuning/identity.js';
import { tlsSocketOf } from '../../src/profiles/tuning/tls-socket.js';
import { saslProfileUri } from '../../src/profiles/sasl/registry.js';
import { FrameParser } from '../../src/wire/frame-parser.js';
import type { DataFrame } from '../../src/wire/frame.js';
import { closed, ECHO, echo, echoOnce, Harness, rejection, testCert } from './helpers.js';

const XML = 'Content-Type: application/beep+xml\r\n\r\n';

function frame(kw: string, ch: number, msgno: number, seq: number, payload: string): string {
  return `${kw} ${ch} ${msgno} . ${seq} ${Buffer.byteLength(payload)}\r\n${payload}END\r\n`;
}

/** A raw TCP peer that collects frames; it never speaks TLS. */
class RawEnd {
  readonly frames: DataFrame[] = [];
  private waiters: Array<() => void> = [];
  constructor(readonly sock: net.Socket) {
    const p = new FrameParser({
      onFrame: (f) => {
        if (f.type === 'SEQ') return;
        this.frames.push(f);
        for (const w of this.waiters.splice(0)) w();
      },
    });
    sock.on('data', (c: Buffer) => {
      try {
        p.push(c);
      } catch {
        // TLS bytes after proceed are not BEEP frames
      }
    });
    sock.on('error', () => undefined);
  }
  async waitFor(pred: (f: DataFrame) => boolean): Promise<DataFrame> {
    for (;;) {
      const f = this.frames.find(pred);
      if (f) return f;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
}

describe('tuning: TLS profile over TCP', function () {
  this.timeout(20000);
  const h = new Harness();
  afterEach(() => h.close());

  it('TLS, new greeting, SASL PLAIN, then echo; identity on both sides; channel numbers restart', async () => {
    const cert = testCert();
    const { port } = await h.listen({ profiles: [echo], tls: { key: cert.key, cert: cert.cert }, sasl: { users: ['bob:secret'] } });
    const s = await h.connect(port);
    expect(s.peerProfiles[0]).to.equal(TLS_PROFILE_URI);
    expect(s.peerProfiles).to.include(ECHO);
    expect(s.peerProfiles, 'PLAIN is not offered in the clear').to.not.include(saslProfileUri('PLAIN'));
    const before = await s.startChannel(ECHO);
    expect(before.number).to.equal(1);
    const greeting = await s.startTls({ ca: cert.cert });
    expect(before.isOpen, 'channels are gone after the tuning reset').to.equal(false);
    expect(greeting.profiles).to.not.include(TLS_PROFILE_URI);
    expect(greeting.profiles).to.include(saslProfileUri('PLAIN')).and.include(ECHO);
    expect(s.securityLayer).to.equal('tls');
    expect(tlsSocketOf(s)?.getPeerCertificate().fingerprint256).to.equal(cert.fingerprint256);
    const server = h.accepted[0];
    expect(server?.securityLayer).to.equal('tls');

    const events: Array<string | undefined> = [];
    server?.on(IDENTITY_EVENT, (id: string | undefined) => events.push(id));
    const id = await s.authenticate({ mechanism: 'PLAIN', authcid: 'bob', password: 'secret' });
    expect(id).to.equal('bob');
    expect(s.authenticatedIdentity).to.equal('bob');
    expect(server?.authenticatedIdentity).to.equal('bob');
    expect(events).to.deep.equal(['bob']);

    const ch = await s.startChannel(ECHO);
    expect(ch.number % 2).to.equal(1);
    expect((await ch.request('over tls')).text()).to.equal('over tls');
  });

  it('resets numbering: the first channel after TLS is 1 again and its msgnos start at 0', async () => {
    const cert = testCert();
    const { port } = await h.listen({ profiles: [echo], tls: { key: cert.key, cert: cert.cert } });
    const s = await h.connect(port);
    await s.startTls({ ca: cert.cert });
    const ch = await s.startChannel(ECHO);
    expect(ch.number).to.equal(1);
    const r = await ch.request('x');
    expect(r.msgno).to.equal(0);
  });

  it('TLS start against a listener without TLS: refused with 550, the session stays usable', async () => {
    const { port } = await h.listen({ profiles: [echo] });
    const s = await h.connect(port);
    const e = await rejection(s.startTls({ ca: testCert().cert }));
    expect(e).to.be.instanceOf(BeepTlsError);
    expect(e.code).to.equal('BEEP_TLS_REFUSED');
    expect(e.replyCode).to.equal(550);
    expect(await echoOnce(s, 'still here')).to.equal('still here');
  });

  it('an <error> in place of <proceed/> rejects with its code and leaves the session usable', async () => {
    const fakeTls = { uri: TLS_PROFILE_URI, onStart: () => ({ content: "<error code='421'>no TLS today</error>" }) };
    const { port } = await h.listen({ profiles: [fakeTls, echo] });
    const s = await h.connect(port);
    const e = await rejection(s.startTls({ ca: testCert().cert }));
    expect(e).to.be.instanceOf(BeepTlsError);
    expect(e.replyCode).to.equal(421);
    expect(e.message).to.equal('no TLS today');
    expect(await echoOnce(s, 'clear')).to.equal('clear');
  });

  it('a bad ready version gets 501 in place of proceed', async () => {
    const cert = testCert();
    const { port } = await h.listen({ profiles: [echo], tls: { key: cert.key, cert: cert.cert } });
    const s = await h.connect(port);
    const ch = await s.startChannel(TLS_PROFILE_URI, { content: "<ready version='2' />" });
    expect(ch.startReplyContent?.toString()).to.match(/^<error code='501'/);
    expect(await echoOnce(s, 'ok')).to.equal('ok');
  });

  it('ready sent as a MSG (no piggyback) gets RPY <proceed/>', async () => {
    const cert = testCert();
    const { port } = await h.listen({ profiles: [echo], tls: { key: cert.key, cert: cert.cert } });
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const raw = new RawEnd(sock);
    sock.write(frame('RPY', 0, 0, 0, XML + '<greeting />'));
    const greetLen = Buffer.byteLength(XML + '<greeting />');
    const start = XML + `<start number='1'><profile uri='${TLS_PROFILE_URI}' /></start>`;
    sock.write(frame('MSG', 0, 1, greetLen, start));
    await raw.waitFor((f) => f.channel === 0 && f.msgno === 1);
    sock.write(frame('MSG', 1, 0, 0, XML + '<ready />'));
    const proceed = await raw.waitFor((f) => f.channel === 1 && f.msgno === 0);
    expect(proceed.type).to.equal('RPY');
    expect(proceed.payload.toString()).to.contain('<proceed />');
    sock.destroy();
  });

  it('handshake failure (client does not trust the certificate): typed reasons on both ends, listener keeps serving', async () => {
    const cert = testCert();
    const { port } = await h.listen({ profiles: [echo], tls: { key: cert.key, cert: cert.cert } });
    const s = await h.connect(port);
    const e = await rejection(s.startTls());
    expect(e).to.be.instanceOf(BeepTlsError);
    expect(e.code).to.equal('BEEP_TLS_HANDSHAKE_FAILED');
    expect(s.closed).to.equal(true);
    expect((s.closeReason as BeepTlsError).code).to.equal('BEEP_TLS_HANDSHAKE_FAILED');
    const server = h.accepted[0];
    expect(server).to.not.equal(undefined);
    const reason = await closed(server!);
    expect(reason).to.be.instanceOf(BeepTlsError);

    const s2 = await h.connect(port);
    await s2.startTls({ ca: cert.cert });
    expect(await echoOnce(s2, 'next one')).to.equal('next one');
  });

  it('handshake timeout on the listener: the peer never speaks TLS after proceed', async () => {
    const cert = testCert();
    const { port } = await h.listen({ profiles: [echo], tls: { key: cert.key, cert: cert.cert, handshakeTimeoutMs: 200 } });
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const raw = new RawEnd(sock);
    sock.write(frame('RPY', 0, 0, 0, XML + '<greeting />'));
    const greetLen = Buffer.byteLength(XML + '<greeting />');
    const start = XML + `<start number='1'><profile uri='${TLS_PROFILE_URI}'><![CDATA[<ready />]]></profile></start>`;
    sock.write(frame('MSG', 0, 1, greetLen, start));
    const reply = await raw.waitFor((f) => f.channel === 0 && f.msgno === 1);
    expect(reply.payload.toString()).to.contain('<![CDATA[<proceed />]]>');
    const server = h.accepted[0]!;
    const reason = await closed(server);
    expect(reason).to.be.instanceOf(BeepTlsError);
    expect((reason as BeepTlsError).code).to.equal('BEEP_TLS_HANDSHAKE_TIMEOUT');
    sock.destroy();
    const s2 = await h.connect(port);
    expect(await echoOnce(s2, 'alive')).to.equal('alive');
  });

  it('handshake timeout on the initiator: the listener answers proceed and then stays silent', async () => {
    const server = net.createServer((sock) => {
      const raw = new RawEnd(sock);
      sock.write(frame('RPY', 0, 0, 0, XML + `<greeting><profile uri='${TLS_PROFILE_URI}' /></greeting>`));
      void raw.waitFor((f) => f.channel === 0 && f.type === 'MSG').then(() => {
        sock.write(frame('RPY', 0, 1, Buffer.byteLength(XML + `<greeting><profile uri='${TLS_PROFILE_URI}' /></greeting>`), XML + `<profile uri='${TLS_PROFILE_URI}'><![CDATA[<proceed />]]></profile>`));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const s = await h.connect((server.address() as AddressInfo).port);
      const e = await rejection(s.startTls({ ca: testCert().cert, handshakeTimeoutMs: 200 }));
      expect(e).to.be.instanceOf(BeepTlsError);
      expect(e.code).to.equal('BEEP_TLS_HANDSHAKE_TIMEOUT');
      expect(s.closed).to.equal(true);
    } finally {
      server.close();
      (server as net.Server & { closeAllConnections?: () => void }).closeAllConnections?.();
    }
  });

  it('refuses a second TLS negotiation on a TLS session', async () => {
    const cert = testCert();
    const { port } = await h.listen({ profiles: [echo], tls: { key: cert.key, cert: cert.cert } });
    const s = await h.connect(port);
    await s.startTls({ ca: cert.cert });
    const e = await rejection(s.startTls({ ca: cert.cert }));
    expect((e as BeepTlsError).code).to.equal('BEEP_TLS_BAD_STATE');
    // The listener no longer offers TLS either.
    const e2 = await rejection(s.startChannel(TLS_PROFILE_URI, { content: '<ready />' }));
    expect(e2.replyCode).to.equal(550);
  });

  it('generates a self-signed certificate at start (selfSigned) that a client can pin', async () => {
    const { listener, port } = await h.listen({ profiles: [echo], tls: { selfSigned: true } });
    expect(listener.security?.fingerprint256).to.match(/^[0-9A-F:]+$/);
    const s = await h.connect(port, { tls: { ca: listener.security?.certificate as string } });
    expect(s.securityLayer).to.equal('tls');
    expect(tlsSocketOf(s)?.getPeerCertificate().fingerprint256).to.equal(listener.security?.fingerprint256);
    expect(await echoOnce(s, 'pinned')).to.equal('pinned');
  });
});
