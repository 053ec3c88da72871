/**
 * The root of every typed error the beamgate packages throw: a stable `code` (listed in docs/errors.md) and an
 * optional `cause`. Each protocol package derives its own base (BeepError, BeamError, GatewayError) from it.
 */
export class BeamgateError extends Error {
  override name = 'BeamgateError';
  readonly code: string;

  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}
