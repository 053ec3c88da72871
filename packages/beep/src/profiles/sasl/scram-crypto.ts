/** SCRAM-SHA-256 key derivation (RFC 5802 §3, RFC 7677). */
import { createHash, createHmac, pbkdf2, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { saslprep } from './saslprep.js';

const pbkdf2Async = promisify(pbkdf2);

export const SCRAM_MIN_ITERATIONS = 4096;
export const SCRAM_HASH_LENGTH = 32;

export interface ScramCredentials {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

export function hmac(key: Buffer, data: string | Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

export function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

export function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i] as number);
  return out;
}

export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** SaltedPassword := Hi(Normalize(password), salt, i), Hi being PBKDF2-HMAC-SHA-256. */
export async function saltPassword(password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  return pbkdf2Async(Buffer.from(saslprep(password, 'password'), 'utf8'), salt, iterations, SCRAM_HASH_LENGTH, 'sha256');
}

export function keysFromSaltedPassword(salted: Buffer): { clientKey: Buffer; storedKey: Buffer; serverKey: Buffer } {
  const clientKey = hmac(salted, 'Client Key');
  return { clientKey, storedKey: sha256(clientKey), serverKey: hmac(salted, 'Server Key') };
}

/** Derive what a server stores for a user, so that it never keeps the password itself. */
export async function deriveScramCredentials(
  password: string,
  salt: Buffer,
  iterations = SCRAM_MIN_ITERATIONS,
): Promise<ScramCredentials> {
  const { storedKey, serverKey } = keysFromSaltedPassword(await saltPassword(password, salt, iterations));
  return { salt: Buffer.from(salt), iterations, storedKey, serverKey };
}
