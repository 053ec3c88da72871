/**
 * Transcript option `security` (sessions-tuning.json): ListenerSecurityOptions as JSON. `tls.selfSigned` uses the
 * run's shared test certificate (no key generation per vector).
 */
import { applyListenerSecurity } from '../../src/api/session-security.js';
import type { ListenerSecurityOptions } from '../../src/profiles/tuning/security-options.js';
import type { ProfileDefinition } from '../../src/session/types.js';
import { testCert } from './helpers.js';

export function securedTestProfiles(profiles: ProfileDefinition[], security: unknown): ProfileDefinition[] {
  const o = { ...(security as ListenerSecurityOptions) };
  if (o.tls !== undefined && 'selfSigned' in o.tls) o.tls = { key: testCert().key, cert: testCert().cert };
  // `sasl.fixedChallenge` {random, seconds}: the CRAM-MD5 challenge `<random.seconds@hostname>` of a captured run, so
  // that the captured client response verifies on replay.
  const fixed = (o.sasl as { fixedChallenge?: { random: string; seconds: number } } | undefined)?.fixedChallenge;
  if (o.sasl !== undefined && fixed !== undefined) {
    const random = Buffer.alloc(8);
    random.writeBigUInt64BE(BigInt(fixed.random));
    const { fixedChallenge: _drop, ...sasl } = o.sasl as typeof o.sasl & { fixedChallenge?: unknown };
    o.sasl = { ...sasl, env: { randomBytes: (n: number) => Buffer.alloc(n, random), now: () => fixed.seconds * 1000 } };
  }
  return applyListenerSecurity({ profiles, ...o }).options.profiles ?? [];
}
