/**
 * Listener side of the tuning profiles, wired into a session through ProfileDefinitions only (no session
 * internals): the TLS profile (`ready` -> `proceed` -> `session.tune({ wrap })`), one SASL profile per mechanism,
 * and the application profiles behind the policy guard.
 *
 * Greetings (what each security state advertises):
 *   before TLS:  TLS, SASL mechanisms allowed in the clear, and the application profiles unless require.tls
 *   after TLS:   SASL mechanisms (PLAIN now too) and the application profiles
 * SASL without a security layer does not reset the session, so no new greeting follows it (RFC 3080 §4.1); with
 * require.sasl the application profiles are advertised but their starts are refused with 530 until then.
 * Refusals of application profiles: 554 while TLS is required and not up (policy), 530 while SASL is required and
 * the session is not authenticated. Registered-but-hidden profiles (PLAIN before TLS, applications before TLS)
 * get these codes (or 538) instead of 550, so a client learns why.
 *
 * Stalls: a TLS channel started without `<ready/>` and a SASL exchange that has not succeeded or failed are
 * bounded by `negotiationTimeoutMs` (tls / sasl options); the session is then terminated with BEEP_TLS_TIMEOUT or
 * BEEP_SASL_TIMEOUT. EXTERNAL takes its identity from the verified TLS client certificate (`tls.requestCert`).
 */
import { X509Certificate } from 'node:crypto';
import { debuglog } from 'node:util';
import { BeepError, BeepSaslError, BeepTlsError, BeepUsageError } from '../../errors.js';
import type { Channel } from '../../session/channel.js';
import type { IncomingMessage, Responder } from '../../session/message.js';
import type { Session } from '../../session/session.js';
import type { ProfileDefinition, StartDecision, StartInfo } from '../../session/types.js';
import type { SaslMechanismName } from '../sasl/mechanism.js';
import { SaslServer } from '../sasl/profile-server.js';
import type { SaslServerChannel } from '../sasl/profile-server.js';
import { saslProfileUri } from '../sasl/registry.js';
import { TlsProfileServer } from '../tls/tls-profile.js';
import { TLS_PROFILE_URI } from '../tls/tls-xml.js';
import { upgradeToTls } from '../tls/upgrade.js';
import { setSessionIdentity } from './identity.js';
import { peerAddressOf } from './peer-address.js';
import { sessionSaslGuard } from './sasl-guard.js';
import type { ResolvedSecurity } from './security-options.js';
import { rememberTlsSocket, tlsSocketOf } from './tls-socket.js';
import { DEFAULT_NEGOTIATION_TIMEOUT_MS, NegotiationTimer } from './negotiation-timer.js';

const log = debuglog('beamgate:tuning');
const XML = { contentType: 'application/beep+xml' };
/** Longest wait for pending replies to leave before `<proceed/>` (checklist J.49). */
const PROCEED_FLUSH_MS = 2000;

/** Reply codes of the policy guard (RFC 3080 §8). */
export const TLS_REQUIRED_CODE = 554;
export const AUTH_REQUIRED_CODE = 530;

/** SASL refusals decided before any mechanism round ran: they refuse the start itself (ERR on channel 0). */
const POLICY_CODES = new Set([454, 538, 554]);

interface SessionSecurity {
  secure: boolean;
  sasl: SaslServer | undefined;
  /** TLS profile state machines of channels whose start carried no `ready`. */
  tls: Map<number, TlsProfileServer>;
  /** SASL state machines created in onStart, picked up by onChannel. */
  pendingSasl: Map<number, SaslServerChannel>;
  saslChannels: WeakMap<Channel, SaslServerChannel>;
  /** Negotiations under way, by channel number. */
  timers: Map<number, NegotiationTimer>;
  tuning: boolean;
}

function isEmpty(content: Buffer | undefined): boolean {
  return content === undefined || content.toString('utf8').trim() === '';
}

export class ListenerSecurity {
  private readonly states = new WeakMap<Session, SessionSecurity>();
  private readonly app: ProfileDefinition[];

  constructor(
    readonly config: ResolvedSecurity,
    appProfiles: readonly ProfileDefinition[],
  ) {
    this.app = [...appProfiles];
  }

  /** The certificate served (PEM), e.g. to pin it on a client of a self-signed listener. */
  get certificate(): string | undefined {
    const c = this.config.tls?.cert;
    return c === undefined ? undefined : c.toString();
  }

  /** SHA-256 fingerprint of a generated self-signed certificate. */
  get fingerprint256(): string | undefined {
    return this.config.tls?.fingerprint256;
  }

  /** Mechanisms configured (whatever the TLS state). */
  get mechanisms(): readonly SaslMechanismName[] {
    return this.config.sasl ? new SaslServer(this.config.sasl).mechanisms : [];
  }

  /** The profile set of a session in this security state (the initial one: `profilesFor(false)`). */
  profilesFor(secure: boolean): ProfileDefinition[] {
    const out: ProfileDefinition[] = [];
    if (this.config.tls !== undefined && !secure) out.push(this.tlsProfile());
    const sasl = this.config.sasl ? new SaslServer(this.config.sasl) : undefined;
    if (sasl !== undefined) {
      for (const mech of sasl.mechanisms) out.push(this.saslProfile(mech, !sasl.allows(mech, { secure })));
    }
    const hideApp = this.config.require.tls && !secure;
    for (const p of this.app) out.push(this.guarded(p, hideApp || p.hidden === true));
    return out;
  }

  /** Whether the session passed the policy (TLS up when required, authenticated when required). */
  satisfied(session: Session): boolean {
    return this.refusal(session) === undefined;
  }

  private state(session: Session): SessionSecurity {
    let st = this.states.get(session);
    if (st === undefined) {
      st = {
        secure: false,
        sasl: undefined,
        tls: new Map(),
        pendingSasl: new Map(),
        saslChannels: new WeakMap(),
        timers: new Map(),
        tuning: false,
      };
      this.states.set(session, st);
    }
    return st;
  }

  private saslServer(session: Session, st: SessionSecurity): SaslServer {
    if (st.sasl === undefined) {
      const config = this.config.sasl;
      if (config === undefined) throw new BeepUsageError('SASL is not configured on this listener', 'BEEP_SASL_NOT_CONFIGURED');
      const { throttle, onAuthFailure, ...server } = config;
      const guarded = sessionSaslGuard(throttle, peerAddressOf(session), config.credentials, onAuthFailure);
      st.sasl = new SaslServer({ ...server, ...guarded, onAuthenticated: (identity) => {
        setSessionIdentity(session, identity);
        config.onAuthenticated?.(identity);
      } });
    }
    return st.sasl;
  }

  private refusal(session: Session): { code: number; text: string } | undefined {
    const st = this.state(session);
    if (this.config.require.tls && !st.secure) return { code: TLS_REQUIRED_CODE, text: 'TLS is required first (start http://iana.org/beep/TLS)' };
    if (this.config.require.sasl && session.authenticatedIdentity === undefined) {
      return { code: AUTH_REQUIRED_CODE, text: 'authentication required (start a SASL profile)' };
    }
    return undefined;
  }

  private guarded(p: ProfileDefinition, hidden: boolean): ProfileDefinition {
    const inner = p.onStart;
    return {
      ...p,
      hidden,
      onStart: (info: StartInfo): StartDecision | Promise<StartDecision> => {
        const r = this.refusal(info.session);
        if (r !== undefined) return { refuse: r };
        return inner === undefined ? true : inner.call(p, info);
      },
    };
  }

  private startTimer(session: Session, st: SessionSecurity, channel: number, ms: number, error: () => Error): void {
    this.stopTimer(st, channel);
    st.timers.set(channel, new NegotiationTimer(session, ms, () => {
      const e = error();
      log('%s', e.message);
      return e;
    }));
  }

  private stopTimer(st: SessionSecurity, channel: number): void {
    st.timers.get(channel)?.clear();
    st.timers.delete(channel);
  }

  // ---------------------------------------------------------------- TLS

  private tlsProfile(): ProfileDefinition {
    return {
      uri: TLS_PROFILE_URI,
      onStart: async (info) => {
        const st = this.state(info.session);
        const machine = new TlsProfileServer({ available: true, secure: st.secure || st.tuning });
        if (isEmpty(info.content)) {
          // `ready` will come as a MSG on the channel.
          st.tls.set(info.channel, machine);
          const ms = this.config.tls?.negotiationTimeoutMs ?? DEFAULT_NEGOTIATION_TIMEOUT_MS;
          this.startTimer(info.session, st, info.channel, ms, () =>
            new BeepTlsError('BEEP_TLS_TIMEOUT', `no <ready/> on the TLS channel within ${ms} ms`));
          return true;
        }
        const r = machine.onStart(info.content);
        if (!r.proceed) return { content: r.content ?? '' };
        st.tuning = true;
        await this.flushPending(info.session);
        return { content: r.content ?? '', quiet: true, onSent: () => this.runTls(info.session) };
      },
      onMessage: async (msg: IncomingMessage, reply: Responder) => {
        const session = msg.channel.session;
        const st = this.state(session);
        const machine = st.tls.get(msg.channel.number) ?? new TlsProfileServer({ available: true, secure: st.secure || st.tuning });
        this.stopTimer(st, msg.channel.number);
        const r = machine.onMessage(msg.payload);
        if (!r.proceed) {
          reply.err(r.body, XML);
          return;
        }
        st.tuning = true;
        await this.flushPending(session);
        reply.rpy(r.body, { ...XML, quiet: true, onSent: () => this.runTls(session) });
      },
    };
  }

  /** Let replies already queued leave before `<proceed/>`, which is the last thing sent in the clear. */
  private async flushPending(session: Session): Promise<void> {
    const until = Date.now() + PROCEED_FLUSH_MS;
    while (session.queuedBytes > 0 && !session.closed && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  private runTls(session: Session): void {
    const tls = this.config.tls;
    if (tls === undefined) return;
    const st = this.state(session);
    session
      .tune({
        profiles: this.profilesFor(true),
        wrap: async (old, leftover) => {
          const sock = await upgradeToTls(old, {
            role: 'server',
            key: tls.key,
            cert: tls.cert,
            ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
            requestCert: tls.requestCert,
            handshakeTimeoutMs: tls.handshakeTimeoutMs,
            pending: leftover,
          });
          // State reset (RFC 3080 §3.1, §9): nothing learned in the clear survives, the identity included.
          st.secure = true;
          st.tuning = false;
          st.sasl = undefined;
          st.tls.clear();
          st.pendingSasl.clear();
          for (const t of st.timers.values()) t.clear();
          st.timers.clear();
          session.securityLayer = 'tls';
          rememberTlsSocket(session, sock);
          setSessionIdentity(session, undefined);
          return sock;
        },
      })
      .then(
        () => log('TLS up, new greetings exchanged'),
        (e: unknown) => {
          log('TLS tuning failed: %s', (e as Error)?.message);
          session.destroy(e instanceof Error ? e : new BeepError('BEEP_INTERNAL', String(e)));
        },
      );
  }

  // ---------------------------------------------------------------- SASL

  private saslProfile(mech: SaslMechanismName, hidden: boolean): ProfileDefinition {
    return {
      uri: saslProfileUri(mech),
      hidden,
      onStart: async (info) => {
        const st = this.state(info.session);
        const server = this.saslServer(info.session, st);
        const chan = server.openChannel(info.uri, { secure: st.secure, externalIdentity: certificateIdentity(info.session) });
        const r = await chan.onStart(info.content);
        if (r.outcome.status === 'failed' && r.outcome.error.replyCode !== undefined && POLICY_CODES.has(r.outcome.error.replyCode)) {
          // No round ran (PLAIN in the clear, already authenticated, too many failures): refuse the start.
          const e = r.outcome.error;
          return { refuse: { code: e.replyCode as number, text: e.message } };
        }
        st.pendingSasl.set(info.channel, chan);
        if (r.outcome.status === 'idle' || r.outcome.status === 'continue') {
          const ms = this.config.sasl?.negotiationTimeoutMs ?? DEFAULT_NEGOTIATION_TIMEOUT_MS;
          this.startTimer(info.session, st, info.channel, ms, () =>
            new BeepSaslError('BEEP_SASL_TIMEOUT', `the SASL ${mech} exchange did not finish within ${ms} ms`, { replyCode: 454 }));
        }
        return r.content === undefined ? true : { content: r.content };
      },
      onChannel: (channel) => {
        const st = this.state(channel.session);
        const chan = st.pendingSasl.get(channel.number);
        if (chan === undefined) return;
        st.pendingSasl.delete(channel.number);
        st.saslChannels.set(channel, chan);
        channel.once('close', () => {
          chan.close();
          this.stopTimer(st, channel.number);
        });
      },
      onMessage: async (msg, reply) => {
        const st = this.state(msg.channel.session);
        const chan = st.saslChannels.get(msg.channel);
        if (chan === undefined) {
          reply.err(554, 'no SASL exchange on this channel');
          return;
        }
        const r = await chan.onMessage(msg.payload);
        if (r.outcome.status !== 'continue') this.stopTimer(st, msg.channel.number);
        if (r.kind === 'rpy') reply.rpy(r.body, XML);
        else reply.err(r.body, XML);
      },
    };
  }
}

/**
 * The SASL EXTERNAL identity of a session: the subject of the TLS client certificate, when the handshake verified
 * one, as an RFC 4514-style string (most specific first, e.g. `CN=bob,O=Example`).
 */
export function certificateIdentity(session: Session): string | undefined {
  const sock = tlsSocketOf(session);
  if (sock === undefined || !sock.authorized) return undefined;
  const raw = sock.getPeerCertificate()?.raw;
  if (raw === undefined || raw.length === 0) return undefined;
  const subject = new X509Certificate(raw).subject;
  return subject === '' ? undefined : subject.split('\n').reverse().join(',');
}
