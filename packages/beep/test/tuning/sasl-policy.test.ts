import { expect } from 'chai';
import { BeepReplyError, BeepSaslError } from '../../src/errors.js';
import { saslProfileUri } from '../../src/profiles/sasl/registry.js';
import { SaslClient } from '../../src/profiles/sasl/profile-client.js';
import { TLS_PROFILE_URI } from '../../src/profiles/tls/tls-xml.js';
import { IDENTITY_EVENT, sessionIdentity } from '../../src/profiles/tuning/identity.js';
import type { SaslCredentialStore } from '../../src/profiles/sasl/credentials.js';
import { BeepErrReply } from '../../src/session/reply-sinks.js';
import type { ListenOptions } from '../../src/api/connect.js';
import { ECHO, echo, echoOnce, Harness, rejection, testCert } from './helpers.js';

const XML = { contentType: 'application/beep+xml' };

describe('tuning: SASL profiles and listener policy over TCP', function () {
  this.timeout(20000);
  const h = new Harness();
  afterEach(() => h.close());

  /** An echo listener offering TLS (the test certificate) and SASL for bob:secret, with `require` if given. */
  async function listenTlsSasl(require?: ListenOptions['require']): Promise<{ port: number; cert: ReturnType<typeof testCert> }> {
    const cert = testCert();
    const { port } = await h.listen({
      profiles: [echo],
      tls: { key: cert.key, cert: cert.cert },
      sasl: { users: ['bob:secret'] },
      ...(require !== undefined ? { require } : {}),
    });
    return { port, cert };
  }

  it('SCRAM-SHA-256 and CRAM-MD5 work in the clear; PLAIN is not offered there', async () => {
    const { port } = await h.listen({ profiles: [echo], sasl: { users: ['bob:secret', 'eve:other'] } });
    for (const mechanism of ['SCRAM-SHA-256', 'CRAM-MD5'] as const) {
      const s = await h.connect(port);
      expect(s.peerProfiles).to.include(saslProfileUri(mechanism));
      expect(s.peerProfiles).to.not.include(saslProfileUri('PLAIN'));
      expect(await s.authenticate({ mechanism, authcid: 'bob', password: 'secret' })).to.equal('bob');
      const server = h.accepted[h.accepted.length - 1]!;
      expect(server.authenticatedIdentity).to.equal('bob');
      expect(sessionIdentity(server)?.mechanism).to.equal(mechanism);
      expect(sessionIdentity(s)?.mechanism).to.equal(mechanism);
    }
  });

  it('picks the strongest offered mechanism when none is given', async () => {
    const { port } = await h.listen({ profiles: [echo], sasl: { users: ['bob:secret'] } });
    const s = await h.connect(port);
    await s.authenticate({ authcid: 'bob', password: 'secret' });
    expect(sessionIdentity(s)?.mechanism).to.equal('SCRAM-SHA-256');
  });

  it('wrong passwords get 535 (every mechanism); the session stays usable and can retry', async () => {
    const { port, cert } = await listenTlsSasl();
    const s = await h.connect(port, { tls: { ca: cert.cert } });
    for (const mechanism of ['PLAIN', 'SCRAM-SHA-256', 'CRAM-MD5'] as const) {
      const e = await rejection(s.authenticate({ mechanism, authcid: 'bob', password: 'wrong' }));
      expect(e, mechanism).to.be.instanceOf(BeepSaslError);
      expect(e.replyCode, mechanism).to.equal(535);
      expect(s.authenticatedIdentity).to.equal(undefined);
    }
    expect(await echoOnce(s, 'usable')).to.equal('usable');
    expect(await s.authenticate({ mechanism: 'PLAIN', authcid: 'bob', password: 'secret' })).to.equal('bob');
  });

  it('PLAIN in the clear: refused locally without sending the password, and by the listener with 538', async () => {
    const { port } = await h.listen({ profiles: [echo], sasl: { users: ['bob:secret'] } });
    const s = await h.connect(port);
    const local = await rejection(s.authenticate({ mechanism: 'PLAIN', authcid: 'bob', password: 'secret' }));
    expect(local.replyCode).to.equal(538);
    expect(local.code).to.equal('BEEP_SASL_ENCRYPTION_REQUIRED');
    const remote = await rejection(s.authenticate({ mechanism: 'PLAIN', authcid: 'bob', password: 'secret', allowCleartext: true, piggyback: false }));
    expect(remote).to.be.instanceOf(BeepSaslError);
    expect(remote.replyCode).to.equal(538);
    expect(s.authenticatedIdentity).to.equal(undefined);
  });

  it('allowCleartext on the listener offers PLAIN before TLS', async () => {
    const { port } = await h.listen({ profiles: [echo], sasl: { users: ['bob:secret'], allowCleartext: true } });
    const s = await h.connect(port);
    expect(s.peerProfiles).to.include(saslProfileUri('PLAIN'));
    expect(await s.authenticate({ mechanism: 'PLAIN', authcid: 'bob', password: 'secret', allowCleartext: true })).to.equal('bob');
  });

  it('ANONYMOUS when allowed; authentication happens once per session (554 the second time)', async () => {
    const { port } = await h.listen({ profiles: [echo], sasl: { users: [], allowAnonymous: true } });
    const s = await h.connect(port);
    expect(await s.authenticate({ mechanism: 'ANONYMOUS', trace: 'tester' })).to.equal('anonymous');
    const e = await rejection(s.authenticate({ mechanism: 'ANONYMOUS' }));
    expect(e.replyCode).to.equal(554);
  });

  it('a pluggable credential store decides (verifyPlain)', async () => {
    const seen: string[] = [];
    const store: SaslCredentialStore = {
      verifyPlain: (authcid, password) => {
        seen.push(authcid);
        return authcid === 'carol' && password === 'pw';
      },
    };
    const cert = testCert();
    const { port } = await h.listen({ profiles: [echo], tls: { key: cert.key, cert: cert.cert }, sasl: { credentials: store } });
    const s = await h.connect(port, { tls: { ca: cert.cert } });
    expect(s.peerProfiles).to.deep.equal([saslProfileUri('PLAIN'), ECHO]);
    expect(await s.authenticate({ authcid: 'carol', password: 'pw' })).to.equal('carol');
    expect(seen).to.deep.equal(['carol']);
  });

  it('too many failures: further attempts get 454', async () => {
    const { port } = await h.listen({ profiles: [echo], sasl: { users: ['bob:secret'], maxFailures: 2 } });
    const s = await h.connect(port);
    for (let i = 0; i < 2; i++) {
      expect((await rejection(s.authenticate({ mechanism: 'CRAM-MD5', authcid: 'bob', password: 'x' }))).replyCode).to.equal(535);
    }
    expect((await rejection(s.authenticate({ mechanism: 'CRAM-MD5', authcid: 'bob', password: 'secret' }))).replyCode).to.equal(454);
  });

  it("client abort (<blob status='abort'/>) is answered with ERR 451; the exchange resets and does not count as a failure", async () => {
    const { port } = await h.listen({ profiles: [echo], sasl: { users: ['bob:secret'], maxFailures: 1 } });
    const s = await h.connect(port);
    const client = new SaslClient({ mechanism: 'CRAM-MD5', authcid: 'bob', password: 'secret' });
    const ch = await s.startChannel(client.uri, { content: (await client.startContent()) as string });
    const step = await client.onStartReply(ch.startReplyContent);
    expect(step.kind, 'server-first: the start reply carries the challenge').to.equal('send');
    const err = await rejection(ch.request(client.abort(), XML));
    expect(err).to.be.instanceOf(BeepErrReply);
    expect(err.replyCode).to.equal(451);
    expect((await client.onReply('err', (err as BeepErrReply).reply.payload)).kind).to.equal('aborted');
    await ch.close();
    // maxFailures is 1: an abort must not have used it up.
    expect(await s.authenticate({ mechanism: 'CRAM-MD5', authcid: 'bob', password: 'secret' })).to.equal('bob');
  });

  it('an AbortSignal during authenticate aborts the exchange on the wire and rejects', async () => {
    const { port } = await h.listen({ profiles: [echo], sasl: { users: ['bob:secret'] } });
    const s = await h.connect(port);
    const ac = new AbortController();
    // Abort as soon as the challenge (start reply) is in: the next round sends the abort blob instead.
    const origStart = s.startChannel.bind(s);
    s.startChannel = ((uri: string | readonly string[], o?: object) =>
      origStart(uri, o).then((c) => {
        ac.abort(new Error('user gave up'));
        return c;
      })) as typeof s.startChannel;
    const e = await rejection(s.authenticate({ mechanism: 'CRAM-MD5', authcid: 'bob', password: 'secret', signal: ac.signal }));
    expect(e.message).to.equal('user gave up');
    s.startChannel = origStart;
    expect(h.accepted[0]?.authenticatedIdentity).to.equal(undefined);
    expect(await s.authenticate({ mechanism: 'CRAM-MD5', authcid: 'bob', password: 'secret' })).to.equal('bob');
  });

  it('require.tls: the first greeting offers only TLS and SASL mechanisms allowed in the clear; app starts get 554', async () => {
    const { port, cert } = await listenTlsSasl({ tls: true });
    const s = await h.connect(port);
    expect(s.peerProfiles).to.deep.equal([TLS_PROFILE_URI, saslProfileUri('SCRAM-SHA-256'), saslProfileUri('CRAM-MD5')]);
    const e = await rejection(s.startChannel(ECHO));
    expect(e).to.be.instanceOf(BeepReplyError);
    expect(e.replyCode).to.equal(554);
    const g = await s.startTls({ ca: cert.cert });
    expect(g.profiles).to.deep.equal([saslProfileUri('SCRAM-SHA-256'), saslProfileUri('CRAM-MD5'), saslProfileUri('PLAIN'), ECHO]);
    expect(await echoOnce(s, 'now')).to.equal('now');
  });

  it('require.sasl: app starts get 530 until authenticated; an identity learned in the clear is dropped by TLS', async () => {
    const { port, cert } = await listenTlsSasl({ sasl: true });
    const s = await h.connect(port);
    expect(s.peerProfiles).to.include(ECHO);
    expect((await rejection(s.startChannel(ECHO))).replyCode).to.equal(530);
    await s.authenticate({ mechanism: 'SCRAM-SHA-256', authcid: 'bob', password: 'secret' });
    expect(await echoOnce(s, 'authed')).to.equal('authed');

    const server = h.accepted[0]!;
    const events: Array<string | undefined> = [];
    server.on(IDENTITY_EVENT, (id: string | undefined) => events.push(id));
    await s.startTls({ ca: cert.cert });
    expect(s.authenticatedIdentity).to.equal(undefined);
    expect(server.authenticatedIdentity).to.equal(undefined);
    expect(events).to.deep.equal([undefined]);
    expect((await rejection(s.startChannel(ECHO))).replyCode).to.equal(530);
    await s.authenticate({ authcid: 'bob', password: 'secret', mechanism: 'PLAIN' });
    expect(await echoOnce(s, 'again')).to.equal('again');
  });

  it('connect(target, { tls, sasl }) negotiates both before resolving; a wrong password fails connect with 535', async () => {
    const { port, cert } = await listenTlsSasl({ tls: true, sasl: true });
    const s = await h.connect(port, { tls: { ca: cert.cert }, sasl: { mechanism: 'PLAIN', authcid: 'bob', password: 'secret' } });
    expect(s.securityLayer).to.equal('tls');
    expect(s.authenticatedIdentity).to.equal('bob');
    expect(await echoOnce(s, 'both')).to.equal('both');
    const e = await rejection(h.connect(port, { tls: { ca: cert.cert }, sasl: { mechanism: 'PLAIN', authcid: 'bob', password: 'nope' } }));
    expect(e).to.be.instanceOf(BeepSaslError);
    expect(e.replyCode).to.equal(535);
  });
});
