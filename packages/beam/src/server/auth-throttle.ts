/** Brute-force throttling of AUTH / HELLO AUTH: @beamgate/base's AuthThrottle, with beam's option error. */
import { AuthThrottle as BaseAuthThrottle, type AuthThrottleOptions } from '@beamgate/base';
import { BeamOptionError } from '../errors.js';

export { DEFAULT_AUTH_THROTTLE, normalizeAddress, type AuthThrottleOptions } from '@beamgate/base';

export class AuthThrottle extends BaseAuthThrottle {
  constructor(options: AuthThrottleOptions = {}) {
    super(options, (m) => new BeamOptionError(`auth throttle ${m}`));
  }
}
