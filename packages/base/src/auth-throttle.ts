/**
 * Brute-force throttling of password checks (beam's AUTH / HELLO AUTH, beep's SASL exchanges): failures are counted per source address and per user name; past
 * `freeFailures` each further failure locks that address (or name) out for an exponentially growing time, during
 * which attempts are refused without checking the password. State is bounded (`maxEntries` per table, oldest
 * forgotten first) and decays (`forgetAfterMs` after the last failure).
 */
import { ConfigError } from './errors.js';

export interface AuthThrottleOptions {
  /** Failures allowed per address and per user before lockouts start. Default 5. */
  freeFailures?: number;
  /** The first lockout; each further failure doubles it. Default 1000 ms. */
  baseLockoutMs?: number;
  /** Longest lockout. Default 60000 ms. */
  maxLockoutMs?: number;
  /** Failures of an address or user are forgotten this long after its last one. Default 900000 (15 min). */
  forgetAfterMs?: number;
  /** Addresses (and, separately, user names) tracked; the least recently failed are dropped beyond. Default 10000. */
  maxEntries?: number;
  /** Clock (tests). */
  now?: () => number;
}

export const DEFAULT_AUTH_THROTTLE: Readonly<Required<Omit<AuthThrottleOptions, 'now'>>> = Object.freeze({
  freeFailures: 5,
  baseLockoutMs: 1000,
  maxLockoutMs: 60_000,
  forgetAfterMs: 900_000,
  maxEntries: 10_000,
});

interface Entry {
  failures: number;
  lockedUntil: number;
  last: number;
}

/** `::ffff:127.0.0.1` and `127.0.0.1` are one address. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export class AuthThrottle {
  private readonly o: Required<Omit<AuthThrottleOptions, 'now'>>;
  private readonly now: () => number;
  private readonly byAddress = new Map<string, Entry>();
  private readonly byUser = new Map<string, Entry>();

  /** `invalid` makes the error for a bad option (each package throws its own typed error). */
  constructor(options: AuthThrottleOptions = {}, invalid: (message: string) => Error = (m) => new ConfigError(`auth throttle ${m}`)) {
    const { now, ...rest } = options;
    this.o = { ...DEFAULT_AUTH_THROTTLE, ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) };
    for (const [k, v] of Object.entries(this.o)) {
      if (!Number.isSafeInteger(v) || v < (k === 'freeFailures' ? 0 : 1)) throw invalid(`${k} must be a positive integer, got ${v}`);
    }
    this.now = now ?? Date.now;
  }

  /** Milliseconds the address or the user is still locked out (0: the attempt may be checked). */
  retryAfter(address: string | undefined, user: string | undefined): number {
    const t = this.now();
    const a = address === undefined ? 0 : this.remaining(this.byAddress, normalizeAddress(address), t);
    const u = user === undefined ? 0 : this.remaining(this.byUser, user, t);
    return Math.max(a, u);
  }

  /** Records a failed attempt; returns the lockout it started (0 while failures are still free). */
  failure(address: string | undefined, user: string | undefined): number {
    const t = this.now();
    const a = address === undefined ? 0 : this.bump(this.byAddress, normalizeAddress(address), t);
    const u = user === undefined ? 0 : this.bump(this.byUser, user, t);
    return Math.max(a, u);
  }

  /** A successful login clears the user's failures (not the address's: one valid account must not unlock others). */
  success(user: string): void {
    this.byUser.delete(user);
  }

  /** Tracked entries (addresses + users), for tests and INFO-style reporting. */
  get size(): number {
    return this.byAddress.size + this.byUser.size;
  }

  private remaining(table: Map<string, Entry>, key: string, t: number): number {
    const e = table.get(key);
    if (e === undefined) return 0;
    if (t - e.last > this.o.forgetAfterMs) {
      table.delete(key);
      return 0;
    }
    return Math.max(0, e.lockedUntil - t);
  }

  private bump(table: Map<string, Entry>, key: string, t: number): number {
    let e = table.get(key);
    if (e !== undefined && t - e.last > this.o.forgetAfterMs) e = undefined;
    e ??= { failures: 0, lockedUntil: 0, last: t };
    e.failures++;
    e.last = t;
    const over = e.failures - this.o.freeFailures;
    const lock = over <= 0 ? 0 : Math.min(this.o.maxLockoutMs, this.o.baseLockoutMs * 2 ** Math.min(over - 1, 40));
    e.lockedUntil = Math.max(e.lockedUntil, t + lock);
    // Re-insert: Map order is then least recently failed first, which is what gets dropped.
    table.delete(key);
    table.set(key, e);
    if (table.size > this.o.maxEntries) table.delete(table.keys().next().value!);
    return lock;
  }
}
