/**
 * Incremental, sans-IO BEEP frame parser (RFC 3080 §2.2.1, RFC 3081 §3.1 SEQ).
 *
 * Feed it arbitrary chunks with `push()`; every complete frame in a chunk is delivered through `onFrame`
 * before `push()` returns. Policies (see test-vectors/README.md for the vectors that pin them down):
 * - numbers are 1 to 10 ASCII digits; leading zeros are accepted (`007` is 7) as long as the value is in range;
 * - ansno is accepted up to 4294967295 (the RFC prose) although the ABNF says 2147483647; encoders only emit
 *   values up to 2147483647;
 * - a NUL frame must have `.`; its size must be 0, except that a payload of exactly CRLF (size 2, as Vortex sends)
 *   is accepted unless `strict` is set;
 * - the header line (CRLF included) is at most `maxHeaderLength` octets and a data frame's size is checked against
 *   `maxFrameSize` (and then `onHeader`) before any payload octet is buffered.
 *
 * Payloads that sit inside one pushed chunk are returned as `subarray`s of it (no copy): callers must not reuse or
 * mutate a Buffer after pushing it. A payload spread over several chunks is concatenated once, when complete.
 */
import { BeepProtocolError, BeepUsageError } from '../errors.js';
import { MAX_31, MAX_32, type DataFrame, type DataFrameHeader, type DataKeyword, type Frame } from './frame.js';

export interface FrameParserOptions {
  /** Called for every complete frame, in order. */
  onFrame: (frame: Frame) => void;
  /**
   * Called once a data frame's header is parsed and before any of its payload is buffered. Throwing here (for
   * example a BeepProtocolError for a window or seqno violation) propagates out of `push()` and kills the parser.
   */
  onHeader?: (header: DataFrameHeader) => void;
  /** Maximum header line length in octets, CRLF included. Default 100 (the longest legal header is 62). */
  maxHeaderLength?: number;
  /** Maximum payload size of one frame in octets, checked from the header. Default 1 MiB (1048576). */
  maxFrameSize?: number;
  /** Reject the Vortex-style NUL frame whose payload is exactly CRLF. Default false. */
  strict?: boolean;
}

export const DEFAULT_MAX_HEADER_LENGTH = 100;
export const DEFAULT_MAX_FRAME_SIZE = 1024 * 1024;
/** The longest header a conforming peer can send: `ANS` with every number at its maximum width. */
export const LONGEST_LEGAL_HEADER = 62;

const SP = 0x20;
const CR = 0x0d;
const LF = 0x0a;
const EMPTY = Buffer.alloc(0);

const enum State {
  Header,
  Payload,
  Trailer,
  Dead,
  Detached,
}

// Keywords packed as (b0 << 16) | (b1 << 8) | b2.
const KW_MSG = 0x4d5347;
const KW_RPY = 0x525059;
const KW_ERR = 0x455252;
const KW_ANS = 0x414e53;
const KW_NUL = 0x4e554c;
const KW_SEQ = 0x534551;
const TRAILER = [0x45, 0x4e, 0x44, CR, LF]; // "END\r\n"

function protocolError(code: string, message: string, replyCode: number | undefined = 500): BeepProtocolError {
  return new BeepProtocolError(code, message, replyCode === undefined ? {} : { replyCode });
}

export class FrameParser {
  private readonly onFrame: (frame: Frame) => void;
  private readonly onHeader: ((header: DataFrameHeader) => void) | undefined;
  readonly maxHeaderLength: number;
  readonly maxFrameSize: number;
  readonly strict: boolean;

  private state = State.Header;
  private failure: unknown;
  private inPush = false;
  private offset = 0; // stream offset of the start of the current chunk
  private chunk: Buffer = EMPTY;
  private pos = 0; // position in `chunk` of the first unconsumed octet, valid while emitting
  private detachedRest: Buffer | undefined;

  // Partial header line (only used when a header spans chunks).
  private readonly hbuf: Buffer;
  private hlen = 0;
  private p = 0; // scan position inside the header being parsed

  // Current data frame.
  private type: DataKeyword = 'MSG';
  private channel = 0;
  private msgno = 0;
  private more = false;
  private seqno = 0;
  private size = 0;
  private ansno = 0;
  private pieces: Buffer[] = [];
  private got = 0;
  private trailerIdx = 0;

  constructor(options: FrameParserOptions) {
    if (typeof options?.onFrame !== 'function') throw new BeepUsageError('FrameParser needs an onFrame callback');
    this.onFrame = options.onFrame;
    this.onHeader = options.onHeader;
    this.maxHeaderLength = checkLimit('maxHeaderLength', options.maxHeaderLength, DEFAULT_MAX_HEADER_LENGTH, 8);
    this.maxFrameSize = checkLimit('maxFrameSize', options.maxFrameSize, DEFAULT_MAX_FRAME_SIZE, 0);
    this.strict = options.strict ?? false;
    this.hbuf = Buffer.allocUnsafe(this.maxHeaderLength);
  }

  /** True when no partial frame is buffered (a clean place for the stream to end). */
  get atFrameBoundary(): boolean {
    return this.state === State.Header && this.hlen === 0;
  }

  /** Octets held for an incomplete header or payload. */
  get bufferedBytes(): number {
    return this.state === State.Header ? this.hlen : this.state === State.Dead ? 0 : this.got;
  }

  /** Total octets consumed so far (the stream offset of the next unparsed octet). */
  get bytesConsumed(): number {
    return this.offset + (this.inPush ? this.pos : 0);
  }

  /** True once a push failed; every later call throws. */
  get failed(): boolean {
    return this.state === State.Dead;
  }

  /** Parse a chunk. Throws a BeepProtocolError on bad input (the parser is dead afterwards). */
  push(chunk: Buffer): void {
    if (this.inPush) throw new BeepUsageError('FrameParser.push() called from one of its own callbacks');
    this.assertUsable();
    const len = chunk.length;
    if (len === 0) return;
    this.inPush = true;
    this.chunk = chunk;
    let pos = 0;
    try {
      while (pos < len) {
        const state = this.state;
        if (state === State.Header) {
          pos = this.readHeader(chunk, pos, len);
        } else if (state === State.Payload) {
          const size = this.size;
          if (this.got === 0 && len - pos >= size + 5) {
            // Fast path: payload and trailer are all in this chunk.
            const t = pos + size;
            if (chunk[t] !== 0x45 || chunk[t + 1] !== 0x4e || chunk[t + 2] !== 0x44 || chunk[t + 3] !== CR || chunk[t + 4] !== LF) {
              let i = 0;
              while (chunk[t + i] === TRAILER[i]) i++;
              this.pos = t + i;
              throw this.trailerError();
            }
            pos = t + 5;
            this.pos = pos;
            this.emitData(size === 0 ? EMPTY : chunk.subarray(t - size, t));
          } else {
            const need = size - this.got;
            const avail = len - pos;
            if (avail >= need) {
              if (need > 0) this.pieces.push(chunk.subarray(pos, pos + need));
              pos += need;
              this.got = size;
              this.state = State.Trailer;
              this.trailerIdx = 0;
            } else {
              this.pieces.push(pos === 0 ? chunk : chunk.subarray(pos));
              this.got += avail;
              pos = len;
            }
          }
        } else if (state === State.Trailer) {
          let i = this.trailerIdx;
          while (i < 5 && pos < len) {
            if (chunk[pos] !== TRAILER[i]) {
              this.pos = pos;
              throw this.trailerError();
            }
            pos++;
            i++;
          }
          this.trailerIdx = i;
          if (i === 5) {
            const pieces = this.pieces;
            const payload =
              this.size === 0 ? EMPTY : pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces, this.size);
            this.pieces = [];
            this.got = 0;
            this.pos = pos;
            this.emitData(payload);
          }
        } else {
          break; // detached from inside onFrame
        }
      }
    } catch (err) {
      if (this.state !== State.Detached) {
        this.state = State.Dead;
        this.failure = err;
        this.pieces = [];
      }
      throw err;
    } finally {
      this.inPush = false;
      this.offset += len;
      this.chunk = EMPTY;
    }
  }

  /**
   * Signal the end of the input stream. Throws BEEP_TRUNCATED if it stopped inside a frame.
   */
  end(): void {
    this.assertUsable();
    if (!this.atFrameBoundary) {
      const err = protocolError('BEEP_TRUNCATED', `input ended inside a frame (${this.bufferedBytes} octets pending)`, undefined);
      this.state = State.Dead;
      this.failure = err;
      throw err;
    }
  }

  /**
   * Stop parsing and hand back every octet not yet consumed (for example the start of a TLS handshake right after
   * the `<proceed/>` frame). Call it from `onFrame` or between pushes; it throws if a frame is half read. Later
   * pushes throw.
   */
  detach(): Buffer {
    if (this.state === State.Detached) return EMPTY;
    this.assertUsable();
    if (this.state !== State.Header) throw new BeepUsageError('FrameParser.detach() called inside a frame');
    const pending = this.hlen > 0 ? Buffer.from(this.hbuf.subarray(0, this.hlen)) : EMPTY;
    const rest = this.inPush ? this.chunk.subarray(this.pos) : EMPTY;
    this.state = State.Detached;
    this.hlen = 0;
    this.detachedRest = pending.length === 0 ? rest : rest.length === 0 ? pending : Buffer.concat([pending, rest]);
    return this.detachedRest;
  }

  private assertUsable(): void {
    if (this.state === State.Dead) {
      throw new BeepProtocolError('BEEP_PARSER_FAILED', 'the frame parser already failed', {
        cause: this.failure,
        replyCode: 500,
      });
    }
    if (this.state === State.Detached) throw new BeepUsageError('the frame parser was detached', 'BEEP_PARSER_DETACHED');
  }

  private trailerError(): BeepProtocolError {
    return protocolError(
      'BEEP_BAD_TRAILER',
      `expected END CRLF after the ${this.size}-octet payload of ${this.type} ${this.channel} ${this.msgno} at offset ${this.offset + this.pos}`,
    );
  }

  /** Consume header octets from chunk[pos..]; returns the new position. */
  private readHeader(chunk: Buffer, pos: number, len: number): number {
    const max = this.maxHeaderLength;
    const hlen = this.hlen;
    const lf = chunk.indexOf(LF, pos);
    if (hlen === 0) {
      if (lf !== -1 && lf - pos < max) {
        this.pos = lf + 1;
        this.parseHeader(chunk, pos, lf);
        return lf + 1;
      }
      if (lf === -1 && len - pos < max) {
        chunk.copy(this.hbuf, 0, pos, len);
        this.hlen = len - pos;
        return len;
      }
    } else {
      if (lf !== -1 && hlen + (lf - pos) < max) {
        chunk.copy(this.hbuf, hlen, pos, lf + 1);
        const end = hlen + (lf - pos);
        this.hlen = 0;
        this.pos = lf + 1;
        this.parseHeader(this.hbuf, 0, end);
        return lf + 1;
      }
      if (lf === -1 && hlen + (len - pos) < max) {
        chunk.copy(this.hbuf, hlen, pos, len);
        this.hlen = hlen + (len - pos);
        return len;
      }
    }
    this.pos = pos;
    throw protocolError('BEEP_HEADER_TOO_LONG', `frame header longer than ${max} octets at offset ${this.offset + pos - hlen}`);
  }

  private syntax(what: string): BeepProtocolError {
    return protocolError('BEEP_HEADER_SYNTAX', `bad frame header: ${what}`);
  }

  /** Read a decimal number starting at this.p, ending at SP or `end`. */
  private num(buf: Buffer, end: number, max: number, field: string): number {
    let p = this.p;
    const start = p;
    let v = 0;
    while (p < end) {
      const c = buf[p] as number;
      if (c === SP) break;
      if (c < 0x30 || c > 0x39) {
        throw this.syntax(c === CR ? 'CR inside the header' : `non-digit octet 0x${c.toString(16).padStart(2, '0')} in ${field}`);
      }
      v = v * 10 + (c - 0x30);
      p++;
      if (p - start > 10) throw protocolError('BEEP_NUMBER_RANGE', `${field} has more than 10 digits`);
    }
    if (p === start) throw this.syntax(`empty ${field} (extra or trailing space)`);
    if (v > max) throw protocolError('BEEP_NUMBER_RANGE', `${field} ${v} is out of range 0..${max}`);
    this.p = p;
    return v;
  }

  /** Expect a single SP before the next field. */
  private sep(end: number, kw: string, count: number): void {
    if (this.p >= end) {
      throw protocolError('BEEP_PARAM_COUNT', `${kw} header needs ${count} parameters`);
    }
    this.p++; // num() stops only at SP or end, so this is SP
  }

  /** After the last parameter: an extra token is a count error, a stray SP a syntax error. */
  private last(buf: Buffer, end: number, kw: string, count: number): void {
    const p = this.p;
    if (p === end) return;
    if (p + 1 === end || buf[p + 1] === SP) throw this.syntax('extra space at the end of the header');
    throw protocolError('BEEP_PARAM_COUNT', `${kw} header has more than ${count} parameters`);
  }

  /** Parse the header line buf[s..lf] (lf is the index of its LF). */
  private parseHeader(buf: Buffer, s: number, lf: number): void {
    if (lf === s || buf[lf - 1] !== CR) throw this.syntax('header line must end with CRLF (bare LF)');
    const end = lf - 1;
    if (end === s) throw this.syntax('empty header line');
    const b0 = buf[s] as number;
    const b1 = buf[s + 1] as number;
    const b2 = buf[s + 2] as number;
    const kw = end - s >= 3 ? (b0 << 16) | (b1 << 8) | b2 : -1;
    let type: DataKeyword;
    switch (kw) {
      case KW_MSG: type = 'MSG'; break;
      case KW_RPY: type = 'RPY'; break;
      case KW_ERR: type = 'ERR'; break;
      case KW_ANS: type = 'ANS'; break;
      case KW_NUL: type = 'NUL'; break;
      case KW_SEQ: {
        this.p = s + 3;
        this.sep(end, 'SEQ', 3);
        this.keywordSeparator(buf, s);
        const channel = this.num(buf, end, MAX_31, 'channel');
        this.sep(end, 'SEQ', 3);
        const ackno = this.num(buf, end, MAX_32, 'ackno');
        this.sep(end, 'SEQ', 3);
        const window = this.num(buf, end, MAX_31, 'window');
        this.last(buf, end, 'SEQ', 3);
        this.onFrame({ type: 'SEQ', channel, ackno, window });
        return;
      }
      default:
        throw protocolError('BEEP_BAD_KEYWORD', `unknown frame keyword ${JSON.stringify(buf.toString('latin1', s, Math.min(end, s + 8)))}`);
    }
    const count = type === 'ANS' ? 6 : 5;
    this.p = s + 3;
    this.sep(end, type, count);
    this.keywordSeparator(buf, s);
    const channel = this.num(buf, end, MAX_31, 'channel');
    this.sep(end, type, count);
    const msgno = this.num(buf, end, MAX_31, 'msgno');
    this.sep(end, type, count);
    // more: exactly "." or "*"
    let p = this.p;
    if (p >= end) throw protocolError('BEEP_PARAM_COUNT', `${type} header needs ${count} parameters`);
    const m = buf[p];
    if (m !== 0x2e && m !== 0x2a) throw protocolError('BEEP_BAD_MORE', 'the continuation indicator must be "." or "*"');
    p++;
    if (p < end && buf[p] !== SP) throw protocolError('BEEP_BAD_MORE', 'the continuation indicator must be "." or "*"');
    this.p = p;
    this.sep(end, type, count);
    const seqno = this.num(buf, end, MAX_32, 'seqno');
    this.sep(end, type, count);
    const size = this.num(buf, end, MAX_31, 'size');
    let ansno = 0;
    if (type === 'ANS') {
      this.sep(end, type, count);
      ansno = this.num(buf, end, MAX_32, 'ansno');
    }
    this.last(buf, end, type, count);
    const more = m === 0x2a;

    if (type === 'NUL') {
      if (more) throw protocolError('BEEP_NUL_MORE', 'a NUL frame must use "." (RFC 3080 §2.2.1.1)');
      if (size !== 0 && (size !== 2 || this.strict)) {
        throw protocolError('BEEP_NUL_PAYLOAD', `a NUL frame must have size 0 (got ${size})`);
      }
    }
    if (size > this.maxFrameSize) {
      throw protocolError('BEEP_FRAME_TOO_LARGE', `frame size ${size} exceeds the limit of ${this.maxFrameSize} octets`, undefined);
    }
    this.type = type;
    this.channel = channel;
    this.msgno = msgno;
    this.more = more;
    this.seqno = seqno;
    this.size = size;
    this.ansno = ansno;
    this.got = 0;
    this.state = State.Payload;
    if (this.onHeader !== undefined) {
      const header: DataFrameHeader =
        type === 'ANS'
          ? { type, channel, msgno, more, seqno, size, ansno }
          : { type, channel, msgno, more, seqno, size };
      this.onHeader(header);
    }
  }

  private keywordSeparator(buf: Buffer, s: number): void {
    if (buf[s + 3] !== SP) throw this.syntax('the keyword must be followed by a single SP');
  }

  private emitData(payload: Buffer): void {
    const type = this.type;
    this.state = State.Header;
    if (type === 'NUL' && payload.length !== 0 && (payload[0] !== CR || payload[1] !== LF)) {
      throw protocolError('BEEP_NUL_PAYLOAD', 'a NUL frame payload must be empty (or exactly CRLF when not strict)');
    }
    const frame: DataFrame =
      type === 'ANS'
        ? { type, channel: this.channel, msgno: this.msgno, more: this.more, seqno: this.seqno, ansno: this.ansno, payload }
        : { type, channel: this.channel, msgno: this.msgno, more: this.more, seqno: this.seqno, payload };
    this.onFrame(frame);
  }
}

function checkLimit(name: string, value: number | undefined, dflt: number, min: number): number {
  if (value === undefined) return dflt;
  if (!Number.isSafeInteger(value) || value < min) throw new BeepUsageError(`${name} must be an integer >= ${min}`);
  return value;
}

/** Parse a complete buffer in one go (tests, tools): every frame, or a BeepProtocolError (BEEP_TRUNCATED if cut). */
export function decodeFrames(input: Buffer, options: Omit<FrameParserOptions, 'onFrame'> = {}): Frame[] {
  const frames: Frame[] = [];
  const parser = new FrameParser({ ...options, onFrame: (f) => frames.push(f) });
  parser.push(input);
  parser.end();
  return frames;
}
