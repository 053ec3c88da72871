import diagnostics_channel from 'node:diagnostics_channel';
import net from 'node:net';
import { expect } from 'chai';
import { connect } from '../../src/api/connect.js';
import type { Session } from '../../src/session/session.js';
import { AUTH_FAILURE_CHANNEL, type SaslAuthFailure } from '../../src/profiles/tuning/sasl-guard.js';
import { echo, Harness, rejection } from './helpers.js';

describe('tuning: SASL brute-force throttling across sessions', function () {
  this.timeout(20000);
  const h = new Harness();
  afterEach(() => h.close());

  it('locks out an address after the free failures, over fresh sessions, and reports every failure', async () => {
    const failures: SaslAuthFailure[] = [];
    const published: unknown[] = [];
    const onMessage = (m: unknown): void => void published.push(m);
    diagnostics_channel.subscribe(AUTH_FAILURE_CHANNEL, onMessage);
    try {
      const { port } = await h.listen({
        profiles: [echo],
        sasl: { users: ['bob:secret'], throttle: { freeFailures: 2, baseLockoutMs: 60_000 }, onAuthFailure: (f) => failures.push(f) },
      });
      for (let i = 0; i < 3; i++) {
        const s = await h.connect(port);
        expect((await rejection(s.authenticate({ mechanism: 'CRAM-MD5', authcid: 'bob', password: `guess${i}` }))).replyCode).to.equal(535);
      }
      // Locked out: a fresh session is refused (454) before any check, even with the right password.
      const s = await h.connect(port);
      const e = await rejection(s.authenticate({ mechanism: 'SCRAM-SHA-256', authcid: 'bob', password: 'secret' }));
      expect(e.replyCode).to.equal(454);
      expect(e.message).to.match(/too many failed authentication attempts .*retry in 60 s/);
      expect(failures.map((f) => [f.reason, f.code])).to.deep.equal([['failed', 535], ['failed', 535], ['failed', 535], ['locked', 454]]);
      expect(failures[0]).to.include({ address: '127.0.0.1', user: 'bob', mechanism: 'CRAM-MD5', lockoutMs: 0 });
      expect(failures[2]!.lockoutMs).to.equal(60_000);
      expect(published).to.have.length(4);
    } finally {
      diagnostics_channel.unsubscribe(AUTH_FAILURE_CHANNEL, onMessage);
    }
  });

  it('brute force over fresh sessions is held to the lockout schedule (measured rate)', async () => {
    let checked = 0;
    let refused = 0;
    const { port } = await h.listen({
      profiles: [echo],
      sasl: { users: ['bob:secret'], throttle: { freeFailures: 5, baseLockoutMs: 1000 }, onAuthFailure: (f) => (f.reason === 'failed' ? checked++ : refused++) },
    });
    const t0 = Date.now();
    let attempts = 0;
    while (Date.now() - t0 < 2500) {
      const s = await h.connect(port);
      const e = await rejection(s.authenticate({ mechanism: 'CRAM-MD5', authcid: 'bob', password: `guess${attempts++}` }));
      expect([535, 454]).to.include(e.replyCode);
      s.destroy();
      h.sessions.pop();
    }
    // 5 free failures, then lockouts of 1 s and 2 s: at most 7 guesses are checked in 2.5 s, whatever the rate.
    expect(checked, `${attempts} attempts in ${(Date.now() - t0) / 1000}s`).to.be.within(5, 7);
    expect(refused).to.equal(attempts - checked);
  });

  it('per identity: a user locked out from one address is locked out from the others; other users are not', async () => {
    const failures: SaslAuthFailure[] = [];
    const { port } = await h.listen({
      profiles: [echo],
      sasl: { users: ['bob:secret', 'amy:pw'], throttle: { freeFailures: 1, baseLockoutMs: 60_000 }, onAuthFailure: (f) => failures.push(f) },
    });
    for (const guess of ['x', 'y']) {
      const s = await h.connect(port);
      expect((await rejection(s.authenticate({ mechanism: 'CRAM-MD5', authcid: 'amy', password: guess }))).replyCode).to.equal(535);
    }
    // From another address (127.0.0.2 is a different peer to the listener): bob is fine, amy is locked out.
    const from2 = async (): Promise<Session> => {
      const s = await connect(net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' }));
      h.sessions.push(s);
      return s;
    };
    expect(await (await from2()).authenticate({ mechanism: 'CRAM-MD5', authcid: 'bob', password: 'secret' })).to.equal('bob');
    const e = await rejection((await from2()).authenticate({ mechanism: 'CRAM-MD5', authcid: 'amy', password: 'pw' }));
    expect(e.replyCode).to.equal(454);
    expect(failures.at(-1)).to.include({ address: '127.0.0.2', user: 'amy', reason: 'locked' });
  });

  it('throttle: false keeps only the per-session limit', async () => {
    const { port } = await h.listen({ profiles: [echo], sasl: { users: ['bob:secret'], throttle: false } });
    for (let i = 0; i < 8; i++) {
      const s = await h.connect(port);
      expect((await rejection(s.authenticate({ mechanism: 'CRAM-MD5', authcid: 'bob', password: 'x' }))).replyCode).to.equal(535);
    }
    const s = await h.connect(port);
    expect(await s.authenticate({ mechanism: 'CRAM-MD5', authcid: 'bob', password: 'secret' })).to.equal('bob');
  });
});
