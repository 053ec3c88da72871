/**
 * SASL brute-force protection for a listener: one SaslThrottle shared by every session, consulted per source
 * address before an exchange starts and per user name as soon as a mechanism looks the user up. Every failure is
 * reported (debuglog `beamgate:sasl`, diagnostics_channel AUTH_FAILURE_CHANNEL, the listener's onAuthFailure).
 */
import diagnostics_channel from 'node:diagnostics_channel';
import { debuglog } from 'node:util';
import type { BeepSaslError, BeepXmlError } from '../../errors.js';
import type { SaslCredentialStore } from '../sasl/credentials.js';
import { saslFailure, type SaslIdentity, type SaslMechanismName } from '../sasl/mechanism.js';
import type { SaslGuard } from '../sasl/profile-server.js';
import { SaslThrottle } from '../sasl/throttle.js';

const log = debuglog('beamgate:sasl');

/** diagnostics_channel on which every failed or refused SASL exchange is published as a SaslAuthFailure. */
export const AUTH_FAILURE_CHANNEL = 'beamgate:beep:auth-failure';
const failures = diagnostics_channel.channel(AUTH_FAILURE_CHANNEL);

const THROTTLED = 'BEEP_SASL_THROTTLED';

export interface SaslAuthFailure {
  /** The peer's IP address, or `unknown` (unix sockets, other streams). */
  address: string;
  /** The user name the client tried, when the mechanism got that far. */
  user: string | undefined;
  mechanism: SaslMechanismName;
  /** 'failed' (bad credentials or exchange), or 'locked' (refused unchecked by the throttle). */
  reason: 'failed' | 'locked';
  /** The reply code sent (535, 454, ...). */
  code: number;
  /** Lockout now in force for this address or user, in ms (0: none). */
  lockoutMs: number;
}

function lockedOut(ms: number): BeepSaslError {
  return saslFailure(THROTTLED, `too many failed authentication attempts from this address or for this user; retry in ${Math.ceil(ms / 1000)} s`, 454);
}

/** A session's guard and the credential store that reports (and checks) the user name each exchange tries. */
export function sessionSaslGuard(
  throttle: SaslThrottle | undefined,
  address: string | undefined,
  credentials: SaslCredentialStore,
  onFailure: ((f: SaslAuthFailure) => void) | undefined,
): { guard: SaslGuard; credentials: SaslCredentialStore } {
  let user: string | undefined;
  const where = address ?? 'unknown';
  const report = (f: SaslAuthFailure): void => {
    log('SASL %s from %s as %s: %s (%d), lockout %d ms', f.mechanism, f.address, f.user ?? '?', f.reason, f.code, f.lockoutMs);
    if (failures.hasSubscribers) failures.publish(f);
    onFailure?.(f);
  };
  const seen = (name: string): void => {
    user = name;
    const wait = throttle?.retryAfter(address, name) ?? 0;
    if (wait > 0) throw lockedOut(wait);
  };
  const store: SaslCredentialStore = {};
  if (credentials.verifyPlain) store.verifyPlain = (a, p, z) => (seen(a), credentials.verifyPlain!(a, p, z));
  if (credentials.getPassword) store.getPassword = (u) => (seen(u), credentials.getPassword!(u));
  if (credentials.getScramCredentials) store.getScramCredentials = (u) => (seen(u), credentials.getScramCredentials!(u));
  if (credentials.authorize) store.authorize = (a, z) => credentials.authorize!(a, z);
  const guard: SaslGuard = {
    refuse(mechanism: SaslMechanismName) {
      user = undefined;
      const wait = throttle?.retryAfter(address, undefined) ?? 0;
      if (wait <= 0) return undefined;
      report({ address: where, user: undefined, mechanism, reason: 'locked', code: 454, lockoutMs: wait });
      return lockedOut(wait);
    },
    failed(mechanism: SaslMechanismName, error: BeepSaslError | BeepXmlError) {
      const code = error.replyCode ?? 535;
      if (error.code === THROTTLED) {
        report({ address: where, user, mechanism, reason: 'locked', code, lockoutMs: throttle?.retryAfter(address, user) ?? 0 });
        return;
      }
      const lockoutMs = throttle?.failure(address, user) ?? 0;
      report({ address: where, user, mechanism, reason: 'failed', code, lockoutMs });
    },
    succeeded(identity: SaslIdentity) {
      throttle?.success(identity.authcid);
    },
  };
  return { guard, credentials: store };
}
