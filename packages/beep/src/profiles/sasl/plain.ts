/**
 * PLAIN (RFC 4616): one client message `[authzid] NUL authcid NUL passwd`, UTF-8, exactly two NULs, authcid and
 * passwd non-empty; each field at most `maxFieldOctets` (default 255, the size RFC 4616 requires servers to
 * accept). The server SASLpreps authcid and passwd before checking them.
 */
import type { SaslClientMechanism, SaslServerMechanism, SaslServerStep } from './mechanism.js';
import { authFailed, badState, malformedMessage, saslFailure, SingleMessageClient, utf8Strict } from './mechanism.js';
import type { SaslCredentialStore } from './credentials.js';
import { authorizeWith, verifyPlainWith } from './credentials.js';
import { saslprep } from './saslprep.js';
import { BeepUsageError } from '../../errors.js';

export const PLAIN_MAX_FIELD_OCTETS = 255;

export interface PlainMessage {
  authzid: string | undefined;
  authcid: string;
  password: string;
}

/** Parse the PLAIN message bytes (501 BEEP_SASL_MALFORMED on any syntax error). */
export function parsePlainMessage(message: Buffer, maxFieldOctets = PLAIN_MAX_FIELD_OCTETS): PlainMessage {
  const first = message.indexOf(0);
  const second = first < 0 ? -1 : message.indexOf(0, first + 1);
  if (first < 0 || second < 0) throw malformedMessage('PLAIN message needs two NUL separators');
  if (message.indexOf(0, second + 1) >= 0) throw malformedMessage('PLAIN message has more than two NUL separators');
  const fields = [message.subarray(0, first), message.subarray(first + 1, second), message.subarray(second + 1)];
  const names = ['authzid', 'authcid', 'passwd'];
  fields.forEach((field, i) => {
    if (field.length > maxFieldOctets) throw malformedMessage(`PLAIN ${names[i]} longer than ${maxFieldOctets} octets`);
  });
  const [authzid, authcid, password] = fields.map((f, i) => utf8Strict(f, `PLAIN ${names[i]}`)) as [string, string, string];
  if (authcid === '') throw malformedMessage('PLAIN authcid is empty');
  if (password === '') throw malformedMessage('PLAIN passwd is empty');
  return { authzid: authzid === '' ? undefined : authzid, authcid, password };
}

export function buildPlainMessage(message: PlainMessage): Buffer {
  for (const [name, value] of [['authcid', message.authcid], ['password', message.password], ['authzid', message.authzid ?? '']]) {
    if ((value as string).includes('\0')) throw new BeepUsageError(`PLAIN ${name} must not contain NUL`);
  }
  if (message.authcid === '' || message.password === '') throw new BeepUsageError('PLAIN authcid and password must not be empty');
  return Buffer.from(`${message.authzid ?? ''}\0${message.authcid}\0${message.password}`, 'utf8');
}

export interface PlainServerOptions {
  credentials: SaslCredentialStore;
  maxFieldOctets?: number;
}

class PlainServer implements SaslServerMechanism {
  readonly name = 'PLAIN' as const;
  private state: 'initial' | 'waiting' | 'done' = 'initial';

  constructor(private readonly options: PlainServerOptions) {}

  async step(response: Buffer | undefined): Promise<SaslServerStep> {
    if (this.state === 'done') throw badState('PLAIN exchange already finished');
    // No (or an empty) initial response: ask for it with an empty challenge (RFC 4422 §5).
    if (this.state === 'initial' && (response === undefined || response.length === 0)) {
      this.state = 'waiting';
      return { kind: 'challenge', data: Buffer.alloc(0) };
    }
    this.state = 'done';
    const msg = parsePlainMessage(response ?? Buffer.alloc(0), this.options.maxFieldOctets);
    const authcid = saslprep(msg.authcid, 'authcid');
    const password = saslprep(msg.password, 'password');
    const authzid = msg.authzid;
    if (!(await verifyPlainWith(this.options.credentials, authcid, password, authzid))) throw authFailed();
    if (!(await authorizeWith(this.options.credentials, authcid, authzid))) {
      throw saslFailure('BEEP_SASL_NOT_AUTHORIZED', `${authcid} may not act as ${authzid}`, 537);
    }
    return { kind: 'success', identity: { mechanism: this.name, authcid, authzid, identity: authzid ?? authcid } };
  }
}

export function createPlainServer(options: PlainServerOptions): SaslServerMechanism {
  return new PlainServer(options);
}

export function createPlainClient(options: { authcid: string; password: string; authzid?: string | undefined }): SaslClientMechanism {
  const message = buildPlainMessage({ authcid: options.authcid, password: options.password, authzid: options.authzid });
  return new SingleMessageClient('PLAIN', message, 'the credentials');
}
