/**
 * Typed errors of @beamgate/gateway. Each has a stable `code` and the BEEP reply code (RFC 3080 §8) it is
 * reported with (docs/gateway.md §4).
 */
import { BeamgateError, ConfigError } from '@beamgate/base';

export const ReplyCode = {
  SUCCESS: 200,
  SERVICE_NOT_AVAILABLE: 421,
  LOCKED: 450,
  LOCAL_ERROR: 451,
  PARAMETER_SYNTAX: 501,
  AUTHENTICATION_REQUIRED: 530,
  NOT_AUTHORIZED: 537,
  NOT_TAKEN: 550,
  TRANSACTION_FAILED: 554,
} as const;

export interface GatewayErrorOptions {
  cause?: unknown;
  /** The message is internal (e.g. a context's error line): peers get a generic text (replyTextOf). */
  internal?: boolean;
}

export class GatewayError extends BeamgateError {
  override name = 'GatewayError';
  readonly replyCode: number;
  readonly internal: boolean;

  constructor(code: string, replyCode: number, message: string, options: GatewayErrorOptions = {}) {
    super(code, message, options.cause === undefined ? {} : { cause: options.cause });
    this.replyCode = replyCode;
    this.internal = options.internal === true;
  }
}

/** A programming error: an argument or option of the gateway's API that cannot be used (never sent; 451). */
export class GatewayUsageError extends GatewayError {
  override name = 'GatewayUsageError';
  constructor(message: string, options: GatewayErrorOptions = {}) {
    super('GATEWAY_BAD_ARGUMENT', ReplyCode.LOCAL_ERROR, message, options);
  }
}

/** Start content or a MSG element that is malformed, invalid or over a limit (501). */
export class GatewayXmlError extends GatewayError {
  override name = 'GatewayXmlError';
  constructor(message: string, options: GatewayErrorOptions = {}) {
    super('GATEWAY_BAD_XML', ReplyCode.PARAMETER_SYNTAX, message, options);
  }
}

/** A RESP body that cannot be decoded, or a RESP limit exceeded (501). */
export class GatewayRespError extends GatewayError {
  override name = 'GatewayRespError';
  constructor(message: string, options: GatewayErrorOptions = {}) {
    super('GATEWAY_BAD_RESP', ReplyCode.PARAMETER_SYNTAX, message, options);
  }
}

/** No job handler of that name (550), or no job with that id for `<attach>` (550). */
export class UnknownHandlerError extends GatewayError {
  override name = 'UnknownHandlerError';
  constructor(message: string, code = 'GATEWAY_UNKNOWN_HANDLER', options: GatewayErrorOptions = {}) {
    super(code, ReplyCode.NOT_TAKEN, message, options);
  }
}

/** The job is not allowed (537), or needs an authenticated session (530). */
export class NotAllowedError extends GatewayError {
  override name = 'NotAllowedError';
  constructor(message: string, authenticationRequired = false, options: GatewayErrorOptions = {}) {
    super(
      authenticationRequired ? 'GATEWAY_AUTH_REQUIRED' : 'GATEWAY_NOT_ALLOWED',
      authenticationRequired ? ReplyCode.AUTHENTICATION_REQUIRED : ReplyCode.NOT_AUTHORIZED,
      message,
      options,
    );
  }
}

/** The Beam context is unreachable or was lost, or the gateway is shutting down (421). */
export class ContextUnavailableError extends GatewayError {
  override name = 'ContextUnavailableError';
  constructor(message: string, options: GatewayErrorOptions = {}) {
    super('GATEWAY_CONTEXT_UNAVAILABLE', ReplyCode.SERVICE_NOT_AVAILABLE, message, options);
  }
}

/** The request does not fit the channel's state: second run, run without a job, job twice (554). */
export class ChannelStateError extends GatewayError {
  override name = 'ChannelStateError';
  constructor(message: string, options: GatewayErrorOptions = {}) {
    super('GATEWAY_BAD_STATE', ReplyCode.TRANSACTION_FAILED, message, options);
  }
}

/**
 * The context answered one of the gateway's job commands with an error reply that is a verdict on the request: a
 * job limit (`maxArgs`, `maxArgsBytes`, `maxEnvEntries`, `maxEnvBytes`, `maxJobs`), a start refused, a key of the
 * wrong type (554). The text carries the context's own error line.
 */
export class ContextRefusedError extends GatewayError {
  override name = 'ContextRefusedError';
  constructor(message: string, options: GatewayErrorOptions = {}) {
    super('GATEWAY_CONTEXT_REFUSED', ReplyCode.TRANSACTION_FAILED, message, options);
  }
}

/** A `beep://HOST:PORT` URL that cannot be parsed (501 if it ever reached a peer; the `beep` handler exits 2). */
export class BeepUrlError extends GatewayError {
  override name = 'BeepUrlError';
  constructor(message: string, options: GatewayErrorOptions = {}) {
    super('GATEWAY_BAD_URL', ReplyCode.PARAMETER_SYNTAX, message, options);
  }
}

/**
 * A listener of the gateway (BEEP, the embedded context's RESP port, metrics) could not be opened, or the
 * embedded context could not be set up (never sent; `beamgate serve` exits 1).
 */
export class GatewayStartError extends GatewayError {
  override name = 'GatewayStartError';
  constructor(message: string, options: GatewayErrorOptions = {}) {
    super('GATEWAY_START_FAILED', ReplyCode.LOCAL_ERROR, message, options);
  }
}

/** The job is already attached to another channel (450). */
export class JobBusyError extends GatewayError {
  override name = 'JobBusyError';
  constructor(message: string, options: GatewayErrorOptions = {}) {
    super('GATEWAY_JOB_BUSY', ReplyCode.LOCKED, message, options);
  }
}

/** A session or identity already holds its quota of jobs (maxJobsPerSession, maxJobsPerIdentity) (450). */
export class JobQuotaError extends GatewayError {
  override name = 'JobQuotaError';
  constructor(message: string, options: GatewayErrorOptions = {}) {
    super('GATEWAY_JOB_QUOTA', ReplyCode.LOCKED, message, options);
  }
}

/** Configuration or command-line errors (never sent over BEEP): the one ConfigError of @beamgate/base. */
export { ConfigError };

/**
 * An error reply from the context to one of the gateway's own commands (`message` is the whole line, e.g.
 * `ERR job 3 was already started`). Internal: reported as 451 `internal gateway error` unless converted
 * (backend/refusal.ts).
 */
export class BeamCommandError extends GatewayError {
  override name = 'BeamCommandError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('GATEWAY_BEAM_ERROR', ReplyCode.LOCAL_ERROR, message, { ...options, internal: true });
  }
}

/** A negative reply received from a BEEP peer by the gateway's clients (GatewayClient, the `beep` handler). */
export class PeerReplyError extends GatewayError {
  override name = 'PeerReplyError';
  constructor(replyCode: number, message: string, options: GatewayErrorOptions = {}) {
    super('GATEWAY_PEER_ERROR', replyCode, message, options);
  }
}

/**
 * The reply code to report for any thrown value: typed errors carry theirs, anything with a numeric
 * `replyCode` in 400..599 (e.g. the BEEP library's errors) keeps it, everything else is a local error (451).
 */
export function replyCodeOf(err: unknown): number {
  if (err instanceof GatewayError) return err.replyCode;
  const rc = (err as { replyCode?: unknown } | null)?.replyCode;
  if (typeof rc === 'number' && Number.isInteger(rc) && rc >= 400 && rc <= 599) return rc;
  return ReplyCode.LOCAL_ERROR;
}

/** Human text for an `<error>` element: the message for typed errors, a generic text otherwise (no internals leak). */
export function replyTextOf(err: unknown): string {
  if ((err instanceof GatewayError && !err.internal) || err instanceof ConfigError) return err.message;
  return 'internal gateway error';
}
