import { BeamgateError } from '@beamgate/base';

/**
 * The base of every error @beamgate/beam throws across its public API: a stable `code` (docs/errors.md) and an
 * optional `cause`. Error replies of a server are BeamReplyError, whose code is the reply's first word.
 */
export class BeamError extends BeamgateError {
  override name = 'BeamError';
}

/** Bad options or arguments given to a beam API (code `BEAM_BAD_OPTION`, or the more specific one passed). */
export class BeamOptionError extends BeamError {
  override name = 'BeamOptionError';
  constructor(message: string, code = 'BEAM_BAD_OPTION', options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}
