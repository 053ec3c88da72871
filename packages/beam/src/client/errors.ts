/** An error reply from the server. `code` is the reply's first word: ERR, WRONGTYPE, NOAUTH, ... */
export class BeamError extends Error {
  override readonly name = 'BeamError';
  readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    const m = /^([A-Z][A-Z0-9_-]*)(\s|$)/.exec(message);
    this.code = m ? m[1]! : 'ERR';
  }
}

/** The connection failed, closed, or the server sent bytes that are not RESP. */
export class BeamConnectionError extends Error {
  override readonly name = 'BeamConnectionError';
  readonly code: string;
  constructor(message: string, code = 'BEAM_CONNECTION', options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
