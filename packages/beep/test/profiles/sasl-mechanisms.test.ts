import { expect } from 'chai';
import { BeepSaslError } from '../../src/errors.js';
import { expectSaslError } from './helpers.js';
import {
  buildPlainMessage, createAnonymousClient, createAnonymousServer, createCramMd5Client, createCramMd5Server,
  createMemoryCredentialStore, createPlainClient, createPlainServer, cramMd5Digest, MemoryCredentialStore,
  parsePlainMessage, saslprep,
} from '../../src/profiles/index.js';
import type { SaslEnvironment, SaslServerStep } from '../../src/profiles/index.js';


function success(step: SaslServerStep): Extract<SaslServerStep, { kind: 'success' }> {
  expect(step.kind).to.equal('success');
  return step as Extract<SaslServerStep, { kind: 'success' }>;
}

describe('SASL PLAIN (RFC 4616)', () => {
  const store = new MemoryCredentialStore();
  store.setPassword('tim', 'tanstaaftanstaaf');
  store.setPassword('Kurt', 'xipj3plmq');

  it('builds the RFC 4616 §4 example messages byte for byte', () => {
    const tim = buildPlainMessage({ authzid: undefined, authcid: 'tim', password: 'tanstaaftanstaaf' });
    expect(tim.equals(Buffer.from('\u0000tim\u0000tanstaaftanstaaf'))).to.equal(true);
    expect(tim.toString('base64')).to.equal('AHRpbQB0YW5zdGFhZnRhbnN0YWFm');
    const kurt = buildPlainMessage({ authzid: 'Ursel', authcid: 'Kurt', password: 'xipj3plmq' });
    expect(kurt.equals(Buffer.from('Ursel\u0000Kurt\u0000xipj3plmq'))).to.equal(true);
  });

  it('accepts the tim example and reports authcid as identity', async () => {
    const client = createPlainClient({ authcid: 'tim', password: 'tanstaaftanstaaf' });
    const server = createPlainServer({ credentials: store });
    const step = success(await server.step(await client.initialResponse()));
    expect(step.identity).to.deep.include({ authcid: 'tim', authzid: undefined, identity: 'tim', mechanism: 'PLAIN' });
  });

  it('refuses the Ursel example unless Kurt may act as Ursel (537), accepts it with an authorize hook', async () => {
    const msg = Buffer.from('Ursel\u0000Kurt\u0000xipj3plmq');
    await expectSaslError(createPlainServer({ credentials: store }).step(msg), 537, 'BEEP_SASL_NOT_AUTHORIZED');
    const permissive = await createMemoryCredentialStore(['Kurt:xipj3plmq'], { authorize: (c, z) => c === 'Kurt' && z === 'Ursel' });
    const step = success(await createPlainServer({ credentials: permissive }).step(msg));
    expect(step.identity.identity).to.equal('Ursel');
    expect(step.identity.authcid).to.equal('Kurt');
  });

  it('fails a wrong password or unknown user with 535', async () => {
    await expectSaslError(createPlainServer({ credentials: store }).step(Buffer.from('\0tim\0wrong')), 535, 'BEEP_SASL_AUTH_FAILED');
    await expectSaslError(createPlainServer({ credentials: store }).step(Buffer.from('\0nobody\0x')), 535);
  });

  it('refuses malformed messages with 501', async () => {
    const bad = [
      Buffer.from('tim tanstaaf'), // no NUL
      Buffer.from('\0timtanstaaf'), // one NUL
      Buffer.from('\0tim\0pass\0extra'), // three NULs
      Buffer.from('\0\0pass'), // empty authcid
      Buffer.from('\0tim\0'), // empty password
      Buffer.concat([Buffer.from('\0tim\0'), Buffer.from([0xc3, 0x28])]), // invalid UTF-8
      Buffer.from(`\0${'u'.repeat(256)}\0pw`), // authcid > 255 octets
      Buffer.from(`\0tim\0${'p'.repeat(256)}`), // passwd > 255 octets
      Buffer.from(`${'z'.repeat(256)}\0tim\0pw`), // authzid > 255 octets
    ];
    for (const msg of bad) {
      expect(() => parsePlainMessage(msg)).to.throw(BeepSaslError);
      await expectSaslError(createPlainServer({ credentials: store }).step(msg), 501, 'BEEP_SASL_MALFORMED');
    }
    // exactly 255 octets is accepted by the parser
    expect(parsePlainMessage(Buffer.from(`\0${'u'.repeat(255)}\0${'p'.repeat(255)}`)).authcid).to.have.length(255);
  });

  it('asks for the initial response with an empty challenge when none was sent', async () => {
    const server = createPlainServer({ credentials: store });
    const first = await server.step(undefined);
    expect(first).to.deep.equal({ kind: 'challenge', data: Buffer.alloc(0) });
    const client = createPlainClient({ authcid: 'tim', password: 'tanstaaftanstaaf' });
    success(await server.step(await client.respond(Buffer.alloc(0))));
    await expectSaslError(server.step(Buffer.from('\0tim\0tanstaaftanstaaf')), 554, 'BEEP_SASL_BAD_STATE');
  });
});

describe('SASL CRAM-MD5 (RFC 2195)', () => {
  const challenge = '<1896.697170952@postoffice.reston.mci.net>';
  // randomBytes(8) as the big-endian number 1896, clock at 697170952 s: reproduces the RFC's challenge.
  const rfcEnv: SaslEnvironment = {
    randomBytes: (n) => {
      const b = Buffer.alloc(n);
      b.writeBigUInt64BE(1896n, n - 8);
      return b;
    },
    now: () => 697170952 * 1000 + 123,
  };

  it('computes the RFC 2195 example response', async () => {
    expect(cramMd5Digest('tanstaaftanstaaf', challenge)).to.equal('b913a602c7eda7a495b4e6e7334d3890');
    const client = createCramMd5Client({ authcid: 'tim', password: 'tanstaaftanstaaf' });
    expect(client.clientFirst).to.equal(false);
    expect(await client.initialResponse()).to.equal(undefined);
    expect((await client.respond(Buffer.from(challenge))).toString()).to.equal('tim b913a602c7eda7a495b4e6e7334d3890');
  });

  it('server issues <random.timestamp@hostname> and verifies the RFC response', async () => {
    const store = new MemoryCredentialStore();
    store.setPassword('tim', 'tanstaaftanstaaf');
    const server = createCramMd5Server({ credentials: store, env: rfcEnv, hostname: 'postoffice.reston.mci.net' });
    const first = await server.step(Buffer.alloc(0));
    expect(first.kind).to.equal('challenge');
    expect((first as { data: Buffer }).data.toString()).to.equal(challenge);
    const step = success(await server.step(Buffer.from('tim b913a602c7eda7a495b4e6e7334d3890')));
    expect(step.identity.identity).to.equal('tim');
  });

  it('fails a wrong digest, an unknown user and a malformed response', async () => {
    const store = new MemoryCredentialStore();
    store.setPassword('tim', 'tanstaaftanstaaf');
    const mk = async () => {
      const s = createCramMd5Server({ credentials: store, env: rfcEnv, hostname: 'h' });
      const first = await s.step(undefined);
      return { s, challenge: (first as { data: Buffer }).data };
    };
    await expectSaslError((await mk()).s.step(Buffer.from('tim 00000000000000000000000000000000')), 535);
    const unknown = await mk();
    await expectSaslError(unknown.s.step(Buffer.from(`bob ${cramMd5Digest('x', unknown.challenge)}`)), 535);
    const wrongSecret = await mk();
    await expectSaslError(wrongSecret.s.step(Buffer.from(`tim ${cramMd5Digest('tanstaaf', wrongSecret.challenge)}`)), 535);
    await expectSaslError((await mk()).s.step(Buffer.from('tim-no-digest')), 501);
    await expectSaslError((await mk()).s.step(Buffer.alloc(0)), 501);
    await expectSaslError(createCramMd5Server({ credentials: store }).step(Buffer.from('data first')), 501);
  });
});

describe('SASL ANONYMOUS (RFC 4505)', () => {
  it('accepts optional trace information', async () => {
    const client = createAnonymousClient({ trace: 'sirhc' });
    const step = success(await createAnonymousServer().step(await client.initialResponse()));
    expect(step.identity).to.deep.include({ authcid: 'anonymous', identity: 'anonymous', trace: 'sirhc' });
    const empty = success(await createAnonymousServer().step(Buffer.alloc(0)));
    expect(empty.identity.trace).to.equal('');
  });

  it('refuses trace information longer than 255 characters or with controls', async () => {
    await expectSaslError(createAnonymousServer().step(Buffer.from('x'.repeat(256))), 501);
    await expectSaslError(createAnonymousServer().step(Buffer.from('a\u0001b')), 501);
    success(await createAnonymousServer().step(Buffer.from('é'.repeat(255)))); // 255 characters, 510 octets
  });
});

describe('SASLprep-lite', () => {
  it('maps non-ASCII spaces, removes mapped-to-nothing characters and applies NFKC', () => {
    expect(saslprep('I\u00ADX')).to.equal('IX');
    expect(saslprep('user')).to.equal('user');
    expect(saslprep('USER')).to.equal('USER');
    expect(saslprep('\u00AA')).to.equal('a');
    expect(saslprep('\u2168')).to.equal('IX');
    expect(saslprep('a\u00A0b')).to.equal('a b');
  });

  it('refuses prohibited characters (RFC 4013 §3 examples)', () => {
    expect(() => saslprep('\u0007')).to.throw(BeepSaslError);
    expect(() => saslprep('a\uE000')).to.throw(BeepSaslError);
    expect(() => saslprep('\u00AD')).to.throw(BeepSaslError); // maps to the empty string
    expect(() => saslprep('')).to.throw(BeepSaslError);
  });
});
