/** @beamgate/base: what @beamgate/beep, @beamgate/beam and @beamgate/gateway share. Internal: no stability promise. */
export { BeamgateError } from './errors.js';
export { TypedEventEmitter, type EventMap } from './typed-emitter.js';
