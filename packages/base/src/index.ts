/** @beamgate/base: what @beamgate/beep, @beamgate/beam and @beamgate/gateway share. Internal: no stability promise. */
export { BeamgateError, ConfigError } from './errors.js';
