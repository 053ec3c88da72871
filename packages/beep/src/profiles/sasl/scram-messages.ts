/** SCRAM message syntax helpers (RFC 5802 §5, §7). */
import { malformedMessage, saslFailure, utf8Strict } from './mechanism.js';
import type { BeepSaslError } from '../../errors.js';

export const SCRAM_MAX_MESSAGE_OCTETS = 4096;

/** `e=` server-error values we send or recognise (RFC 5802 §7). */
export type ScramServerError =
  | 'invalid-encoding'
  | 'extensions-not-supported'
  | 'invalid-proof'
  | 'channel-bindings-dont-match'
  | 'server-does-support-channel-binding'
  | 'channel-binding-not-supported'
  | 'unsupported-channel-binding-type'
  | 'unknown-user'
  | 'invalid-username-encoding'
  | 'no-resources'
  | 'other-error';

/** A failure carrying SCRAM's `e=` value in its message; reply code 501 for syntax, else the given one. */
export function scramError(value: ScramServerError, replyCode = 535): BeepSaslError {
  const code = replyCode === 501 ? 'BEEP_SASL_MALFORMED' : replyCode === 534 ? 'BEEP_SASL_MECH_INSUFFICIENT' : 'BEEP_SASL_AUTH_FAILED';
  return saslFailure(code, `SCRAM-SHA-256 failed: e=${value}`, replyCode);
}

/** saslname encoding: ',' -> '=2C', '=' -> '=3D'. */
export function encodeSaslname(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

export function decodeSaslname(value: string): string {
  if (value === '' || /=(?!2C|3D)/.test(value)) throw scramError('invalid-username-encoding', 501);
  return value.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

/** Printable ASCII except ',' (RFC 5802 `printable`). */
export function isValidNonce(nonce: string): boolean {
  return /^[\x21-\x2b\x2d-\x7e]+$/.test(nonce);
}

export interface ScramAttribute {
  key: string;
  value: string;
}

/** Split `k=v,k=v` into attributes; each key one ASCII letter. */
export function parseAttributes(text: string): ScramAttribute[] {
  return text.split(',').map((part) => {
    if (!/^[A-Za-z]=/.test(part)) throw scramError('invalid-encoding', 501);
    return { key: part[0] as string, value: part.slice(2) };
  });
}

export function messageText(data: Buffer, what: string): string {
  if (data.length > SCRAM_MAX_MESSAGE_OCTETS) throw malformedMessage(`SCRAM ${what} is too long`);
  const text = utf8Strict(data, `SCRAM ${what}`);
  if (text.includes('\0')) throw malformedMessage(`SCRAM ${what} contains NUL`);
  return text;
}

export function decodeBase64Attribute(value: string): Buffer {
  if (value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw scramError('invalid-encoding', 501);
  const data = Buffer.from(value, 'base64');
  if (data.toString('base64') !== value) throw scramError('invalid-encoding', 501);
  return data;
}

export interface ClientFirst {
  gs2Header: string;
  cbindFlag: 'n' | 'y' | 'p';
  authzid: string | undefined;
  bare: string;
  username: string;
  nonce: string;
}

/** Parse `gs2-header client-first-message-bare`. */
export function parseClientFirst(text: string): ClientFirst {
  const first = text.indexOf(',');
  const second = first < 0 ? -1 : text.indexOf(',', first + 1);
  if (first < 0 || second < 0) throw scramError('invalid-encoding', 501);
  const flag = text.slice(0, first);
  const authzPart = text.slice(first + 1, second);
  let cbindFlag: ClientFirst['cbindFlag'];
  if (flag === 'n' || flag === 'y') cbindFlag = flag;
  else if (/^p=[A-Za-z0-9.-]+$/.test(flag)) cbindFlag = 'p';
  else throw scramError('invalid-encoding', 501);
  let authzid: string | undefined;
  if (authzPart !== '') {
    if (!authzPart.startsWith('a=')) throw scramError('invalid-encoding', 501);
    authzid = decodeSaslname(authzPart.slice(2));
  }
  const bare = text.slice(second + 1);
  const attrs = parseAttributes(bare);
  if (attrs[0]?.key === 'm') throw scramError('extensions-not-supported', 501);
  const [user, nonce] = attrs;
  if (user?.key !== 'n' || nonce?.key !== 'r') throw scramError('invalid-encoding', 501);
  if (!isValidNonce(nonce.value)) throw scramError('invalid-encoding', 501);
  return { gs2Header: text.slice(0, second + 1), cbindFlag, authzid, bare, username: decodeSaslname(user.value), nonce: nonce.value };
}

export interface ServerFirst {
  nonce: string;
  salt: Buffer;
  iterations: number;
}

export function parseServerFirst(text: string): ServerFirst {
  const attrs = parseAttributes(text);
  if (attrs[0]?.key === 'm') throw scramError('extensions-not-supported', 501);
  if (attrs[0]?.key === 'e') throw scramError('other-error');
  const [nonce, salt, iter] = attrs;
  if (nonce?.key !== 'r' || salt?.key !== 's' || iter?.key !== 'i') throw malformedMessage('SCRAM server-first-message is malformed');
  if (!isValidNonce(nonce.value)) throw malformedMessage('SCRAM server nonce is malformed');
  if (!/^[1-9][0-9]{0,9}$/.test(iter.value)) throw malformedMessage('SCRAM iteration count is malformed');
  const saltBytes = decodeBase64Attribute(salt.value);
  if (saltBytes.length === 0) throw malformedMessage('SCRAM salt is empty');
  return { nonce: nonce.value, salt: saltBytes, iterations: Number(iter.value) };
}

export interface ClientFinal {
  channelBinding: Buffer;
  nonce: string;
  proof: Buffer;
  withoutProof: string;
}

export function parseClientFinal(text: string): ClientFinal {
  const proofAt = text.lastIndexOf(',p=');
  if (proofAt < 0) throw scramError('invalid-encoding', 501);
  const withoutProof = text.slice(0, proofAt);
  const attrs = parseAttributes(withoutProof);
  const [cb, nonce] = attrs;
  if (cb?.key !== 'c' || nonce?.key !== 'r') throw scramError('invalid-encoding', 501);
  return {
    channelBinding: decodeBase64Attribute(cb.value),
    nonce: nonce.value,
    proof: decodeBase64Attribute(text.slice(proofAt + 3)),
    withoutProof,
  };
}

export type ServerFinal = { kind: 'verifier'; signature: Buffer } | { kind: 'error'; value: string };

export function parseServerFinal(text: string): ServerFinal {
  const attrs = parseAttributes(text);
  const first = attrs[0];
  if (first?.key === 'e') return { kind: 'error', value: first.value };
  if (first?.key !== 'v') throw malformedMessage('SCRAM server-final-message is malformed');
  return { kind: 'verifier', signature: decodeBase64Attribute(first.value) };
}
