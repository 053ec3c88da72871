import { expect } from 'chai';
import type { AddressInfo } from 'node:net';
import { connect, listen, type ConnectOptions, type ListenOptions, type Listener } from '../../src/api/connect.js';
import type { Session } from '../../src/session/session.js';
import type { ProfileDefinition } from '../../src/session/types.js';
import { generateSelfSigned, type SelfSignedCertificate } from '../../src/profiles/tls/self-signed.js';

export const ECHO = 'urn:test:tuning:echo';

export const echo: ProfileDefinition = { uri: ECHO, onMessage: (m, r) => r.rpy(m.payload) };

let cached: SelfSignedCertificate | undefined;
/** One self-signed certificate for the whole run (RSA key generation is slow). */
export function testCert(): SelfSignedCertificate {
  return (cached ??= generateSelfSigned());
}

/** Listeners and sessions of one test, closed in afterEach. */
export class Harness {
  readonly listeners: Listener[] = [];
  readonly sessions: Session[] = [];
  /** Sessions the listeners accepted, in order. */
  readonly accepted: Session[] = [];

  async listen(opts: ListenOptions): Promise<{ listener: Listener; port: number }> {
    const listener = await listen({ port: 0, ...opts });
    listener.on('session', (s: Session) => this.accepted.push(s));
    this.listeners.push(listener);
    return { listener, port: (listener.address() as AddressInfo).port };
  }

  async connect(port: number, opts: ConnectOptions = {}): Promise<Session> {
    const s = await connect({ port }, opts);
    this.sessions.push(s);
    return s;
  }

  async close(): Promise<void> {
    for (const s of this.sessions.splice(0)) s.destroy();
    for (const l of this.listeners.splice(0)) await l.close(100);
    this.accepted.length = 0;
  }
}

/** Resolve with the rejection of `p` (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error & { code?: string; replyCode?: number }> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(Error);
    return e as Error & { code?: string; replyCode?: number };
  }
  expect.fail('expected a rejection');
}

/** Resolve once the session has ended. */
export function closed(s: Session): Promise<Error | undefined> {
  if (s.closed) return Promise.resolve(s.closeReason);
  return new Promise((resolve) => s.once('close', (r?: Error) => resolve(r)));
}

export async function echoOnce(s: Session, text: string): Promise<string> {
  const ch = await s.startChannel(ECHO);
  const r = await ch.request(text);
  return r.text();
}
