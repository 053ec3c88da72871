/** Brute-force throttling of SASL exchanges: @beamgate/base's AuthThrottle, with beep's option error. */
import { AuthThrottle, DEFAULT_AUTH_THROTTLE, type AuthThrottleOptions } from '@beamgate/base';
import { BeepUsageError } from '../../errors.js';

export type SaslThrottleOptions = AuthThrottleOptions;
export const DEFAULT_SASL_THROTTLE = DEFAULT_AUTH_THROTTLE;

export class SaslThrottle extends AuthThrottle {
  constructor(options: SaslThrottleOptions = {}) {
    super(options, (m) => new BeepUsageError(`SASL throttle ${m}`));
  }
}
