/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677), without channel binding: the gs2 flag may be `n` or `y` (we do not offer
 * SCRAM-SHA-256-PLUS, so `y` is acceptable); `p=` is refused with e=channel-binding-not-supported (534).
 *
 *   C: n,[a=authzid],n=user,r=cnonce                 (client-first-message)
 *   S: r=cnonce+snonce,s=salt,i=iterations           (server-first-message, a challenge)
 *   C: c=biws,r=cnonce+snonce,p=proof                (client-final-message)
 *   S: v=ServerSignature                             (server-final-message, data with success)
 *
 * Unknown users get a deterministic fake salt so that the second message, not the first, fails (no user
 * enumeration); the failure is always e=invalid-proof.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { SaslClientMechanism, SaslEnvironment, SaslServerMechanism, SaslServerStep } from './mechanism.js';
import { badState, defaultSaslEnvironment, malformedMessage, saslFailure } from './mechanism.js';
import type { SaslCredentialStore } from './credentials.js';
import { authorizeWith } from './credentials.js';
import { saslprep } from './saslprep.js';
import type { ScramCredentials } from './scram-crypto.js';
import { constantTimeEqual, hmac, keysFromSaltedPassword, saltPassword, sha256, xor, SCRAM_HASH_LENGTH, SCRAM_MIN_ITERATIONS } from './scram-crypto.js';
import { BeepUsageError } from '../../errors.js';
import type { ClientFirst } from './scram-messages.js';
import {
  encodeSaslname, isValidNonce, messageText, parseClientFinal, parseClientFirst, parseServerFinal, parseServerFirst, scramError,
} from './scram-messages.js';

export const SCRAM_DEFAULT_MAX_ITERATIONS = 1_000_000;

/** Stable for the process, so an unknown user sees the same salt on every attempt, like a real one. */
const PROCESS_FAKE_SALT_SECRET = randomBytes(32);

function defaultNonce(env: SaslEnvironment): string {
  return env.randomBytes(18).toString('base64');
}

export interface ScramServerOptions {
  credentials: SaslCredentialStore;
  env?: SaslEnvironment;
  /** Server part of the nonce; default 18 random bytes in base64. Must be printable ASCII without ','. */
  serverNonce?: () => string;
  /** Secret for the fake salts of unknown users; default one random secret per process. */
  fakeSaltSecret?: Buffer;
}

class ScramServer implements SaslServerMechanism {
  readonly name = 'SCRAM-SHA-256' as const;
  private state: 'initial' | 'waiting-first' | 'waiting-final' | 'done' = 'initial';
  private first: ClientFirst | undefined;
  private serverFirst = '';
  private nonce = '';
  private creds: ScramCredentials | undefined;
  private readonly env: SaslEnvironment;

  constructor(private readonly options: ScramServerOptions) {
    this.env = options.env ?? defaultSaslEnvironment;
  }

  async step(response: Buffer | undefined): Promise<SaslServerStep> {
    switch (this.state) {
      case 'done':
        throw badState('SCRAM-SHA-256 exchange already finished');
      case 'initial':
        if (response === undefined || response.length === 0) {
          this.state = 'waiting-first';
          return { kind: 'challenge', data: Buffer.alloc(0) };
        }
        return this.onClientFirst(response);
      case 'waiting-first':
        return this.onClientFirst(response ?? Buffer.alloc(0));
      case 'waiting-final':
        return this.onClientFinal(response ?? Buffer.alloc(0));
    }
  }

  private async onClientFirst(response: Buffer): Promise<SaslServerStep> {
    this.state = 'done'; // until proven otherwise: any throw ends the exchange
    const first = parseClientFirst(messageText(response, 'client-first-message'));
    if (first.cbindFlag === 'p') throw scramError('channel-binding-not-supported', 534);
    const username = saslprep(first.username, 'username');
    const found = this.options.credentials.getScramCredentials
      ? await this.options.credentials.getScramCredentials(username)
      : undefined;
    this.creds = found ?? this.fakeCredentials(username);
    const serverNonce = this.options.serverNonce ? this.options.serverNonce() : defaultNonce(this.env);
    if (!isValidNonce(serverNonce)) throw saslFailure('BEEP_SASL_BAD_STATE', 'server nonce is not printable ASCII', 451);
    this.first = { ...first, username };
    this.nonce = first.nonce + serverNonce;
    this.serverFirst = `r=${this.nonce},s=${this.creds.salt.toString('base64')},i=${this.creds.iterations}`;
    this.state = 'waiting-final';
    return { kind: 'challenge', data: Buffer.from(this.serverFirst, 'utf8') };
  }

  private fakeCredentials(username: string): ScramCredentials {
    const secret = this.options.fakeSaltSecret ?? PROCESS_FAKE_SALT_SECRET;
    const salt = createHmac('sha256', secret).update(username).digest().subarray(0, 16);
    return { salt, iterations: SCRAM_MIN_ITERATIONS, storedKey: this.env.randomBytes(SCRAM_HASH_LENGTH), serverKey: this.env.randomBytes(SCRAM_HASH_LENGTH) };
  }

  private async onClientFinal(response: Buffer): Promise<SaslServerStep> {
    this.state = 'done';
    const first = this.first as ClientFirst;
    const creds = this.creds as ScramCredentials;
    const final = parseClientFinal(messageText(response, 'client-final-message'));
    if (!final.channelBinding.equals(Buffer.from(first.gs2Header, 'utf8'))) throw scramError('channel-bindings-dont-match');
    if (final.nonce !== this.nonce) throw scramError('invalid-proof');
    if (final.proof.length !== SCRAM_HASH_LENGTH) throw scramError('invalid-proof');
    const authMessage = `${first.bare},${this.serverFirst},${final.withoutProof}`;
    const clientSignature = hmac(creds.storedKey, authMessage);
    const clientKey = xor(final.proof, clientSignature);
    if (!constantTimeEqual(sha256(clientKey), creds.storedKey)) throw scramError('invalid-proof');
    if (!(await authorizeWith(this.options.credentials, first.username, first.authzid))) {
      throw saslFailure('BEEP_SASL_NOT_AUTHORIZED', `${first.username} may not act as ${first.authzid}`, 537);
    }
    const serverSignature = hmac(creds.serverKey, authMessage);
    return {
      kind: 'success',
      identity: { mechanism: this.name, authcid: first.username, authzid: first.authzid, identity: first.authzid ?? first.username },
      data: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8'),
    };
  }
}

export interface ScramClientOptions {
  authcid: string;
  password: string;
  authzid?: string | undefined;
  env?: SaslEnvironment;
  /** Client nonce; default 18 random bytes in base64. */
  nonce?: () => string;
  /** Lowest iteration count accepted from the server. Default 4096 (RFC 7677). */
  minIterations?: number;
  /** Highest iteration count accepted (a hostile server could ask for billions). Default 1,000,000. */
  maxIterations?: number;
}

class ScramClient implements SaslClientMechanism {
  readonly name = 'SCRAM-SHA-256' as const;
  readonly clientFirst = true;
  private state: 'initial' | 'sent-first' | 'sent-final' | 'verified' | 'done' = 'initial';
  private readonly gs2Header: string;
  private readonly bare: string;
  private readonly clientNonce: string;
  private expectedServerSignature: Buffer | undefined;

  constructor(private readonly options: ScramClientOptions) {
    const env = options.env ?? defaultSaslEnvironment;
    this.clientNonce = options.nonce ? options.nonce() : defaultNonce(env);
    if (!isValidNonce(this.clientNonce)) throw new BeepUsageError('SCRAM nonce must be printable ASCII without commas');
    const user = saslprep(options.authcid, 'username');
    this.gs2Header = `n,${options.authzid === undefined ? '' : `a=${encodeSaslname(options.authzid)}`},`;
    this.bare = `n=${encodeSaslname(user)},r=${this.clientNonce}`;
  }

  async initialResponse(): Promise<Buffer> {
    this.state = 'sent-first';
    return Buffer.from(this.gs2Header + this.bare, 'utf8');
  }

  async respond(challenge: Buffer): Promise<Buffer> {
    if (challenge.length === 0 && this.state !== 'sent-final' && this.state !== 'verified') return this.initialResponse();
    if (this.state === 'sent-first') return this.onServerFirst(challenge);
    if (this.state === 'sent-final') {
      // Some servers send the server-final-message as a last challenge and complete with no data.
      this.verifyServerFinal(challenge);
      this.state = 'verified';
      return Buffer.alloc(0);
    }
    throw malformedMessage('SCRAM-SHA-256 server sent an unexpected challenge');
  }

  private async onServerFirst(challenge: Buffer): Promise<Buffer> {
    const serverFirst = messageText(challenge, 'server-first-message');
    const { nonce, salt, iterations } = parseServerFirst(serverFirst);
    if (!nonce.startsWith(this.clientNonce) || nonce.length === this.clientNonce.length) {
      throw saslFailure('BEEP_SASL_AUTH_FAILED', 'SCRAM server nonce does not extend the client nonce', 535);
    }
    const min = this.options.minIterations ?? SCRAM_MIN_ITERATIONS;
    const max = this.options.maxIterations ?? SCRAM_DEFAULT_MAX_ITERATIONS;
    if (iterations < min || iterations > max) {
      throw saslFailure('BEEP_SASL_MECH_INSUFFICIENT', `SCRAM iteration count ${iterations} outside [${min}, ${max}]`, 534);
    }
    const { clientKey, storedKey, serverKey } = keysFromSaltedPassword(await saltPassword(this.options.password, salt, iterations));
    const withoutProof = `c=${Buffer.from(this.gs2Header, 'utf8').toString('base64')},r=${nonce}`;
    const authMessage = `${this.bare},${serverFirst},${withoutProof}`;
    const proof = xor(clientKey, hmac(storedKey, authMessage));
    this.expectedServerSignature = hmac(serverKey, authMessage);
    this.state = 'sent-final';
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  private verifyServerFinal(data: Buffer): void {
    const final = parseServerFinal(messageText(data, 'server-final-message'));
    if (final.kind === 'error') throw saslFailure('BEEP_SASL_AUTH_FAILED', `SCRAM-SHA-256 failed: e=${final.value}`, 535);
    if (!constantTimeEqual(final.signature, this.expectedServerSignature as Buffer)) {
      throw saslFailure('BEEP_SASL_SERVER_SIGNATURE', 'SCRAM server signature does not verify: do not trust this server', 535);
    }
  }

  async complete(data: Buffer | undefined): Promise<void> {
    if (this.state === 'verified' && (data === undefined || data.length === 0)) {
      this.state = 'done';
      return;
    }
    if (this.state !== 'sent-final' || data === undefined || data.length === 0) {
      this.state = 'done';
      throw saslFailure('BEEP_SASL_SERVER_SIGNATURE', 'SCRAM server completed without proving it knows the password', 535);
    }
    this.state = 'done';
    this.verifyServerFinal(data);
  }
}

export function createScramSha256Server(options: ScramServerOptions): SaslServerMechanism {
  return new ScramServer(options);
}

export function createScramSha256Client(options: ScramClientOptions): SaslClientMechanism {
  return new ScramClient(options);
}
