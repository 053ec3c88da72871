import { expect } from 'chai';
import { BeepSaslError, BeepTlsError } from '../../src/errors.js';
import { generateSelfSigned, type SelfSignedCertificate } from '../../src/profiles/tls/self-signed.js';
import { TLS_PROFILE_URI } from '../../src/profiles/tls/tls-xml.js';
import { saslProfileUri } from '../../src/profiles/sasl/registry.js';
import { sessionIdentity } from '../../src/profiles/tuning/identity.js';
import type { ProfileDefinition } from '../../src/session/types.js';
import { closed, ECHO, echo, echoOnce, Harness, rejection, testCert } from './helpers.js';

/** A profile that accepts the start and never answers anything (a stalled peer). */
const silent = (uri: string): ProfileDefinition => ({ uri, onMessage: () => undefined });

let clientCert: SelfSignedCertificate | undefined;
/** A self-signed client certificate (CN=bob) that the listener trusts as its own CA. */
function bobCert(): SelfSignedCertificate {
  return (clientCert ??= generateSelfSigned({ commonName: 'bob', clientAuth: true }));
}

describe('tuning: negotiation timeouts and SASL EXTERNAL', function () {
  this.timeout(20000);
  const h = new Harness();
  afterEach(() => h.close());

  it('listener: a server-first SASL exchange whose client never answers the challenge ends the session (BEEP_SASL_TIMEOUT)', async () => {
    const { port } = await h.listen({ profiles: [echo], sasl: { users: ['bob:secret'], negotiationTimeoutMs: 150 } });
    const client = await h.connect(port);
    const ch = await client.startChannel(saslProfileUri('CRAM-MD5'));
    // The challenge rode on the start reply; we never answer it.
    expect(ch.startReplyContent?.toString()).to.match(/^<blob>[A-Za-z0-9+/=]+<\/blob>$/);
    const reason = await closed(h.accepted[0]!);
    expect(reason).to.be.instanceOf(BeepSaslError);
    expect((reason as BeepSaslError).code).to.equal('BEEP_SASL_TIMEOUT');
    await closed(client);
  });

  it('listener: a finished SASL exchange stops its timer', async () => {
    const { port } = await h.listen({ profiles: [echo], sasl: { users: ['bob:secret'], negotiationTimeoutMs: 150 } });
    const client = await h.connect(port);
    await client.authenticate({ mechanism: 'CRAM-MD5', authcid: 'bob', password: 'secret' });
    // Well past the 150 ms timer: exchanges on one channel keep going (a channel per exchange would run out of
    // channel numbers on a fast machine).
    const ch = await client.startChannel(ECHO);
    const until = Date.now() + 400;
    while (Date.now() < until) expect((await ch.request('still here')).text()).to.equal('still here');
    expect(h.accepted[0]!.closed).to.equal(false);
  });

  it('listener: a TLS channel started without <ready/> that never gets one ends the session (BEEP_TLS_TIMEOUT)', async () => {
    const { port } = await h.listen({ profiles: [echo], tls: { key: testCert().key, cert: testCert().cert, negotiationTimeoutMs: 150 } });
    const client = await h.connect(port);
    await client.startChannel(TLS_PROFILE_URI);
    const reason = await closed(h.accepted[0]!);
    expect((reason as BeepTlsError).code).to.equal('BEEP_TLS_TIMEOUT');
  });

  it('initiator: authenticate() against a peer that stops answering rejects with BEEP_SASL_TIMEOUT and ends the session', async () => {
    const { port } = await h.listen({ profiles: [silent(saslProfileUri('PLAIN'))] });
    const client = await h.connect(port);
    const err = await rejection(
      client.authenticate({ mechanism: 'PLAIN', authcid: 'bob', password: 'secret', allowCleartext: true, piggyback: false, timeoutMs: 150 }),
    );
    expect(err).to.be.instanceOf(BeepSaslError);
    expect(err.code).to.equal('BEEP_SASL_TIMEOUT');
    expect(client.closed).to.equal(true);
  });

  it('initiator: startTls() against a peer that never proceeds rejects with BEEP_TLS_TIMEOUT', async () => {
    const { port } = await h.listen({ profiles: [silent(TLS_PROFILE_URI)] });
    const client = await h.connect(port);
    const err = await rejection(client.startTls({ timeoutMs: 150 }));
    expect(err).to.be.instanceOf(BeepTlsError);
    expect(err.code).to.equal('BEEP_TLS_TIMEOUT');
    expect(client.closed).to.equal(true);
  });

  describe('client certificates (requestCert) and EXTERNAL', () => {
    const mutual = () => ({ key: testCert().key, cert: testCert().cert, ca: bobCert().cert, requestCert: true });

    it('a trusted client certificate authenticates the session through EXTERNAL: the identity is its subject', async () => {
      const { port } = await h.listen({ profiles: [echo], tls: mutual(), require: { sasl: true } });
      const client = await h.connect(port);
      const greeting = await client.startTls({ ca: testCert().cert, servername: 'localhost', key: bobCert().key, cert: bobCert().cert });
      expect(greeting.profiles).to.include(saslProfileUri('EXTERNAL'));
      expect(await client.authenticate({ mechanism: 'EXTERNAL' })).to.equal('');
      expect(sessionIdentity(h.accepted[0]!)).to.deep.include({ mechanism: 'EXTERNAL', identity: 'CN=bob' });
      expect(await echoOnce(client, 'mutual')).to.equal('mutual');
    });

    it('EXTERNAL is not offered before TLS, and asking for another identity is refused (537)', async () => {
      const { port } = await h.listen({ profiles: [echo], tls: mutual() });
      const client = await h.connect(port);
      expect(client.peerProfiles).to.not.include(saslProfileUri('EXTERNAL'));
      await client.startTls({ ca: testCert().cert, servername: 'localhost', key: bobCert().key, cert: bobCert().cert });
      const err = await rejection(client.authenticate({ mechanism: 'EXTERNAL', authzid: 'root' }));
      expect(err.replyCode).to.equal(537);
    });

    it('a client without a certificate, or with one the listener does not trust, fails the handshake', async () => {
      const { port } = await h.listen({ profiles: [echo], tls: mutual() });
      const anon = await h.connect(port);
      await rejection(anon.startTls({ ca: testCert().cert, servername: 'localhost' }));
      expect(anon.closed).to.equal(true);
      const stranger = await h.connect(port);
      await rejection(stranger.startTls({ ca: testCert().cert, servername: 'localhost', key: testCert().key, cert: testCert().cert }));
      expect(stranger.closed).to.equal(true);
    });
  });
});
