import { expect } from 'chai';
import {
  buildBlob, createMemoryCredentialStore, deriveScramCredentials, MemoryCredentialStore, parseErrorElement, SaslClient,
  SaslServer,
} from '../../src/profiles/index.js';
import type { SaslChannelContext, SaslClientConfig, SaslClientStep, SaslIdentity, SaslServerChannel, SaslServerConfig } from '../../src/profiles/index.js';

const secure: SaslChannelContext = { secure: true };
const clear: SaslChannelContext = { secure: false };

interface Transcript {
  start: string | undefined;
  startReply: string | undefined;
  messages: { body: string; kind: 'rpy' | 'err'; reply: string }[];
}

/** Drive a client and a server channel against each other, recording the bodies they exchange. */
async function exchange(server: SaslServer, client: SaslClient, ctx = secure): Promise<{ step: SaslClientStep; t: Transcript; ch: SaslServerChannel }> {
  const ch = server.openChannel(client.uri, ctx);
  const t: Transcript = { start: await client.startContent(), startReply: undefined, messages: [] };
  const r = await ch.onStart(t.start);
  t.startReply = r.content;
  let step = await client.onStartReply(r.content);
  for (let i = 0; step.kind === 'send'; i++) {
    if (i > 10) throw new Error('exchange does not end');
    const reply = await ch.onMessage(step.body);
    t.messages.push({ body: step.body, kind: reply.kind, reply: reply.body });
    step = await client.onReply(reply.kind, reply.body);
  }
  return { step, t, ch };
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('BEEP SASL profile (RFC 3080 §4.1)', () => {
  let store: MemoryCredentialStore;
  const base = (extra: Partial<SaslServerConfig> = {}): SaslServer => new SaslServer({ credentials: store, ...extra });
  const client = (config: Partial<SaslClientConfig> & Pick<SaslClientConfig, 'mechanism'>): SaslClient =>
    new SaslClient({ authcid: 'tim', password: 'tanstaaftanstaaf', ...config });

  before(async () => {
    store = await createMemoryCredentialStore(['tim:tanstaaftanstaaf']);
    store.setScramCredentials('user', await deriveScramCredentials('pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64')));
  });

  it('advertises mechanisms by URI, PLAIN only over TLS unless allowCleartext, ANONYMOUS only when allowed', () => {
    expect(base().profileUris(secure)).to.deep.equal([
      'http://iana.org/beep/SASL/SCRAM-SHA-256', 'http://iana.org/beep/SASL/CRAM-MD5', 'http://iana.org/beep/SASL/PLAIN',
    ]);
    expect(base().profileUris(clear)).to.not.include('http://iana.org/beep/SASL/PLAIN');
    expect(base({ allowCleartext: true }).profileUris(clear)).to.include('http://iana.org/beep/SASL/PLAIN');
    expect(base({ allowAnonymous: true }).profileUris(clear)).to.include('http://iana.org/beep/SASL/ANONYMOUS');
    expect(base().mechanismFor('http://iana.org/beep/SASL/ANONYMOUS')).to.equal(undefined);
    expect(base().mechanismFor('http://iana.org/beep/SASL/scram-sha-256')).to.equal('SCRAM-SHA-256');
    expect(() => base().openChannel('http://iana.org/beep/SASL/OTP', secure)).to.throw(/not a SASL profile/);
  });

  it('PLAIN: RFC 4616 message piggybacked in the start, completed in the start reply', async () => {
    const identities: SaslIdentity[] = [];
    const server = base({ onAuthenticated: (id) => identities.push(id) });
    const c = client({ mechanism: 'PLAIN' });
    const { step, t } = await exchange(server, c);
    expect(t.start).to.equal('<blob>AHRpbQB0YW5zdGFhZnRhbnN0YWFm</blob>');
    expect(t.startReply).to.equal("<blob status='complete' />");
    expect(t.messages).to.have.length(0);
    expect(step).to.deep.equal({ kind: 'complete' });
    expect(c.identity).to.equal('tim');
    expect(server.identity?.identity).to.equal('tim');
    expect(identities).to.have.length(1);
  });

  it('SCRAM-SHA-256: RFC 7677 exchange through the profile, byte for byte', async () => {
    const server = base({ scramServerNonce: () => '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0' });
    const c = new SaslClient({ mechanism: 'SCRAM-SHA-256', authcid: 'user', password: 'pencil', nonce: () => 'rOprNGfwEbeRWgbNEkqO' });
    const { step, t, ch } = await exchange(server, c);
    expect(t.start).to.equal(`<blob>${b64('n,,n=user,r=rOprNGfwEbeRWgbNEkqO')}</blob>`);
    expect(t.startReply).to.equal(
      `<blob>${b64('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')}</blob>`,
    );
    expect(t.messages).to.deep.equal([
      {
        body: `<blob>${b64('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=')}</blob>`,
        kind: 'rpy',
        reply: `<blob status='complete'>${b64('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')}</blob>`,
      },
    ]);
    expect(step.kind).to.equal('complete');
    expect(ch.state).to.equal('complete');
    expect(server.identity).to.deep.include({ mechanism: 'SCRAM-SHA-256', identity: 'user' });
  });

  it('CRAM-MD5 (server-first): a start without content gets the challenge in the start reply, as Vortex expects', async () => {
    const server = base({ hostname: 'beamgate.test' });
    const { step, t } = await exchange(server, client({ mechanism: 'CRAM-MD5' }), clear);
    expect(t.start).to.equal(undefined);
    const challenge = Buffer.from(/<blob>(.*)<\/blob>/.exec(t.startReply ?? '')?.[1] ?? '', 'base64').toString();
    expect(challenge).to.match(/^<\d+\.\d+@beamgate\.test>$/);
    expect(t.messages).to.have.length(1);
    expect(step.kind).to.equal('complete');
  });

  it('CRAM-MD5: an empty piggybacked blob also gets the challenge in the start reply', async () => {
    const server = base({ hostname: 'beamgate.test' });
    const ch = server.openChannel('http://iana.org/beep/SASL/CRAM-MD5', clear);
    const r = await ch.onStart('<blob />');
    expect(r.outcome.status).to.equal('continue');
    expect(Buffer.from(/<blob>(.*)<\/blob>/.exec(r.content ?? '')?.[1] ?? '', 'base64').toString()).to.match(/@beamgate\.test>$/);
  });

  it('client: a server-first challenge is taken from the start reply or from the RPY to an empty blob', async () => {
    const challenge = '<1896.697170952@postoffice.reston.mci.net>';
    const blob = `<blob>${b64(challenge)}</blob>`;
    const digest = `<blob>${b64('tim b913a602c7eda7a495b4e6e7334d3890')}</blob>`;
    const a = client({ mechanism: 'CRAM-MD5' });
    expect(await a.startContent()).to.equal(undefined);
    expect(await a.onStartReply(blob)).to.deep.equal({ kind: 'send', body: digest });
    expect(await a.onReply('rpy', "<blob status='complete'/>")).to.deep.equal({ kind: 'complete' });
    const b = client({ mechanism: 'CRAM-MD5' });
    await b.startContent();
    expect(await b.onStartReply(undefined)).to.deep.equal({ kind: 'send', body: '<blob />' });
    expect(await b.onReply('rpy', `<![CDATA[${blob}]]>`)).to.deep.equal({ kind: 'send', body: digest });
    expect(await b.onReply('rpy', "<blob status='complete' />")).to.deep.equal({ kind: 'complete' });
  });

  it('EXTERNAL: the verified TLS client certificate is the identity; another authzid needs authorization', async () => {
    const ext: SaslChannelContext = { secure: true, externalIdentity: 'CN=tim,O=beamgate' };
    const server = base({ allowExternal: true });
    expect(server.profileUris(ext)[0]).to.equal('http://iana.org/beep/SASL/EXTERNAL');
    expect(server.profileUris(clear)).to.not.include('http://iana.org/beep/SASL/EXTERNAL');
    expect(base().profileUris(ext)).to.not.include('http://iana.org/beep/SASL/EXTERNAL');
    const { step, t } = await exchange(server, new SaslClient({ mechanism: 'EXTERNAL' }), ext);
    expect(t.start).to.equal('<blob />');
    expect(t.startReply).to.equal("<blob status='complete' />");
    expect(step.kind).to.equal('complete');
    expect(server.identity).to.deep.include({ mechanism: 'EXTERNAL', authcid: 'CN=tim,O=beamgate', identity: 'CN=tim,O=beamgate' });

    const other = await exchange(base({ allowExternal: true }), new SaslClient({ mechanism: 'EXTERNAL', authzid: 'root' }), ext);
    expect((other.step as { error: { replyCode: number } }).error.replyCode).to.equal(537);
    const noCert = await exchange(base({ allowExternal: true }), new SaslClient({ mechanism: 'EXTERNAL' }), secure);
    expect((noCert.step as { error: { replyCode: number } }).error.replyCode).to.equal(535);
  });

  it('ANONYMOUS with trace information when allowed', async () => {
    const server = base({ allowAnonymous: true });
    const { step } = await exchange(server, new SaslClient({ mechanism: 'ANONYMOUS', trace: 'sirhc@example.org' }), clear);
    expect(step.kind).to.equal('complete');
    expect(server.identity).to.deep.include({ identity: 'anonymous', trace: 'sirhc@example.org' });
  });

  it('without piggybacking, the start reply is empty (but for a server-first challenge) and the initial response goes as the first MSG', async () => {
    for (const mechanism of ['PLAIN', 'CRAM-MD5', 'SCRAM-SHA-256'] as const) {
      const server = base();
      const c = mechanism === 'SCRAM-SHA-256'
        ? new SaslClient({ mechanism, authcid: 'user', password: 'pencil', piggyback: false })
        : client({ mechanism, piggyback: false });
      const { step, t } = await exchange(server, c);
      expect(t.start, mechanism).to.equal(undefined);
      // A server-first mechanism gets its challenge in the start reply all the same.
      if (mechanism === 'CRAM-MD5') expect(t.startReply, mechanism).to.match(/^<blob>[A-Za-z0-9+/=]+<\/blob>$/);
      else expect(t.startReply, mechanism).to.equal(undefined);
      expect(step.kind, mechanism).to.equal('complete');
    }
  });

  it('wrong password on the first round: the start succeeds carrying <error code=535>', async () => {
    const server = base();
    const { step, t } = await exchange(server, client({ mechanism: 'PLAIN', password: 'wrong' }));
    expect(parseErrorElement(t.startReply ?? '')).to.deep.include({ code: 535, message: 'authentication failure' });
    expect(step.kind).to.equal('failed');
    expect((step as { error: { replyCode: number; code: string } }).error).to.include({ replyCode: 535, code: 'BEEP_SASL_AUTH_FAILED' });
    expect(server.identity).to.equal(undefined);
    expect(server.failures).to.equal(1);
  });

  it('wrong password on a later round: ERR <error code=535>', async () => {
    const server = base();
    const { step, t } = await exchange(server, new SaslClient({ mechanism: 'SCRAM-SHA-256', authcid: 'user', password: 'pen' }));
    expect(t.messages).to.have.length(1);
    expect(t.messages[0]?.kind).to.equal('err');
    expect(parseErrorElement(t.messages[0]?.reply ?? '').code).to.equal(535);
    expect(step.kind).to.equal('failed');
  });

  it('client abort: <blob status=abort/> gets ERR 451, the channel resets and a new exchange succeeds', async () => {
    const server = base();
    const ch = server.openChannel('http://iana.org/beep/SASL/SCRAM-SHA-256', secure);
    const first = new SaslClient({ mechanism: 'SCRAM-SHA-256', authcid: 'user', password: 'pencil' });
    const start = await ch.onStart(await first.startContent());
    const step = await first.onStartReply(start.content);
    expect(step.kind).to.equal('send');
    expect(ch.state).to.equal('in-progress');
    const abortBody = first.abort();
    expect(abortBody).to.equal("<blob status='abort' />");
    const r = await ch.onMessage(abortBody);
    expect(r.kind).to.equal('err');
    expect(r.replyCode).to.equal(451);
    expect(r.outcome.status).to.equal('aborted');
    expect(ch.state).to.equal('idle');
    expect(await first.onReply(r.kind, r.body)).to.deep.equal({ kind: 'aborted' });
    expect(server.failures).to.equal(0);

    // A new exchange on the same channel, its initial response as a MSG.
    const second = new SaslClient({ mechanism: 'SCRAM-SHA-256', authcid: 'user', password: 'pencil', piggyback: false });
    await second.startContent();
    let s = await second.onStartReply(undefined);
    while (s.kind === 'send') {
      const reply = await ch.onMessage(s.body);
      s = await second.onReply(reply.kind, reply.body);
    }
    expect(s.kind).to.equal('complete');
  });

  it('PLAIN before TLS is refused with 538 inside the start reply', async () => {
    const { step, t } = await exchange(base(), client({ mechanism: 'PLAIN' }), clear);
    expect(parseErrorElement(t.startReply ?? '').code).to.equal(538);
    expect((step as { error: { code: string } }).error.code).to.equal('BEEP_SASL_ENCRYPTION_REQUIRED');
    const allowed = await exchange(base({ allowCleartext: true }), client({ mechanism: 'PLAIN' }), clear);
    expect(allowed.step.kind).to.equal('complete');
  });

  it('a second authentication on the same session is refused with 554; reset() allows it again', async () => {
    const server = base();
    expect((await exchange(server, client({ mechanism: 'PLAIN' }))).step.kind).to.equal('complete');
    expect(server.profileUris(secure)).to.deep.equal([]);
    const again = await exchange(server, client({ mechanism: 'CRAM-MD5' }));
    expect(parseErrorElement(again.t.startReply ?? '').code).to.equal(554);
    expect((again.step as { error: { replyCode: number } }).error.replyCode).to.equal(554);
    expect(server.identity?.mechanism).to.equal('PLAIN');
    server.reset();
    expect(server.identity).to.equal(undefined);
    expect((await exchange(server, client({ mechanism: 'CRAM-MD5' }))).step.kind).to.equal('complete');
  });

  it('further MSGs on a completed channel get ERR 554', async () => {
    const server = base();
    const { ch } = await exchange(server, client({ mechanism: 'PLAIN' }));
    const r = await ch.onMessage(buildBlob({ data: Buffer.from('\0tim\0tanstaaftanstaaf') }));
    expect(r.kind).to.equal('err');
    expect(r.replyCode).to.equal(554);
  });

  it('after maxFailures failed exchanges, attempts get 454', async () => {
    const server = base({ maxFailures: 2 });
    for (let i = 0; i < 2; i++) await exchange(server, client({ mechanism: 'PLAIN', password: 'nope' }));
    const { t } = await exchange(server, client({ mechanism: 'PLAIN' }));
    expect(parseErrorElement(t.startReply ?? '').code).to.equal(454);
    expect(server.identity).to.equal(undefined);
  });

  it('bad blob XML gets 500/501 (in the start reply, or as ERR)', async () => {
    const server = base();
    const ch = server.openChannel('http://iana.org/beep/SASL/PLAIN', secure);
    const s = await ch.onStart("<blob status='bogus'/>");
    expect(parseErrorElement(s.content ?? '').code).to.equal(501);
    const bad = await ch.onMessage('<!DOCTYPE x><blob/>');
    expect(bad.kind).to.equal('err');
    expect(bad.replyCode).to.equal(500);
    const notB64 = await ch.onMessage('<blob>@@@@</blob>');
    expect(notB64.replyCode).to.equal(501);
    const fromClient = await ch.onMessage("<blob status='complete'/>");
    expect(fromClient.replyCode).to.equal(501);
  });

  it('a credential store that throws yields 454 without leaking its message', async () => {
    const server = new SaslServer({ credentials: { verifyPlain: () => { throw new Error('db password is hunter2'); } } });
    const { t } = await exchange(server, client({ mechanism: 'PLAIN' }));
    const err = parseErrorElement(t.startReply ?? '');
    expect(err.code).to.equal(454);
    expect(err.message).to.not.contain('hunter2');
  });

  it('the client driver reports a refused start and server errors with their codes', async () => {
    const c = client({ mechanism: 'PLAIN' });
    await c.startContent();
    const step = c.onStartRefused(550, 'no acceptable profile');
    expect(step).to.have.property('kind', 'failed');
    expect((step as { error: { replyCode: number } }).error.replyCode).to.equal(550);
    const c2 = client({ mechanism: 'CRAM-MD5' });
    await c2.startContent();
    expect((await c2.onStartReply("<error code='534'>too weak</error>")).kind).to.equal('failed');
    const c3 = client({ mechanism: 'CRAM-MD5' });
    await c3.startContent();
    const garbage = await c3.onStartReply('<blob>');
    expect((garbage as { error: { code: string } }).error.code).to.equal('BEEP_SASL_MALFORMED');
  });
});
