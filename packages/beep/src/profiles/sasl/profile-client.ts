/**
 * The client (initiating) side of a BEEP SASL profile exchange (RFC 3080 §4.1), sans-IO.
 *
 *   const c = new SaslClient({ mechanism: 'SCRAM-SHA-256', authcid, password });
 *   start a channel with profile c.uri and content await c.startContent()
 *   start refused by ERR on channel 0   -> step = c.onStartRefused(code, message)
 *   start accepted                      -> step = await c.onStartReply(profileContent)
 *   while step.kind === 'send': send MSG step.body on the channel; step = await c.onReply(kind, body)
 *   step.kind 'complete' (c.identity is set) | 'failed' (step.error.replyCode) | 'aborted'
 *
 * The initial response of a client-first mechanism is piggybacked in the start. A server-first mechanism
 * (CRAM-MD5) starts the channel without content, as Vortex 1.1 does, and takes the challenge from the start reply
 * or, when the reply carries nothing (a server that waits for a first message), sends an empty `<blob />` and
 * takes it from the RPY. When the start reply of a client-first mechanism carries nothing, the initial response is
 * sent as the first MSG instead.
 */
import { BeepSaslError, BeepXmlError } from '../../errors.js';
import type { SaslClientMechanism, SaslMechanismName } from './mechanism.js';
import { saslFailure } from './mechanism.js';
import type { SaslClientCredentials } from './registry.js';
import { createClientMechanism, saslProfileUri } from './registry.js';
import { buildBlob, parseSaslContent } from './blob.js';
import type { SaslContent } from './blob.js';

export interface SaslClientConfig extends SaslClientCredentials {
  mechanism: SaslMechanismName;
  /** Piggyback the initial response in the start. Default true. */
  piggyback?: boolean;
  /** Longest accepted server document (characters). Default 16384. */
  maxBlobLength?: number;
}

export type SaslClientStep =
  | { kind: 'send'; body: string }
  | { kind: 'complete' }
  | { kind: 'failed'; error: BeepSaslError }
  | { kind: 'aborted' };

export type SaslClientState = 'new' | 'started' | 'waiting' | 'aborting' | 'complete' | 'failed' | 'aborted';

const CODE_BY_REPLY: Record<number, string> = {
  454: 'BEEP_SASL_TEMPORARY_FAILURE',
  534: 'BEEP_SASL_MECH_INSUFFICIENT',
  535: 'BEEP_SASL_AUTH_FAILED',
  537: 'BEEP_SASL_NOT_AUTHORIZED',
  538: 'BEEP_SASL_ENCRYPTION_REQUIRED',
};

/** Turn a server's `<error>` into a BeepSaslError carrying its reply code. */
export function saslErrorFromReply(code: number, message: string): BeepSaslError {
  return saslFailure(CODE_BY_REPLY[code] ?? 'BEEP_SASL_REFUSED', message === '' ? `server refused with ${code}` : message, code);
}

export class SaslClient {
  readonly uri: string;
  readonly mechanism: SaslMechanismName;
  private readonly mech: SaslClientMechanism;
  private stateValue: SaslClientState = 'new';
  private initial: Buffer | undefined;
  private piggybacked = false;
  private sentInitial = false;

  constructor(private readonly config: SaslClientConfig) {
    this.mechanism = config.mechanism;
    this.uri = saslProfileUri(config.mechanism);
    this.mech = createClientMechanism(config.mechanism, config);
  }

  get state(): SaslClientState {
    return this.stateValue;
  }

  /** Once complete: the identity the session now acts as (authzid, else authcid, else 'anonymous'). */
  get identity(): string | undefined {
    if (this.stateValue !== 'complete') return undefined;
    return this.config.authzid ?? (this.mechanism === 'ANONYMOUS' ? 'anonymous' : this.config.authcid);
  }

  /** Content to piggyback in the start's `<profile>` element, or undefined for none. */
  async startContent(): Promise<string | undefined> {
    if (this.stateValue !== 'new') throw saslFailure('BEEP_SASL_BAD_STATE', 'startContent() called twice', 554);
    this.stateValue = 'started';
    this.initial = await this.mech.initialResponse();
    if (this.config.piggyback === false || !this.mech.clientFirst) return undefined;
    this.piggybacked = true;
    this.sentInitial = true;
    return buildBlob({ data: this.initial ?? Buffer.alloc(0) });
  }

  /** The start was refused with an ERR on channel 0 (e.g. 550: profile not offered). */
  onStartRefused(code: number, message = ''): SaslClientStep {
    return this.failed(saslErrorFromReply(code, message));
  }

  /** The start succeeded; `content` is the reply's `<profile>` content (undefined or blank when none). */
  async onStartReply(content: string | Uint8Array | undefined): Promise<SaslClientStep> {
    if (this.stateValue !== 'started') return this.failed(saslFailure('BEEP_SASL_BAD_STATE', 'unexpected start reply', 554));
    const empty = content === undefined || (typeof content === 'string' ? content.trim() === '' : content.length === 0);
    if (empty) {
      // The server has not processed an initial response (or we sent none): send it now.
      this.stateValue = 'waiting';
      this.sentInitial = true;
      return { kind: 'send', body: buildBlob({ data: this.initial ?? Buffer.alloc(0) }) };
    }
    return this.onContent(content);
  }

  /** A reply to our MSG arrived: `kind` is 'rpy' or 'err', `body` its application/beep+xml content. */
  async onReply(kind: 'rpy' | 'err', body: string | Uint8Array): Promise<SaslClientStep> {
    if (this.stateValue === 'aborting') {
      this.stateValue = 'aborted';
      return { kind: 'aborted' };
    }
    if (this.stateValue !== 'waiting') return this.failed(saslFailure('BEEP_SASL_BAD_STATE', 'unexpected reply', 554));
    if (kind === 'err') {
      const parsed = this.parse(body);
      if (parsed instanceof BeepSaslError) return this.failed(parsed);
      if (parsed.kind === 'error') return this.failed(saslErrorFromReply(parsed.error.code, parsed.error.message));
      return this.failed(saslFailure('BEEP_SASL_REFUSED', 'server answered with ERR', 554));
    }
    return this.onContent(body);
  }

  /** Abort the exchange: send the returned body as a MSG; its reply ends the exchange as 'aborted'. */
  abort(): string {
    this.stateValue = 'aborting';
    return buildBlob({ status: 'abort' });
  }

  private parse(body: string | Uint8Array): SaslContent | BeepSaslError {
    try {
      return parseSaslContent(body, this.config.maxBlobLength === undefined ? {} : { maxLength: this.config.maxBlobLength });
    } catch (err) {
      const replyCode = err instanceof BeepXmlError ? (err.replyCode ?? 500) : 500;
      return saslFailure('BEEP_SASL_MALFORMED', `server sent bad SASL content: ${(err as Error).message}`, replyCode, err);
    }
  }

  private async onContent(body: string | Uint8Array): Promise<SaslClientStep> {
    const parsed = this.parse(body);
    if (parsed instanceof BeepSaslError) return this.failed(parsed);
    if (parsed.kind === 'error') return this.failed(saslErrorFromReply(parsed.error.code, parsed.error.message));
    const { status, data } = parsed.blob;
    try {
      if (status === 'abort') return this.failed(saslFailure('BEEP_SASL_ABORTED', 'server aborted the exchange', 451));
      if (status === 'complete') {
        await this.mech.complete(data.length === 0 ? undefined : data);
        this.stateValue = 'complete';
        return { kind: 'complete' };
      }
      // An empty challenge while our initial response is not known to be processed asks for it (again).
      const response = data.length === 0 && !this.sentInitial ? (this.initial ?? Buffer.alloc(0)) : await this.mech.respond(data);
      this.sentInitial = true;
      this.stateValue = 'waiting';
      return { kind: 'send', body: buildBlob({ data: response }) };
    } catch (err) {
      if (err instanceof BeepSaslError) return this.failed(err);
      throw err;
    }
  }

  private failed(error: BeepSaslError): SaslClientStep {
    this.stateValue = 'failed';
    return { kind: 'failed', error };
  }

  /** Whether the initial response went out piggybacked in the start. */
  get initialResponsePiggybacked(): boolean {
    return this.piggybacked;
  }
}
