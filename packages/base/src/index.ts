/** @beamgate/base: what @beamgate/beep, @beamgate/beam and @beamgate/gateway share. Internal: no stability promise. */
export { BeamgateError, ConfigError } from './errors.js';
export { documentedErrorCodes, readErrorsDoc } from './error-codes.js';
export { generateSelfSigned, type ClientTlsOptions, type Pem, type SelfSignedCertificate, type SelfSignedOptions } from './tls.js';
