/**
 * Replays a session transcript (test-vectors/beep/sessions-*.json, format in test-vectors/README.md) against our
 * Session, sans-IO: the transcript's `send` bytes are fed to the session (as one chunk per step or byte by byte)
 * and its output is matched against `expect` / `expect_match` steps.
 */
import { expect } from 'chai';
import { Session, type SessionBinding } from '../../src/session/session.js';
import type { Channel } from '../../src/session/channel.js';
import type { ProfileDefinition } from '../../src/session/types.js';
import type { SessionOptions } from '../../src/session/options.js';
import { ansProfile, echoProfile, sinkProfile, testProfiles } from '../../src/testing/test-profiles.js';
import { securedTestProfiles } from '../tuning/transcript-security.js';
import '../../src/api/session-security.js';

type InitiatorAct = 'start_channel' | 'request' | 'close_channel' | 'close_session' | 'start_tls' | 'authenticate';

export interface Step {
  send?: string;
  send_base64?: string;
  expect?: string;
  expect_match?: string;
  expect_close?: string | null;
  expect_nothing?: boolean;
  wait_ms?: number;
  /** What the initiator under test does next by itself (its script); a TCP replayer only awaits the bytes. */
  do?: InitiatorAct;
  /** Legacy name of `do` (still accepted). */
  action?: InitiatorAct;
  /** authenticate: the SASL mechanism and credentials. */
  mechanism?: string;
  authcid?: string;
  password?: string;
  authzid?: string;
  trace?: string;
  id?: string;
  profile?: string;
  channel?: number;
  body?: string;
  content?: string;
  /** What the initiator under test's application saw for the `do` step with this id. */
  outcome?: string;
  /** Legacy name of `outcome` (still accepted). */
  action_result?: string;
  ok?: boolean;
  reply_code?: number;
  reply_body?: string;
}

export interface Transcript {
  id: string;
  rule: string;
  rules: string[];
  description: string;
  role: 'initiator' | 'listener';
  /** What the peer under test must offer: echo, ans, hold, tls, sasl, script, or just channel0. */
  needs?: string[];
  /** Set when the vector pins one implementation's exact output (e.g. 'beamgate'); others skip it. */
  iut?: string;
  options?: Record<string, unknown>;
  steps: Step[];
}

/** The profiles `beep listen` serves, as the transcripts name them (test-vectors/README.md). */
const vectorProfiles = (legacy: boolean): ProfileDefinition[] =>
  testProfiles(['echo', 'ans', 'hold']).map((p) => (legacy ? { ...p, uri: p.uri.replace(':profile:test:', ':test:') } : p));

const settle = async (): Promise<void> => {
  for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
};

function regexFromPattern(p: string): RegExp {
  return new RegExp('^(?:' + p + ')');
}

export async function runTranscript(t: Transcript, byteByByte: boolean): Promise<void> {
  const o = { ...(t.options ?? {}) } as Record<string, unknown>;
  const names = (o['acceptServerNames'] as string[] | undefined) ?? undefined;
  delete o['acceptServerNames'];
  const security = o['security'];
  // Vectors written before the profile names were unified with `beep listen` (urn:beamgate:test:*) still replay.
  const legacy = JSON.stringify(t.steps).includes('urn:beamgate:test:');
  delete o['security'];
  // `profileSet`: 'none' (offer nothing, as `beep connect` does) or 'cli' (the `beep listen` test profiles).
  const set = o['profileSet'];
  delete o['profileSet'];
  const base = set === 'none' ? [] : set === 'cli' ? [echoProfile(), ansProfile(), sinkProfile()] : vectorProfiles(legacy);
  const opts: SessionOptions = {
    receiveWindow: 4096,
    ...(o as Partial<SessionOptions>),
    role: t.role,
    profiles: security === undefined ? base : securedTestProfiles(base, security),
    ...(names ? { acceptServerName: (n: string) => names.includes(n) } : {}),
  };
  const session = new Session(opts);
  let out = Buffer.alloc(0);
  let ended = false;
  const binding: SessionBinding = {
    write(chunk) {
      if (ended) throw new Error('write after end/destroy');
      out = Buffer.concat([out, chunk]);
      return true;
    },
    end() {
      ended = true;
    },
    destroy() {
      ended = true;
    },
    // A TLS handshake never completes here: the session stays paused after <proceed/>.
    rewrap: () => new Promise<void>(() => undefined),
  };
  session.attach(binding);
  const channels = new Map<number, Channel>();
  const results = new Map<string, { ok: boolean; value?: unknown; error?: unknown }>();
  const track = (id: string | undefined, p: Promise<unknown>): void => {
    p.then(
      (value) => id && results.set(id, { ok: true, value }),
      (error) => id && results.set(id, { ok: false, error }),
    );
  };
  const where = (i: number): string => `${t.id} step ${i}`;
  for (const [i, raw] of t.steps.entries()) {
    const step: Step = { ...raw, do: raw.do ?? raw.action, outcome: raw.outcome ?? raw.action_result };
    if (step.send !== undefined || step.send_base64 !== undefined) {
      const bytes = step.send !== undefined ? Buffer.from(step.send, 'latin1') : Buffer.from(step.send_base64 as string, 'base64');
      if (byteByByte) for (let k = 0; k < bytes.length; k++) session.receive(bytes.subarray(k, k + 1));
      else session.receive(bytes);
      await settle();
    } else if (step.expect !== undefined) {
      await settle();
      const want = Buffer.from(step.expect, 'latin1');
      expect(out.subarray(0, want.length).toString('latin1'), where(i)).to.equal(step.expect);
      out = out.subarray(want.length);
    } else if (step.expect_match !== undefined) {
      await settle();
      const s = out.toString('latin1');
      const m = regexFromPattern(step.expect_match).exec(s);
      expect(m, `${where(i)}: /${step.expect_match}/ against ${JSON.stringify(s.slice(0, 300))}`).to.not.equal(null);
      out = out.subarray(Buffer.byteLength((m as RegExpExecArray)[0], 'latin1'));
    } else if (step.expect_close !== undefined) {
      await settle();
      expect(session.closed, `${where(i)}: session should be closed`).to.equal(true);
      const code = (session.closeReason as { code?: string } | undefined)?.code;
      if (step.expect_close === null) expect(session.closeReason, where(i)).to.equal(undefined);
      else expect(code, `${where(i)}: ${session.closeReason?.message}`).to.equal(step.expect_close);
      expect(out.toString('latin1'), `${where(i)}: nothing more may be sent`).to.equal('');
    } else if (step.expect_nothing) {
      await settle();
      expect(out.toString('latin1'), `${where(i)}: unexpected output`).to.equal('');
    } else if (step.wait_ms !== undefined) {
      await new Promise((r) => setTimeout(r, step.wait_ms));
    } else if (step.do !== undefined) {
      switch (step.do) {
        case 'start_channel': {
          const p = session.startChannel(step.profile as string, {
            ...(step.channel !== undefined ? { number: step.channel } : {}),
            ...(step.content !== undefined ? { content: step.content } : {}),
          });
          p.then((c) => channels.set(c.number, c), () => undefined);
          track(step.id, p);
          break;
        }
        case 'request': {
          const c = channels.get(step.channel as number);
          expect(c, `${where(i)}: channel ${step.channel} not open`).to.not.equal(undefined);
          track(step.id, (c as Channel).request(step.body ?? ''));
          break;
        }
        case 'close_channel':
          track(step.id, (channels.get(step.channel as number) as Channel).close());
          break;
        case 'close_session':
          track(step.id, session.close());
          break;
        case 'start_tls':
          // The handshake never happens here: the IUT goes quiet after <proceed/> (the replayer's rewrap hangs).
          track(step.id, session.startTls({ rejectUnauthorized: false }));
          break;
        case 'authenticate':
          track(
            step.id,
            session.authenticate({
              mechanism: step.mechanism as never,
              allowCleartext: true,
              ...(step.authcid !== undefined ? { authcid: step.authcid } : {}),
              ...(step.password !== undefined ? { password: step.password } : {}),
              ...(step.authzid !== undefined ? { authzid: step.authzid } : {}),
              ...(step.trace !== undefined ? { trace: step.trace } : {}),
            }),
          );
          break;
      }
      await settle();
    } else if (step.outcome !== undefined) {
      await settle();
      const r = results.get(step.outcome);
      expect(r, `${where(i)}: ${step.outcome} has not settled`).to.not.equal(undefined);
      expect(r?.ok, `${where(i)}: ${String((r?.error as Error | undefined)?.message)}`).to.equal(step.ok ?? true);
      if (step.reply_code !== undefined) expect((r?.error as { replyCode?: number }).replyCode).to.equal(step.reply_code);
      if (step.reply_body !== undefined) expect((r?.value as { text(): string }).text()).to.equal(step.reply_body);
    } else {
      throw new Error(`${where(i)}: unknown step ${JSON.stringify(step)}`);
    }
  }
  if (!session.closed) session.destroy();
}
