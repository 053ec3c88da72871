/**
 * Initiator side of the tuning profiles over a live Session: `startTls()` (ready -> proceed -> TLS handshake ->
 * new greetings) and `authenticate()` (one SASL exchange). Both only use the session's public API
 * (startChannel with `tuning`, tune, resume, channel requests).
 */
import type { ConnectionOptions } from 'node:tls';
import { BeepClosedError, BeepError, BeepProtocolError, BeepReplyError, BeepTlsError, BeepUsageError } from '../../errors.js';
import type { Channel } from '../../session/channel.js';
import { BeepErrReply } from '../../session/reply-sinks.js';
import type { Session } from '../../session/session.js';
import type { GreetingInfo } from '../../session/types.js';
import type { SaslMechanismName } from '../sasl/mechanism.js';
import { saslFailure } from '../sasl/mechanism.js';
import { SaslClient } from '../sasl/profile-client.js';
import type { SaslClientStep } from '../sasl/profile-client.js';
import { mechanismFromUri, sendsCleartextPassword, SASL_MECHANISMS } from '../sasl/registry.js';
import { TlsProfileClient } from '../tls/tls-profile.js';
import type { TlsClientStep } from '../tls/tls-profile.js';
import { TLS_PROFILE_URI } from '../tls/tls-xml.js';
import { upgradeToTls } from '../tls/upgrade.js';
import { setSessionIdentity } from './identity.js';
import { rememberTlsSocket } from './tls-socket.js';
import { DEFAULT_NEGOTIATION_TIMEOUT_MS, NegotiationTimer } from './negotiation-timer.js';

const XML = { contentType: 'application/beep+xml' };

import type { ClientTlsOptions } from '@beamgate/base';

/**
 * The shared client TLS options (@beamgate/base: ca, servername, rejectUnauthorized, cert, key; servername is
 * sent as SNI except for IP literals, default `host`, else the peer IP) plus BEEP's own.
 */
export interface StartTlsOptions extends ClientTlsOptions {
  /** Name or IP to verify the certificate against when no servername is given. */
  host?: string;
  minVersion?: ConnectionOptions['minVersion'];
  /** Milliseconds the handshake may take. Default 10000. */
  handshakeTimeoutMs?: number;
  /**
   * Milliseconds the whole negotiation (start, `<proceed/>`, handshake, new greeting) may take; then the session is
   * terminated and the promise rejects with BeepTlsError BEEP_TLS_TIMEOUT. Default 30000.
   */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface AuthenticateOptions {
  /** Default: the strongest mechanism the peer advertises that the given credentials can run. */
  mechanism?: SaslMechanismName;
  authcid?: string;
  password?: string;
  /** Act as this identity (PLAIN, SCRAM-SHA-256); the server must authorize it. */
  authzid?: string;
  /** ANONYMOUS trace information. */
  trace?: string;
  /** Send PLAIN over a session without TLS. Default false: refused locally with 538, nothing is sent. */
  allowCleartext?: boolean;
  /** Piggyback the initial response in the start (RFC 3080 §4.1). Default true. */
  piggyback?: boolean;
  /** Abort: between rounds, the exchange is aborted with `<blob status='abort'/>` before rejecting. */
  signal?: AbortSignal;
  /** SCRAM client nonce source (tests). */
  nonce?: () => string;
  /**
   * Milliseconds the exchange may take; then the session is terminated and the promise rejects with BeepSaslError
   * BEEP_SASL_TIMEOUT (a peer that stops answering mid-exchange leaves the session in an unknown state). Default 30000.
   */
  timeoutMs?: number;
}

function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new BeepClosedError('BEEP_ABORTED', 'operation aborted', { cause: r });
}

/** The named options that are set: an option left out stays out of what is passed on. */
function pickDefined<T extends object, K extends keyof T>(opts: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (opts[k] !== undefined) out[k] = opts[k];
  return out;
}

/** One request of a tuning exchange, where an ERR is an answer to hand to the state machine, not a failure. */
async function exchange(channel: Channel, body: string, signal: AbortSignal | undefined): Promise<{ kind: 'rpy' | 'err'; payload: Buffer }> {
  try {
    const r = await channel.request(body, { ...XML, ...(signal !== undefined ? { signal } : {}) });
    return { kind: 'rpy', payload: r.payload };
  } catch (e) {
    if (!(e instanceof BeepErrReply)) throw e;
    return { kind: 'err', payload: e.reply.payload };
  }
}

function failedStep(step: TlsClientStep | SaslClientStep): never {
  if (step.kind === 'failed') throw step.error;
  throw new BeepProtocolError('BEEP_TUNING_UNEXPECTED', `unexpected tuning step ${step.kind}`);
}

/** Run a negotiation under a timer that terminates the session; rejects with the timer's error when it fired. */
async function bounded<T>(session: Session, ms: number | undefined, error: (ms: number) => Error, run: () => Promise<T>): Promise<T> {
  const limit = ms ?? DEFAULT_NEGOTIATION_TIMEOUT_MS;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new BeepUsageError('timeoutMs must be a positive integer');
  let fired: Error | undefined;
  const timer = new NegotiationTimer(session, limit, () => (fired = error(limit)));
  try {
    return await run();
  } catch (e) {
    throw fired ?? e;
  } finally {
    timer.clear();
  }
}

/**
 * Negotiate TLS on the session (RFC 3080 §3.1): start the TLS profile with a piggybacked `<ready/>`, and on
 * `<proceed/>` run the handshake over the same connection, reset the session and exchange new greetings. Resolves
 * with the listener's new greeting. A refusal (ERR on the start, or `<error>` in place of `<proceed/>`) rejects with
 * BeepTlsError BEEP_TLS_REFUSED (replyCode = the peer's code) and leaves the session usable in the clear. A
 * handshake failure or timeout terminates the session (its closeReason is the BeepTlsError) and rejects.
 */
export async function startTls(session: Session, opts: StartTlsOptions = {}): Promise<GreetingInfo> {
  if (session.closed) throw new BeepClosedError('BEEP_SESSION_CLOSED', 'session closed');
  if (session.securityLayer === 'tls') throw new BeepTlsError('BEEP_TLS_BAD_STATE', 'the session already runs over TLS', { replyCode: 554 });
  return bounded(session, opts.timeoutMs, (ms) => new BeepTlsError('BEEP_TLS_TIMEOUT', `TLS negotiation did not finish within ${ms} ms`), () =>
    negotiateTls(session, opts),
  );
}

async function negotiateTls(session: Session, opts: StartTlsOptions): Promise<GreetingInfo> {
  const machine = new TlsProfileClient();
  let channel: Channel;
  try {
    channel = await session.startChannel(TLS_PROFILE_URI, {
      content: machine.startContent(),
      tuning: true,
      ...pickDefined(opts, ['signal']),
    });
  } catch (e) {
    if (e instanceof BeepReplyError && e.replyCode !== undefined) failedStep(machine.onStartRefused(e.replyCode, e.message));
    throw e;
  }
  let step = machine.onStartReply(channel.startReplyContent);
  if (step.kind === 'send') {
    // The listener accepted the channel without answering the piggybacked ready: send it as a MSG.
    session.resume();
    const r = await exchange(channel, step.body, opts.signal);
    step = machine.onReply(r.kind, r.payload);
  }
  if (step.kind !== 'proceed') {
    session.resume();
    channel.close().catch(() => undefined);
    failedStep(step);
  }
  try {
    return await session.tune({
      wrap: async (old, leftover) => {
        const sock = await upgradeToTls(old, {
          role: 'client',
          pending: leftover,
          ...pickDefined(opts, ['ca', 'servername', 'host', 'rejectUnauthorized', 'key', 'cert', 'minVersion', 'handshakeTimeoutMs', 'signal']),
        });
        session.securityLayer = 'tls';
        rememberTlsSocket(session, sock);
        // Nothing learned before TLS survives the reset (RFC 3080 §9), the identity included.
        setSessionIdentity(session, undefined);
        return sock;
      },
    });
  } catch (e) {
    const err = e instanceof Error ? e : new BeepError('BEEP_INTERNAL', String(e));
    session.destroy(err);
    throw session.closeReason ?? err;
  }
}

/** The mechanism `authenticate()` picks when none is given. */
export function chooseMechanism(session: Session, opts: Pick<AuthenticateOptions, 'authcid' | 'password' | 'allowCleartext'>): SaslMechanismName | undefined {
  const offered = new Set(session.peerProfiles.map(mechanismFromUri).filter((m) => m !== undefined));
  const secure = session.securityLayer === 'tls' || opts.allowCleartext === true;
  const haveSecret = opts.authcid !== undefined && opts.password !== undefined;
  for (const m of SASL_MECHANISMS) {
    // EXTERNAL only when asked for: it needs a client certificate the listener trusts.
    if (!offered.has(m) || m === 'EXTERNAL') continue;
    if (m === 'ANONYMOUS' ? haveSecret : !haveSecret) continue;
    if (sendsCleartextPassword(m) && !secure) continue;
    return m;
  }
  return undefined;
}

async function runExchange(client: SaslClient, channel: Channel, first: SaslClientStep, signal: AbortSignal | undefined): Promise<SaslClientStep> {
  let step = first;
  while (step.kind === 'send') {
    let body = step.body;
    const aborting = signal?.aborted === true;
    if (aborting) body = client.abort();
    const r = await exchange(channel, body, undefined);
    const next = await client.onReply(r.kind, r.payload);
    if (aborting) throw abortReason(signal as AbortSignal);
    step = next;
  }
  return step;
}

/**
 * Authenticate the session with one SASL exchange (RFC 3080 §4.1). Resolves with the identity now in effect
 * (also `session.authenticatedIdentity`, with the IDENTITY_EVENT). Rejects with BeepSaslError whose replyCode is the
 * server's (535 wrong password, 538 mechanism needs TLS, 534, 537, 454...) or a start refusal (550: not offered).
 * The SASL channel is closed afterwards either way; the session stays usable.
 */
export async function authenticate(session: Session, opts: AuthenticateOptions = {}): Promise<string> {
  if (session.closed) throw new BeepClosedError('BEEP_SESSION_CLOSED', 'session closed');
  const mechanism = opts.mechanism ?? chooseMechanism(session, opts);
  if (mechanism === undefined) {
    throw saslFailure('BEEP_SASL_MECH_INSUFFICIENT', `the peer offers no SASL mechanism usable here (offered: ${session.peerProfiles.join(' ') || 'none'})`, 534);
  }
  if (sendsCleartextPassword(mechanism) && session.securityLayer !== 'tls' && opts.allowCleartext !== true) {
    throw saslFailure('BEEP_SASL_ENCRYPTION_REQUIRED', `${mechanism} would send the password in the clear: start TLS first (or allowCleartext)`, 538);
  }
  const signal = opts.signal;
  if (signal?.aborted) throw abortReason(signal);
  return bounded(
    session,
    opts.timeoutMs,
    (ms) => saslFailure('BEEP_SASL_TIMEOUT', `the SASL ${mechanism} exchange did not finish within ${ms} ms`, 454),
    () => runSasl(session, mechanism, opts),
  );
}

async function runSasl(session: Session, mechanism: SaslMechanismName, opts: AuthenticateOptions): Promise<string> {
  const signal = opts.signal;
  let client: SaslClient;
  try {
    client = new SaslClient({
      mechanism,
      ...pickDefined(opts, ['authcid', 'password', 'authzid', 'trace', 'piggyback', 'nonce']),
    });
  } catch (e) {
    throw saslFailure('BEEP_SASL_BAD_CREDENTIALS', (e as Error).message, 501, e);
  }
  const content = await client.startContent();
  let channel: Channel;
  try {
    channel = await session.startChannel(client.uri, {
      ...(content !== undefined ? { content } : {}),
      ...(signal !== undefined ? { signal } : {}),
    });
  } catch (e) {
    if (e instanceof BeepReplyError && e.replyCode !== undefined) failedStep(client.onStartRefused(e.replyCode, e.message));
    throw e;
  }
  let step: SaslClientStep;
  try {
    step = await runExchange(client, channel, await client.onStartReply(channel.startReplyContent), signal);
  } finally {
    channel.close().catch(() => undefined);
  }
  if (step.kind !== 'complete') {
    if (step.kind === 'aborted') throw saslFailure('BEEP_SASL_ABORTED', 'authentication aborted', 451);
    failedStep(step);
  }
  const identity = client.identity ?? '';
  setSessionIdentity(session, {
    mechanism,
    authcid: mechanism === 'ANONYMOUS' ? 'anonymous' : (opts.authcid ?? ''),
    authzid: opts.authzid,
    identity,
    ...(opts.trace !== undefined ? { trace: opts.trace } : {}),
  });
  return identity;
}

