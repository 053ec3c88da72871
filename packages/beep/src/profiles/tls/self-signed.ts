/** A self-signed server certificate for development and tests: the one of @beamgate/base (also used by beam). */
export { generateSelfSigned, type SelfSignedCertificate, type SelfSignedOptions } from '@beamgate/base';
