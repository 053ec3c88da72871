/**
 * The server (listening) side of the BEEP SASL profiles (RFC 3080 §4.1), sans-IO.
 *
 * One `SaslServer` per BEEP session holds the policy and the authenticated identity; `openChannel()` gives one
 * `SaslServerChannel` per started SASL channel. The session integration calls:
 *
 *   start on channel 0 with uri http://iana.org/beep/SASL/<MECH> (+ piggybacked content)
 *     -> ch = sasl.openChannel(uri, { secure }); r = await ch.onStart(content)
 *     -> positive start reply (RPY <profile uri=...>) carrying r.content when defined (a <blob> or an <error>)
 *   MSG on that channel -> r = await ch.onMessage(body) -> reply r.kind ('rpy' | 'err') with r.body
 *     (Content-Type: application/beep+xml)
 *
 * A start without content for a server-first mechanism (CRAM-MD5) is answered with the server's challenge in the
 * start reply, as Vortex 1.1 expects (it waits for that challenge and sends nothing until it comes).
 *
 * Failures on the first round travel inside the start's profile element (534, 535, 537, 538, 454, 501...);
 * later rounds fail with ERR. A client `<blob status='abort'/>` is answered with ERR 451 and the channel goes back
 * to idle (a new exchange may start with the next MSG). The session is authenticated at most once.
 */
import { debuglog } from 'node:util';
import { BeepError, BeepSaslError, BeepUsageError, BeepXmlError } from '../../errors.js';
import type { SaslEnvironment, SaslIdentity, SaslMechanismName, SaslServerMechanism } from './mechanism.js';
import { saslFailure } from './mechanism.js';
import type { SaslCredentialStore } from './credentials.js';
import { buildBlob, parseBlob } from './blob.js';
import { buildErrorElement } from '../xml/error-element.js';
import { DEFAULT_PROFILE_XML_MAX_LENGTH } from '../xml/profile-xml.js';
import { createServerMechanism, isServerFirst, mechanismFromUri, mechanismsSupportedBy, saslProfileUri, sendsCleartextPassword, SASL_MECHANISMS } from './registry.js';

const log = debuglog('beamgate:sasl');

export interface SaslServerConfig {
  credentials: SaslCredentialStore;
  /** Mechanisms to offer. Default: those the store can serve (SCRAM-SHA-256, CRAM-MD5, PLAIN), plus ANONYMOUS when allowAnonymous. */
  mechanisms?: readonly SaslMechanismName[];
  /** Offer and accept PLAIN on a session without TLS. Default false (538 when attempted). */
  allowCleartext?: boolean;
  /** Offer ANONYMOUS. Default false. */
  allowAnonymous?: boolean;
  /** Offer EXTERNAL (the verified TLS client certificate) on sessions running over TLS. Default false. */
  allowExternal?: boolean;
  /**
   * Listener integration: milliseconds a started SASL channel may take to reach success or failure; then the
   * session is terminated (BEEP_SASL_TIMEOUT). Default 30000.
   */
  negotiationTimeoutMs?: number;
  /** Failed exchanges allowed per session; further attempts get 454. Default 5. */
  maxFailures?: number;
  /** Longest accepted `<blob>` document (characters). Default 16384. */
  maxBlobLength?: number;
  /** PLAIN: longest authzid / authcid / passwd in octets. Default 255. */
  plainMaxFieldOctets?: number;
  /** CRAM-MD5 challenge host name (default os.hostname()). */
  hostname?: string;
  env?: SaslEnvironment;
  /** SCRAM server nonce source (tests). */
  scramServerNonce?: () => string;
  /** Called once, when the session becomes authenticated. */
  onAuthenticated?: (identity: SaslIdentity) => void;
}

export interface SaslChannelContext {
  /** True when the session runs over TLS (after the TLS profile's handshake). */
  secure: boolean;
  /** The identity of the verified TLS client certificate (its subject), for EXTERNAL. */
  externalIdentity?: string | undefined;
}

export type SaslOutcome =
  | { status: 'idle' }
  | { status: 'continue' }
  | { status: 'complete'; identity: SaslIdentity }
  | { status: 'failed'; error: BeepSaslError | BeepXmlError }
  | { status: 'aborted' };

export interface SaslStartReply {
  /** Content for the positive start reply's `<profile>` element (undefined: none). */
  content: string | undefined;
  outcome: SaslOutcome;
}

export interface SaslMessageReply {
  kind: 'rpy' | 'err';
  /** application/beep+xml body: a `<blob>` for RPY, an `<error>` for ERR. */
  body: string;
  /** For ERR: the reply code inside the `<error>`. */
  replyCode?: number;
  outcome: SaslOutcome;
}

export type SaslChannelState = 'idle' | 'in-progress' | 'complete' | 'closed';

export class SaslServer {
  private authenticatedAs: SaslIdentity | undefined;
  private failureCount = 0;
  private readonly offered: readonly SaslMechanismName[];

  constructor(readonly config: SaslServerConfig) {
    const supported = mechanismsSupportedBy(config.credentials);
    if (config.allowAnonymous) supported.push('ANONYMOUS');
    if (config.allowExternal) supported.push('EXTERNAL');
    const wanted = config.mechanisms ?? SASL_MECHANISMS;
    this.offered = SASL_MECHANISMS.filter((m) => wanted.includes(m) && supported.includes(m));
  }

  get identity(): SaslIdentity | undefined {
    return this.authenticatedAs;
  }

  get failures(): number {
    return this.failureCount;
  }

  /** Mechanisms configured, in preference order, whatever the TLS state. */
  get mechanisms(): readonly SaslMechanismName[] {
    return this.offered;
  }

  /** Whether `mechanism` may run on a session with this security state. */
  allows(mechanism: SaslMechanismName, ctx: SaslChannelContext): boolean {
    if (!this.offered.includes(mechanism)) return false;
    if (mechanism === 'EXTERNAL') return ctx.secure;
    return ctx.secure || this.config.allowCleartext === true || !sendsCleartextPassword(mechanism);
  }

  /** Profile URIs to list in the greeting (none once authenticated). */
  profileUris(ctx: SaslChannelContext): string[] {
    if (this.authenticatedAs) return [];
    return this.offered.filter((m) => this.allows(m, ctx)).map(saslProfileUri);
  }

  /** The configured mechanism for a start's profile URI, or undefined when the URI is not one of ours. */
  mechanismFor(uri: string): SaslMechanismName | undefined {
    const mech = mechanismFromUri(uri);
    return mech !== undefined && this.offered.includes(mech) ? mech : undefined;
  }

  /** Create the state machine for a started SASL channel. Throws BeepUsageError for a URI that is not ours. */
  openChannel(uri: string, ctx: SaslChannelContext): SaslServerChannel {
    const mech = this.mechanismFor(uri);
    if (mech === undefined) throw new BeepUsageError(`${uri} is not a SASL profile offered here`, 'BEEP_SASL_UNKNOWN_PROFILE');
    return new SaslServerChannel(this, mech, ctx);
  }

  /** Forget the identity and failure count (tuning reset, e.g. after TLS: RFC 3080 §3.1, §9). */
  reset(): void {
    this.authenticatedAs = undefined;
    this.failureCount = 0;
  }

  /** @internal */
  recordFailure(): void {
    this.failureCount++;
  }

  /** @internal */
  recordSuccess(identity: SaslIdentity): void {
    this.authenticatedAs = identity;
    log('authenticated %s via %s', identity.identity, identity.mechanism);
    this.config.onAuthenticated?.(identity);
  }

  /** @internal */
  createMechanism(name: SaslMechanismName, ctx: SaslChannelContext): SaslServerMechanism {
    const c = this.config;
    return createServerMechanism(name, {
      credentials: c.credentials,
      externalIdentity: ctx.externalIdentity,
      ...(c.env ? { env: c.env } : {}),
      ...(c.hostname !== undefined ? { hostname: c.hostname } : {}),
      ...(c.scramServerNonce ? { scramServerNonce: c.scramServerNonce } : {}),
      ...(c.plainMaxFieldOctets !== undefined ? { plainMaxFieldOctets: c.plainMaxFieldOctets } : {}),
    });
  }
}

type Reply = { ok: true; body: string; outcome: SaslOutcome } | { ok: false; error: BeepSaslError | BeepXmlError; outcome: SaslOutcome };

export class SaslServerChannel {
  private current: SaslServerMechanism | undefined;
  private stateValue: SaslChannelState = 'idle';
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly server: SaslServer, readonly mechanism: SaslMechanismName, private readonly ctx: SaslChannelContext) {}

  get state(): SaslChannelState {
    return this.stateValue;
  }

  /** Handle the start's piggybacked content (undefined or blank when there was none). */
  onStart(content: string | Uint8Array | undefined): Promise<SaslStartReply> {
    return this.serialize(async () => {
      const refusal = this.policyRefusal();
      if (refusal) return { content: buildErrorElement(errorOf(refusal)), outcome: { status: 'failed', error: refusal } };
      const empty = content === undefined || (typeof content === 'string' ? content.trim() === '' : content.length === 0);
      if (empty && !isServerFirst(this.mechanism)) return { content: undefined, outcome: { status: 'idle' } };
      // Server-first with nothing piggybacked: run the first round now so that the challenge rides on the reply.
      const r = empty ? await this.run(undefined) : await this.handle(content);
      return { content: r.ok ? r.body : buildErrorElement(errorOf(r.error)), outcome: r.outcome };
    });
  }

  /** Handle a MSG's body on the SASL channel. */
  onMessage(body: string | Uint8Array): Promise<SaslMessageReply> {
    return this.serialize(async () => {
      const r = await this.handle(body);
      if (r.ok) return { kind: 'rpy', body: r.body, outcome: r.outcome };
      const e = errorOf(r.error);
      return { kind: 'err', body: buildErrorElement(e), replyCode: e.code, outcome: r.outcome };
    });
  }

  /** The channel closed: drop any exchange in progress. */
  close(): void {
    this.current = undefined;
    this.stateValue = 'closed';
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private policyRefusal(): BeepSaslError | undefined {
    if (this.server.identity) {
      return saslFailure('BEEP_SASL_ALREADY_AUTHENTICATED', 'this session is already authenticated', 554);
    }
    if (!this.server.allows(this.mechanism, this.ctx)) {
      return saslFailure('BEEP_SASL_ENCRYPTION_REQUIRED', `${this.mechanism} requires an encrypted session (start TLS first)`, 538);
    }
    const max = this.server.config.maxFailures ?? 5;
    if (this.server.failures >= max) {
      return saslFailure('BEEP_SASL_TOO_MANY_FAILURES', 'too many failed authentication attempts', 454);
    }
    return undefined;
  }

  private async handle(input: string | Uint8Array): Promise<Reply> {
    if (this.stateValue === 'closed') return this.fail(saslFailure('BEEP_SASL_BAD_STATE', 'channel closed', 554), false);
    if (this.stateValue === 'complete') {
      return this.fail(saslFailure('BEEP_SASL_ALREADY_AUTHENTICATED', 'this session is already authenticated', 554), false);
    }
    let blob;
    try {
      blob = parseBlob(input, { maxLength: this.server.config.maxBlobLength ?? DEFAULT_PROFILE_XML_MAX_LENGTH });
    } catch (err) {
      return this.fail(err instanceof BeepXmlError ? err : saslFailure('BEEP_SASL_MALFORMED', 'bad blob', 501, err), true);
    }
    if (blob.status === 'abort') {
      this.current = undefined;
      this.stateValue = 'idle';
      const error = saslFailure('BEEP_SASL_ABORTED', 'authentication aborted by the client', 451);
      return { ok: false, error, outcome: { status: 'aborted' } };
    }
    if (blob.status === 'complete') {
      return this.fail(saslFailure('BEEP_SASL_MALFORMED', "a client may not send status='complete'", 501), true);
    }
    return this.run(blob.data);
  }

  /** One mechanism round with the client's data (undefined: none yet, the server speaks first). */
  private async run(data: Buffer | undefined): Promise<Reply> {
    if (this.stateValue === 'idle') {
      const refusal = this.policyRefusal();
      if (refusal) return this.fail(refusal, false);
      this.current = this.server.createMechanism(this.mechanism, this.ctx);
      this.stateValue = 'in-progress';
    }
    try {
      const step = await (this.current as SaslServerMechanism).step(data);
      if (step.kind === 'challenge') return { ok: true, body: buildBlob({ data: step.data }), outcome: { status: 'continue' } };
      if (this.server.identity) {
        return this.fail(saslFailure('BEEP_SASL_ALREADY_AUTHENTICATED', 'this session is already authenticated', 554), false);
      }
      this.current = undefined;
      this.stateValue = 'complete';
      this.server.recordSuccess(step.identity);
      return { ok: true, body: buildBlob({ status: 'complete', data: step.data }), outcome: { status: 'complete', identity: step.identity } };
    } catch (err) {
      if (err instanceof BeepSaslError) return this.fail(err, true);
      // A credential store failure: do not leak its message to the peer.
      log('credential check failed: %o', err);
      return this.fail(saslFailure('BEEP_SASL_TEMPORARY_FAILURE', 'temporary authentication failure', 454, err), false);
    }
  }

  private fail(error: BeepSaslError | BeepXmlError, countsAsFailure: boolean): Reply {
    if (this.stateValue !== 'closed' && this.stateValue !== 'complete') {
      this.current = undefined;
      this.stateValue = 'idle';
    }
    if (countsAsFailure) this.server.recordFailure();
    log('SASL %s failed: %s (%d)', this.mechanism, error.message, error.replyCode);
    return { ok: false, error, outcome: { status: 'failed', error } };
  }
}

/** The `<error>` to send for a failure; generic text for authentication failures so nothing leaks. */
function errorOf(error: BeepError): { code: number; message: string } {
  const code = error.replyCode ?? 535;
  const message = code === 535 && !error.message.startsWith('SCRAM') ? 'authentication failure' : error.message;
  return { code, message };
}
