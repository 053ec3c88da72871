/**
 * The pluggable credential check used by the server mechanisms, and a simple in-memory store.
 *
 * Each method is optional; a mechanism is only offered when the store can serve it:
 *  - PLAIN: verifyPlain, or getPassword, or getScramCredentials (the password is checked against the SCRAM keys);
 *  - CRAM-MD5: getPassword (the mechanism needs the cleartext secret, RFC 2195);
 *  - SCRAM-SHA-256: getScramCredentials.
 * `authorize` decides whether authcid may act as a different authzid (default: only as itself).
 */
import type { ScramCredentials } from './scram-crypto.js';
import { deriveScramCredentials, keysFromSaltedPassword, saltPassword, constantTimeEqual, sha256, SCRAM_MIN_ITERATIONS } from './scram-crypto.js';
import { defaultSaslEnvironment } from './mechanism.js';
import type { SaslEnvironment } from './mechanism.js';
import { timingSafeEqual } from 'node:crypto';
import { saslprep } from './saslprep.js';
import { BeepUsageError } from '../../errors.js';

type MaybePromise<T> = T | Promise<T>;

export interface SaslCredentialStore {
  verifyPlain?(authcid: string, password: string, authzid: string | undefined): MaybePromise<boolean>;
  getPassword?(user: string): MaybePromise<string | undefined>;
  getScramCredentials?(user: string): MaybePromise<ScramCredentials | undefined>;
  authorize?(authcid: string, authzid: string): MaybePromise<boolean>;
}

/** Compare a stored cleartext password (SASLprep'd here) with an already prepared one, in constant time. */
function samePassword(stored: string, prepared: string): boolean {
  let expected: string;
  try {
    expected = saslprep(stored, 'password');
  } catch {
    return false;
  }
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(prepared, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** PLAIN verification through whatever the store offers. */
export async function verifyPlainWith(
  store: SaslCredentialStore,
  authcid: string,
  password: string,
  authzid: string | undefined,
): Promise<boolean> {
  if (store.verifyPlain) return Boolean(await store.verifyPlain(authcid, password, authzid));
  if (store.getPassword) {
    const expected = await store.getPassword(authcid);
    return expected !== undefined && samePassword(expected, password);
  }
  if (store.getScramCredentials) {
    const creds = await store.getScramCredentials(authcid);
    if (creds === undefined) return false;
    const { storedKey } = keysFromSaltedPassword(await saltPassword(password, creds.salt, creds.iterations));
    return constantTimeEqual(storedKey, creds.storedKey);
  }
  return false;
}

/** Whether authcid may act as authzid. Without an `authorize` hook only authzid === authcid is allowed. */
export async function authorizeWith(store: SaslCredentialStore, authcid: string, authzid: string | undefined): Promise<boolean> {
  if (authzid === undefined || authzid === authcid) return true;
  return store.authorize ? Boolean(await store.authorize(authcid, authzid)) : false;
}

export interface MemoryCredentialStoreOptions {
  /** PBKDF2 iterations for the derived SCRAM credentials; at least 4096. Default 4096. */
  iterations?: number;
  /** Source of the per-user salts (16 bytes each). */
  env?: Pick<SaslEnvironment, 'randomBytes'>;
  /** Keep the cleartext passwords so that CRAM-MD5 (and PLAIN by comparison) work. Default true. */
  keepPasswords?: boolean;
  authorize?: (authcid: string, authzid: string) => boolean;
}

/**
 * An in-memory store built from `user:password` pairs (the user is everything before the first ':'). SCRAM
 * credentials are derived once, by `createMemoryCredentialStore`.
 */
export class MemoryCredentialStore implements SaslCredentialStore {
  private readonly passwords = new Map<string, string>();
  private readonly scram = new Map<string, ScramCredentials>();
  private readonly authorizer: ((authcid: string, authzid: string) => boolean) | undefined;

  constructor(options: Pick<MemoryCredentialStoreOptions, 'authorize'> = {}) {
    this.authorizer = options.authorize;
  }

  setPassword(user: string, password: string): void {
    this.passwords.set(user, password);
  }

  setScramCredentials(user: string, credentials: ScramCredentials): void {
    if (credentials.iterations < SCRAM_MIN_ITERATIONS) throw new BeepUsageError('SCRAM iteration count below 4096');
    this.scram.set(user, credentials);
  }

  getPassword(user: string): string | undefined {
    return this.passwords.get(user);
  }

  getScramCredentials(user: string): ScramCredentials | undefined {
    return this.scram.get(user);
  }

  authorize(authcid: string, authzid: string): boolean {
    return this.authorizer ? this.authorizer(authcid, authzid) : authcid === authzid;
  }

  /** Check a password without the cleartext (SCRAM keys) when the cleartext was not kept. */
  async verifyPlain(authcid: string, password: string): Promise<boolean> {
    const stored = this.passwords.get(authcid);
    if (stored !== undefined) return samePassword(stored, password);
    const creds = this.scram.get(authcid);
    if (creds === undefined) return false;
    const { clientKey } = keysFromSaltedPassword(await saltPassword(password, creds.salt, creds.iterations));
    return constantTimeEqual(sha256(clientKey), creds.storedKey);
  }
}

export function parseUserPassword(pair: string): { user: string; password: string } {
  const colon = pair.indexOf(':');
  if (colon <= 0) throw new BeepUsageError(`credential '${pair.slice(0, 20)}' is not of the form user:password`);
  return { user: pair.slice(0, colon), password: pair.slice(colon + 1) };
}

/** Build a MemoryCredentialStore from `user:password` pairs, deriving the SCRAM credentials once. */
export async function createMemoryCredentialStore(
  pairs: Iterable<string>,
  options: MemoryCredentialStoreOptions = {},
): Promise<MemoryCredentialStore> {
  const iterations = options.iterations ?? SCRAM_MIN_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < SCRAM_MIN_ITERATIONS) {
    throw new BeepUsageError('SCRAM iteration count must be an integer of at least 4096');
  }
  const env = options.env ?? defaultSaslEnvironment;
  const store = new MemoryCredentialStore(options.authorize ? { authorize: options.authorize } : {});
  for (const pair of pairs) {
    const { user, password } = parseUserPassword(pair);
    if (options.keepPasswords ?? true) store.setPassword(user, password);
    store.setScramCredentials(user, await deriveScramCredentials(password, env.randomBytes(16), iterations));
  }
  return store;
}
