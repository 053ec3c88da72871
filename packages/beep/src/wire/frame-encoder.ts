/**
 * Pure BEEP frame encoders (RFC 3080 §2.2.1, RFC 3081 §3.1). They validate their input and throw a
 * BeepUsageError (code BEEP_INVALID_ARGUMENT) for anything a conforming peer must not receive: numbers out of
 * range, an ansno on a non-ANS frame or none on an ANS frame, a NUL frame with `*` or a payload.
 * Numbers are written without leading zeros; ansno is limited to 0..2147483647 (the RFC ABNF).
 */
import { BeepUsageError } from '../errors.js';
import { MAX_31, MAX_32, type DataFrame, type DataFrameHeader, type SeqFrame } from './frame.js';

/** The frame trailer, `END\r\n`. */
export const FRAME_TRAILER: Buffer = Buffer.from('END\r\n', 'latin1');
const TRAILER_LENGTH = 5;

function checkNumber(field: string, value: unknown, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new BeepUsageError(`${field} must be an integer in 0..${max}, got ${String(value)}`);
  }
}

/** Validate a data frame header (as sent) and return its text, CRLF included. */
export function frameHeaderText(h: DataFrameHeader): string {
  const { type } = h;
  if (type !== 'MSG' && type !== 'RPY' && type !== 'ERR' && type !== 'ANS' && type !== 'NUL') {
    throw new BeepUsageError(`unknown frame type ${String(type)}`);
  }
  checkNumber('channel', h.channel, MAX_31);
  checkNumber('msgno', h.msgno, MAX_31);
  checkNumber('seqno', h.seqno, MAX_32);
  checkNumber('size', h.size, MAX_31);
  if (typeof h.more !== 'boolean') throw new BeepUsageError('more must be a boolean');
  const more = h.more ? '*' : '.';
  if (type === 'ANS') {
    checkNumber('ansno', h.ansno, MAX_31);
    return `ANS ${h.channel} ${h.msgno} ${more} ${h.seqno} ${h.size} ${h.ansno}\r\n`;
  }
  if (h.ansno !== undefined) throw new BeepUsageError(`ansno is only allowed on ANS frames, not ${type}`);
  if (type === 'NUL' && (h.more || h.size !== 0)) {
    throw new BeepUsageError('a NUL frame must have "." and an empty payload');
  }
  return `${type} ${h.channel} ${h.msgno} ${more} ${h.seqno} ${h.size}\r\n`;
}

function headerOf(frame: DataFrame): DataFrameHeader {
  if (!((frame.payload as unknown) instanceof Uint8Array)) {
    throw new BeepUsageError('payload must be a Buffer');
  }
  const h: DataFrameHeader = {
    type: frame.type,
    channel: frame.channel,
    msgno: frame.msgno,
    more: frame.more,
    seqno: frame.seqno,
    size: frame.payload.length,
  };
  if (frame.ansno !== undefined) h.ansno = frame.ansno;
  return h;
}

/** Encode only the header line of a data frame (the payload and `END\r\n` follow it). */
export function encodeFrameHeader(header: DataFrameHeader): Buffer {
  return Buffer.from(frameHeaderText(header), 'latin1');
}

/** Encode a SEQ frame: `SEQ channel ackno window\r\n`. */
export function encodeSeq(channel: number, ackno: number, window: number): Buffer {
  return Buffer.from(seqText(channel, ackno, window), 'latin1');
}

function seqText(channel: number, ackno: number, window: number): string {
  checkNumber('channel', channel, MAX_31);
  checkNumber('ackno', ackno, MAX_32);
  checkNumber('window', window, MAX_31);
  return `SEQ ${channel} ${ackno} ${window}\r\n`;
}

/** Number of octets `encodeFrame(frame)` produces (validates the frame). */
export function encodedFrameLength(frame: DataFrame | SeqFrame): number {
  if (frame.type === 'SEQ') return seqText(frame.channel, frame.ackno, frame.window).length;
  return frameHeaderText(headerOf(frame)).length + frame.payload.length + TRAILER_LENGTH;
}

/** Encode a frame (data or SEQ) into one new Buffer: header, payload and trailer in a single allocation. */
export function encodeFrame(frame: DataFrame | SeqFrame): Buffer {
  if (frame.type === 'SEQ') return encodeSeq(frame.channel, frame.ackno, frame.window);
  const header = frameHeaderText(headerOf(frame));
  const hlen = header.length;
  const plen = frame.payload.length;
  const out = Buffer.allocUnsafe(hlen + plen + TRAILER_LENGTH);
  out.write(header, 0, 'latin1');
  out.set(frame.payload, hlen);
  FRAME_TRAILER.copy(out, hlen + plen);
  return out;
}

/**
 * Write a frame into `target` at `offset` (for coalescing several frames into one write) and return the offset
 * just past it. Throws a RangeError-like BeepUsageError if it does not fit; use encodedFrameLength() to size.
 */
export function encodeFrameInto(frame: DataFrame | SeqFrame, target: Buffer, offset = 0): number {
  const header = frame.type === 'SEQ' ? seqText(frame.channel, frame.ackno, frame.window) : frameHeaderText(headerOf(frame));
  const plen = frame.type === 'SEQ' ? 0 : frame.payload.length;
  const total = header.length + (frame.type === 'SEQ' ? 0 : plen + TRAILER_LENGTH);
  if (!Number.isInteger(offset) || offset < 0 || offset + total > target.length) {
    throw new BeepUsageError(`frame of ${total} octets does not fit in the target at offset ${offset}`);
  }
  let o = offset + target.write(header, offset, 'latin1');
  if (frame.type !== 'SEQ') {
    target.set(frame.payload, o);
    o += plen;
    o += FRAME_TRAILER.copy(target, o);
  }
  return o;
}

/**
 * The three parts of a data frame without copying the payload: `[header, payload, FRAME_TRAILER]`, for a
 * writev/cork based transport sending large payloads.
 */
export function encodeFrameParts(frame: DataFrame): [Buffer, Buffer, Buffer] {
  const header = encodeFrameHeader(headerOf(frame));
  return [header, frame.payload, FRAME_TRAILER];
}
