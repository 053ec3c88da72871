import { BeamgateError } from '@beamgate/base';

/**
 * Typed errors of @beamgate/beep. Every error has a stable `code` (documented in docs/errors.md) and,
 * where the RFC defines one, the BEEP reply code it maps to (`replyCode`, RFC 3080 §8).
 */
export interface BeepErrorOptions {
  cause?: unknown;
  /** RFC 3080 §8 reply code, e.g. 500, 501, 550. */
  replyCode?: number;
}

export class BeepError extends BeamgateError {
  override name = 'BeepError';
  readonly replyCode: number | undefined;

  constructor(code: string, message: string, options: BeepErrorOptions = {}) {
    super(code, message, options.cause === undefined ? {} : { cause: options.cause });
    this.replyCode = options.replyCode;
  }
}

/** The peer sent something poorly formed: the session (or channel) is terminated with this as the reason. */
export class BeepProtocolError extends BeepError {
  override name = 'BeepProtocolError';
}

/** Channel-0 XML (or profile XML) that is not well-formed (500) or not valid (501). */
export class BeepXmlError extends BeepError {
  override name = 'BeepXmlError';
}

/** A negative reply from the peer: an `<error code='...'>` in an ERR, or a refused start/close. */
export class BeepReplyError extends BeepError {
  override name = 'BeepReplyError';
  readonly lang: string | undefined;
  constructor(replyCode: number, message: string, lang?: string, options: { cause?: unknown } = {}) {
    super('BEEP_PEER_ERROR', message, { ...options, replyCode });
    this.lang = lang;
  }
}

/** A local limit (frame size, message size, channels, outstanding messages) was exceeded. */
export class BeepLimitError extends BeepError {
  override name = 'BeepLimitError';
}

/** The session or channel closed (or was aborted) while an operation waited. */
export class BeepClosedError extends BeepError {
  override name = 'BeepClosedError';
}

/**
 * A programmer error: a caller passed a value the wire encoders cannot represent (a number out of range, a NUL
 * frame with a payload, a header value containing CRLF...). Code is `BEEP_INVALID_ARGUMENT` unless given.
 */
export class BeepUsageError extends BeepError {
  override name = 'BeepUsageError';
  constructor(message: string, code = 'BEEP_INVALID_ARGUMENT', options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/**
 * A SASL exchange failed or was refused (RFC 3080 §4.1). `replyCode` is the BEEP code sent (or received): 534, 535,
 * 537, 538, 454, 501... Codes: BEEP_SASL_AUTH_FAILED, BEEP_SASL_MALFORMED, BEEP_SASL_MECH_INSUFFICIENT,
 * BEEP_SASL_ENCRYPTION_REQUIRED, BEEP_SASL_NOT_AUTHORIZED, BEEP_SASL_ABORTED, BEEP_SASL_ALREADY_AUTHENTICATED,
 * BEEP_SASL_TOO_MANY_FAILURES, BEEP_SASL_SERVER_SIGNATURE, BEEP_SASL_BAD_STATE.
 */
export class BeepSaslError extends BeepError {
  override name = 'BeepSaslError';
}

/**
 * The TLS tuning profile or the handshake after `proceed` failed. Codes: BEEP_TLS_HANDSHAKE_TIMEOUT,
 * BEEP_TLS_HANDSHAKE_FAILED, BEEP_TLS_UNAUTHORIZED, BEEP_TLS_REFUSED, BEEP_TLS_BAD_STATE.
 */
export class BeepTlsError extends BeepError {
  override name = 'BeepTlsError';
}
