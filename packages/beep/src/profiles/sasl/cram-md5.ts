/**
 * CRAM-MD5 (RFC 2195). Server-first: the server sends a unique challenge in msg-id form
 * `<random.timestamp@hostname>`; the client answers `user SP hex(HMAC-MD5(secret, challenge))` (lower-case hex).
 * The server needs the cleartext secret (SaslCredentialStore.getPassword).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import type { SaslClientMechanism, SaslEnvironment, SaslServerMechanism, SaslServerStep } from './mechanism.js';
import { authFailed, badState, defaultSaslEnvironment, malformedMessage, saslFailure, utf8Strict } from './mechanism.js';
import type { SaslCredentialStore } from './credentials.js';
import { authorizeWith } from './credentials.js';
import { BeepUsageError } from '../../errors.js';

export const CRAM_MD5_MAX_RESPONSE_OCTETS = 512;

export function cramMd5Digest(secret: string, challenge: string | Buffer): string {
  return createHmac('md5', Buffer.from(secret, 'utf8')).update(challenge).digest('hex');
}

export interface CramMd5ServerOptions {
  credentials: SaslCredentialStore;
  /** Host name inside the challenge. Default: os.hostname(). */
  hostname?: string;
  env?: SaslEnvironment;
}

/** Build the challenge: a random 64-bit decimal number, the time in seconds and the host name. */
export function makeCramMd5Challenge(env: SaslEnvironment, hostname: string): string {
  const random = env.randomBytes(8).readBigUInt64BE(0).toString(10);
  const seconds = Math.floor(env.now() / 1000);
  return `<${random}.${seconds}@${hostname}>`;
}

class CramMd5Server implements SaslServerMechanism {
  readonly name = 'CRAM-MD5' as const;
  private state: 'initial' | 'challenged' | 'done' = 'initial';
  private challenge = '';

  constructor(private readonly options: CramMd5ServerOptions) {}

  async step(response: Buffer | undefined): Promise<SaslServerStep> {
    if (this.state === 'done') throw badState('CRAM-MD5 exchange already finished');
    if (this.state === 'initial') {
      if (response !== undefined && response.length > 0) {
        this.state = 'done';
        throw malformedMessage('CRAM-MD5 is server-first: the initial response must be empty');
      }
      this.state = 'challenged';
      this.challenge = makeCramMd5Challenge(this.options.env ?? defaultSaslEnvironment, this.options.hostname ?? osHostname());
      return { kind: 'challenge', data: Buffer.from(this.challenge, 'utf8') };
    }
    this.state = 'done';
    if (response === undefined || response.length === 0) throw malformedMessage('CRAM-MD5 response is empty');
    if (response.length > CRAM_MD5_MAX_RESPONSE_OCTETS) throw malformedMessage('CRAM-MD5 response is too long');
    const text = utf8Strict(response, 'CRAM-MD5 response');
    const space = text.lastIndexOf(' ');
    const user = text.slice(0, space);
    const digest = text.slice(space + 1);
    if (space <= 0 || !/^[0-9a-f]{32}$/.test(digest)) throw malformedMessage("CRAM-MD5 response is not 'user digest'");
    const secret = this.options.credentials.getPassword ? await this.options.credentials.getPassword(user) : undefined;
    // Compute a digest even for unknown users so that timing does not reveal which names exist.
    const expected = Buffer.from(cramMd5Digest(secret ?? '\0unknown', this.challenge), 'utf8');
    const ok = timingSafeEqual(expected, Buffer.from(digest, 'utf8')) && secret !== undefined;
    if (!ok) throw authFailed();
    if (!(await authorizeWith(this.options.credentials, user, undefined))) {
      throw saslFailure('BEEP_SASL_NOT_AUTHORIZED', `${user} is not authorized`, 537);
    }
    return { kind: 'success', identity: { mechanism: this.name, authcid: user, authzid: undefined, identity: user } };
  }
}

class CramMd5Client implements SaslClientMechanism {
  readonly name = 'CRAM-MD5' as const;
  readonly clientFirst = false;
  private answered = false;

  constructor(private readonly user: string, private readonly password: string) {
    if (user === '' || /[\0\r\n]/.test(user)) throw new BeepUsageError('CRAM-MD5 user must be non-empty without NUL/CR/LF');
  }

  async initialResponse(): Promise<undefined> {
    return undefined;
  }

  async respond(challenge: Buffer): Promise<Buffer> {
    if (this.answered) throw malformedMessage('CRAM-MD5 server sent a second challenge');
    if (challenge.length === 0) throw malformedMessage('CRAM-MD5 challenge is empty');
    this.answered = true;
    return Buffer.from(`${this.user} ${cramMd5Digest(this.password, challenge)}`, 'utf8');
  }

  async complete(data: Buffer | undefined): Promise<void> {
    if (!this.answered) throw badState('CRAM-MD5 completed before the challenge was answered');
    if (data !== undefined && data.length > 0) throw malformedMessage('CRAM-MD5 success carries no data');
  }
}

export function createCramMd5Server(options: CramMd5ServerOptions): SaslServerMechanism {
  return new CramMd5Server(options);
}

export function createCramMd5Client(options: { authcid: string; password: string }): SaslClientMechanism {
  return new CramMd5Client(options.authcid, options.password);
}
