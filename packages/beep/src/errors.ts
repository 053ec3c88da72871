/**
 * Typed errors of @beamgate/beep. Every error has a stable `code` (documented in docs/errors.md) and,
 * where the RFC defines one, the BEEP reply code it maps to (`replyCode`, RFC 3080 §8).
 */
export interface BeepErrorOptions {
  cause?: unknown;
  /** RFC 3080 §8 reply code, e.g. 500, 501, 550. */
  replyCode?: number;
}

export class BeepError extends Error {
  override name = 'BeepError';
  readonly code: string;
  readonly replyCode: number | undefined;

  constructor(code: string, message: string, options: BeepErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
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
