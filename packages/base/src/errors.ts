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

/**
 * A configuration value that cannot be used: a bad flag, environment variable or file entry (the gateway's
 * `loadConfig`, the CLIs) or a CONFIG SET refused by a Beam server's `ServerConfig`. One class for both, shared by
 * @beamgate/beam and @beamgate/gateway. Codes: `CONFIG_INVALID` (default), `CONFIG_UNKNOWN` (no such parameter),
 * `CONFIG_IMMUTABLE` (a parameter fixed at start).
 */
export class ConfigError extends BeamgateError {
  override name = 'ConfigError';

  constructor(message: string, options: { code?: 'CONFIG_INVALID' | 'CONFIG_UNKNOWN' | 'CONFIG_IMMUTABLE'; cause?: unknown } = {}) {
    super(options.code ?? 'CONFIG_INVALID', message, options.cause === undefined ? {} : { cause: options.cause });
  }
}
