/**
 * The shape every SASL mechanism state machine has. Mechanisms are pure: bytes in, bytes out, no I/O; the only
 * outside inputs are the credential store and an injectable environment (randomness and clock) for tests.
 */
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { BeepSaslError } from '../../errors.js';

export type SaslMechanismName = 'ANONYMOUS' | 'PLAIN' | 'CRAM-MD5' | 'SCRAM-SHA-256' | 'EXTERNAL';

/** Who authenticated. `identity` is the authorization identity in effect: authzid if one was given, else authcid. */
export interface SaslIdentity {
  mechanism: SaslMechanismName;
  authcid: string;
  authzid: string | undefined;
  identity: string;
  /** ANONYMOUS only: the trace information the client sent (may be empty). */
  trace?: string;
}

export interface SaslEnvironment {
  randomBytes(size: number): Buffer;
  /** Milliseconds since the epoch. */
  now(): number;
}

export const defaultSaslEnvironment: SaslEnvironment = {
  randomBytes: (size) => cryptoRandomBytes(size),
  now: () => Date.now(),
};

/** The server's answer to one client message. */
export type SaslServerStep =
  | { kind: 'challenge'; data: Buffer }
  /** `data` is the "additional data with success" (SCRAM's server-final-message), sent in `<blob status='complete'>`. */
  | { kind: 'success'; identity: SaslIdentity; data?: Buffer | undefined };

export interface SaslServerMechanism {
  readonly name: SaslMechanismName;
  /**
   * Feed the next client message. The first call carries the initial response: `undefined` when the client sent
   * none. Resolves to a challenge or success; rejects with a BeepSaslError (its `replyCode` is what to send) on
   * failure. After success or failure the mechanism is finished and further calls reject.
   */
  step(response: Buffer | undefined): Promise<SaslServerStep>;
}

export interface SaslClientMechanism {
  readonly name: SaslMechanismName;
  /** True when the mechanism has an initial response (client-first); CRAM-MD5 is server-first. */
  readonly clientFirst: boolean;
  /** The initial response, or undefined for server-first mechanisms. Call once. */
  initialResponse(): Promise<Buffer | undefined>;
  /** Answer a server challenge. Rejects with BeepSaslError when the challenge is malformed or unacceptable. */
  respond(challenge: Buffer): Promise<Buffer>;
  /**
   * The server reported success, with its additional data if any. Rejects when that data does not verify (SCRAM
   * server signature) or when the mechanism expected more rounds: the client must then not trust the session.
   */
  complete(data: Buffer | undefined): Promise<void>;
}

export function saslFailure(code: string, message: string, replyCode: number, cause?: unknown): BeepSaslError {
  return new BeepSaslError(code, message, cause === undefined ? { replyCode } : { replyCode, cause });
}

export const authFailed = (message = 'authentication failure'): BeepSaslError =>
  saslFailure('BEEP_SASL_AUTH_FAILED', message, 535);

export const malformedMessage = (message: string): BeepSaslError => saslFailure('BEEP_SASL_MALFORMED', message, 501);

export const badState = (message: string): BeepSaslError => saslFailure('BEEP_SASL_BAD_STATE', message, 554);

/** Decode UTF-8 strictly (501 on invalid sequences). */
export function utf8Strict(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (cause) {
    throw saslFailure('BEEP_SASL_MALFORMED', `${what} is not valid UTF-8`, 501, cause);
  }
}

/**
 * The client side of a mechanism that is one client message (ANONYMOUS, PLAIN, EXTERNAL): the message is the
 * initial response; an empty challenge (the server asking for it, RFC 4422 §5) is answered with it once; success
 * carries no data.
 */
export class SingleMessageClient implements SaslClientMechanism {
  readonly clientFirst = true;
  private sent = false;
  private challenged = false;

  /** `what` names the message in errors ("the trace", "the credentials"...). */
  constructor(readonly name: SaslMechanismName, private readonly message: Buffer, private readonly what: string) {}

  async initialResponse(): Promise<Buffer> {
    this.sent = true;
    return this.message;
  }

  async respond(challenge: Buffer): Promise<Buffer> {
    if (challenge.length !== 0 || this.challenged) throw malformedMessage(`${this.name} server sent an unexpected challenge`);
    this.challenged = true;
    this.sent = true;
    return this.message;
  }

  async complete(data: Buffer | undefined): Promise<void> {
    if (!this.sent) throw badState(`${this.name} completed before ${this.what} was sent`);
    if (data !== undefined && data.length > 0) throw malformedMessage(`${this.name} success carries no data`);
  }
}
