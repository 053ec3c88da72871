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
  return applyListenerSecurity({ profiles, ...o }).options.profiles ?? [];
}
