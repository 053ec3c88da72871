/**
 * A credential store built synchronously from `user:password` pairs (CLI `--sasl-user`, `sasl.users`). SCRAM
 * credentials are derived on first use per user (PBKDF2 is slow, and most users of a small list never log in), so
 * `listen()` and `createSession()` need not wait.
 */
import { randomBytes } from 'node:crypto';
import type { SaslCredentialStore } from '../sasl/credentials.js';
import { parseUserPassword } from '../sasl/credentials.js';
import { deriveScramCredentials, SCRAM_MIN_ITERATIONS } from '../sasl/scram-crypto.js';
import type { ScramCredentials } from '../sasl/scram-crypto.js';
import { BeepUsageError } from '../../errors.js';

export interface UserPasswordStoreOptions {
  /** PBKDF2 iterations of the derived SCRAM credentials (>= 4096). Default 4096. */
  iterations?: number;
  /** May `authcid` act as `authzid`? Default: only as itself. */
  authorize?: (authcid: string, authzid: string) => boolean | Promise<boolean>;
}

export function createUserPasswordStore(pairs: Iterable<string>, options: UserPasswordStoreOptions = {}): SaslCredentialStore {
  const iterations = options.iterations ?? SCRAM_MIN_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < SCRAM_MIN_ITERATIONS) {
    throw new BeepUsageError('SCRAM iteration count must be an integer of at least 4096');
  }
  const passwords = new Map<string, string>();
  for (const pair of pairs) {
    const { user, password } = parseUserPassword(pair);
    passwords.set(user, password);
  }
  const scram = new Map<string, Promise<ScramCredentials>>();
  const authorize = options.authorize;
  return {
    getPassword: (user) => passwords.get(user),
    getScramCredentials(user) {
      const password = passwords.get(user);
      if (password === undefined) return undefined;
      let p = scram.get(user);
      if (p === undefined) {
        p = deriveScramCredentials(password, randomBytes(16), iterations);
        scram.set(user, p);
      }
      return p;
    },
    authorize: (authcid, authzid) => (authorize ? authorize(authcid, authzid) : authcid === authzid),
  };
}
