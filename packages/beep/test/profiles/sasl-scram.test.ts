import { expect } from 'chai';
import {
  createScramSha256Client, createScramSha256Server, deriveScramCredentials, MemoryCredentialStore,
} from '../../src/profiles/index.js';
import type { SaslServerStep } from '../../src/profiles/index.js';
import { expectSaslError } from './helpers.js';

// RFC 7677 §3.
const RFC = {
  user: 'user',
  password: 'pencil',
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal:
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

async function rfcStore(): Promise<MemoryCredentialStore> {
  const store = new MemoryCredentialStore();
  store.setScramCredentials(RFC.user, await deriveScramCredentials(RFC.password, Buffer.from(RFC.salt, 'base64'), 4096));
  return store;
}

function challengeText(step: SaslServerStep): string {
  expect(step.kind).to.equal('challenge');
  return (step as { data: Buffer }).data.toString();
}

describe('SASL SCRAM-SHA-256 (RFC 5802, RFC 7677)', () => {
  it('client reproduces the RFC 7677 §3 example exactly', async () => {
    const client = createScramSha256Client({ authcid: RFC.user, password: RFC.password, nonce: () => RFC.clientNonce });
    expect(String(await client.initialResponse())).to.equal(RFC.clientFirst);
    expect((await client.respond(Buffer.from(RFC.serverFirst))).toString()).to.equal(RFC.clientFinal);
    await client.complete(Buffer.from(RFC.serverFinal));
  });

  it('server reproduces the RFC 7677 §3 example exactly', async () => {
    const server = createScramSha256Server({ credentials: await rfcStore(), serverNonce: () => RFC.serverNonce });
    expect(challengeText(await server.step(Buffer.from(RFC.clientFirst)))).to.equal(RFC.serverFirst);
    const final = await server.step(Buffer.from(RFC.clientFinal));
    expect(final.kind).to.equal('success');
    const ok = final as Extract<SaslServerStep, { kind: 'success' }>;
    expect(ok.data?.toString()).to.equal(RFC.serverFinal);
    expect(ok.identity).to.deep.include({ authcid: 'user', authzid: undefined, identity: 'user', mechanism: 'SCRAM-SHA-256' });
  });

  it('client accepts the server-final-message as a last challenge followed by an empty completion', async () => {
    const client = createScramSha256Client({ authcid: RFC.user, password: RFC.password, nonce: () => RFC.clientNonce });
    await client.initialResponse();
    await client.respond(Buffer.from(RFC.serverFirst));
    expect((await client.respond(Buffer.from(RFC.serverFinal))).length).to.equal(0);
    await client.complete(undefined);
  });

  it('client reports a server e= error', async () => {
    const client = createScramSha256Client({ authcid: RFC.user, password: RFC.password, nonce: () => RFC.clientNonce });
    await client.initialResponse();
    await client.respond(Buffer.from(RFC.serverFirst));
    const err = await expectSaslError(client.complete(Buffer.from('e=invalid-proof')), 535, 'BEEP_SASL_AUTH_FAILED');
    expect(err.message).to.contain('e=invalid-proof');
  });

  it('client rejects a forged server signature', async () => {
    const client = createScramSha256Client({ authcid: RFC.user, password: RFC.password, nonce: () => RFC.clientNonce });
    await client.initialResponse();
    await client.respond(Buffer.from(RFC.serverFirst));
    const forged = 'v=' + Buffer.alloc(32, 7).toString('base64');
    await expectSaslError(client.complete(Buffer.from(forged)), 535, 'BEEP_SASL_SERVER_SIGNATURE');
  });

  it('client refuses completion without a server signature', async () => {
    const client = createScramSha256Client({ authcid: RFC.user, password: RFC.password, nonce: () => RFC.clientNonce });
    await client.initialResponse();
    await client.respond(Buffer.from(RFC.serverFirst));
    await expectSaslError(client.complete(undefined), 535, 'BEEP_SASL_SERVER_SIGNATURE');
  });

  it('client refuses a server nonce that does not extend its own, and iteration counts below 4096', async () => {
    const c1 = createScramSha256Client({ authcid: RFC.user, password: RFC.password, nonce: () => RFC.clientNonce });
    await c1.initialResponse();
    await expectSaslError(c1.respond(Buffer.from('r=somethingelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')), 535);
    const c2 = createScramSha256Client({ authcid: RFC.user, password: RFC.password, nonce: () => RFC.clientNonce });
    await c2.initialResponse();
    await expectSaslError(c2.respond(Buffer.from(`r=${RFC.clientNonce}xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095`)), 534);
  });

  it('server rejects a tampered proof with e=invalid-proof (535)', async () => {
    const server = createScramSha256Server({ credentials: await rfcStore(), serverNonce: () => RFC.serverNonce });
    await server.step(Buffer.from(RFC.clientFirst));
    const tampered = RFC.clientFinal.replace('p=dHzb', 'p=dHzc');
    const err = await expectSaslError(server.step(Buffer.from(tampered)), 535, 'BEEP_SASL_AUTH_FAILED');
    expect(err.message).to.contain('e=invalid-proof');
  });

  it('server rejects a nonce mismatch in client-final', async () => {
    const server = createScramSha256Server({ credentials: await rfcStore(), serverNonce: () => RFC.serverNonce });
    await server.step(Buffer.from(RFC.clientFirst));
    const other = RFC.clientFinal.replace('hNlF$k0', 'hNlF$k1');
    await expectSaslError(server.step(Buffer.from(other)), 535);
  });

  it('server rejects a wrong password and an unknown user the same way, at the second message', async () => {
    const wrong = createScramSha256Client({ authcid: RFC.user, password: 'pencil2' });
    const s1 = createScramSha256Server({ credentials: await rfcStore() });
    const f1 = await wrong.respond(Buffer.from(challengeText(await s1.step(await wrong.initialResponse()))));
    const e1 = await expectSaslError(s1.step(f1), 535);

    const ghost = createScramSha256Client({ authcid: 'ghost', password: 'pencil' });
    const s2 = createScramSha256Server({ credentials: await rfcStore() });
    const first = challengeText(await s2.step(await ghost.initialResponse()));
    expect(first).to.match(/^r=[^,]+,s=[A-Za-z0-9+/=]+,i=4096$/);
    const e2 = await expectSaslError(s2.step(await ghost.respond(Buffer.from(first))), 535);
    expect(e2.message).to.equal(e1.message);
  });

  it('server refuses channel binding (p=) with 534 and accepts y,,', async () => {
    const s = createScramSha256Server({ credentials: await rfcStore() });
    await expectSaslError(s.step(Buffer.from('p=tls-unique,,n=user,r=abc')), 534, 'BEEP_SASL_MECH_INSUFFICIENT');
    const s2 = createScramSha256Server({ credentials: await rfcStore() });
    expect(challengeText(await s2.step(Buffer.from('y,,n=user,r=abc')))).to.match(/^r=abc/);
  });

  it('server checks the channel-binding echo (c=) against the gs2 header', async () => {
    const server = createScramSha256Server({ credentials: await rfcStore(), serverNonce: () => RFC.serverNonce });
    await server.step(Buffer.from(RFC.clientFirst));
    const badC = RFC.clientFinal.replace('c=biws', 'c=eSws'); // "y,," instead of "n,,"
    const err = await expectSaslError(server.step(Buffer.from(badC)), 535);
    expect(err.message).to.contain('channel-bindings-dont-match');
  });

  it('server refuses malformed client-first messages with 501', async () => {
    for (const msg of ['x,,n=user,r=abc', 'n,,r=abc,n=user', 'n,,m=ext,n=user,r=abc', 'n,,n=us=er,r=abc', 'n,a,n=user,r=abc', 'n,,n=user,r=a,b']) {
      const s = createScramSha256Server({ credentials: await rfcStore() });
      await expectSaslError(s.step(Buffer.from(msg)), 501);
    }
  });

  it('round-trips with an authzid (saslname-encoded) only when authorized', async () => {
    const store = new MemoryCredentialStore({ authorize: (c, z) => c === 'user' && z === 'ad,min=' });
    store.setScramCredentials('user', await deriveScramCredentials('pencil', Buffer.from('salt'), 4096));
    const client = createScramSha256Client({ authcid: 'user', password: 'pencil', authzid: 'ad,min=' });
    const initial = await client.initialResponse();
    expect(String(initial)).to.match(/^n,a=ad=2Cmin=3D,n=user,r=/);
    const server = createScramSha256Server({ credentials: store });
    const final = await server.step(await client.respond(Buffer.from(challengeText(await server.step(initial)))));
    expect(final.kind).to.equal('success');
    const ok = final as Extract<SaslServerStep, { kind: 'success' }>;
    expect(ok.identity.identity).to.equal('ad,min=');
    await client.complete(ok.data);
  });
});
