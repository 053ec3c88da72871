import { BeamError } from '../errors.js';

export { BeamError };

/** An error reply from the server. `code` is the reply's first word: ERR, WRONGTYPE, NOAUTH, ... */
export class BeamReplyError extends BeamError {
  override name = 'BeamReplyError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    const m = /^([A-Z][A-Z0-9_-]*)(\s|$)/.exec(message);
    super(m ? m[1]! : 'ERR', message, options);
  }
}

/**
 * The connection failed, closed, or the server sent bytes that are not RESP. Codes: `BEAM_CONNECTION` (the socket
 * failed; the system error is the `cause`), `BEAM_CONNECT_TIMEOUT`, `BEAM_CLOSED`, `BEAM_NOT_CONNECTED`,
 * `BEAM_PROTOCOL`, `BEAM_SYNC_REFUSED`.
 */
export class BeamConnectionError extends BeamError {
  override name = 'BeamConnectionError';
  constructor(message: string, code = 'BEAM_CONNECTION', options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}
