/**
 * MIME entity handling of message payloads (RFC 3080 §2.2.1.2) for the session's hot path: build the header block
 * of outgoing messages (received ones are split by the wire layer's lenient parseEntity).
 */
import type { EntityOptions, Payload } from './payload.js';
import { BeepUsageError } from '../errors.js';

export const CRLF = Buffer.from('\r\n', 'latin1');
const EMPTY = Buffer.alloc(0);

export function toBuffer(p: Payload): Buffer {
  if (typeof p === 'string') return Buffer.from(p, 'utf8');
  if (Buffer.isBuffer(p)) return p;
  return Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

function checkHeaderText(s: string, what: string): void {
  if (/[\r\n]/.test(s)) throw new BeepUsageError(`${what} must not contain CR or LF`);
}

/** Bodies at least this large are sent by reference after their header block instead of being copied behind it. */
const NO_COPY_MIN = 8192;

/**
 * The wire payload in two parts, header block and body, for large bodies (no copy: the caller must not modify the
 * Buffer until it is sent); small ones come joined in `body` with an empty `head`.
 */
export function buildPayloadParts(body: Payload | undefined, opts?: EntityOptions): { head: Buffer; body: Buffer } {
  if (body === undefined || typeof body === 'string' || body.byteLength < NO_COPY_MIN || opts?.raw === true) {
    return { head: EMPTY, body: buildPayload(body, opts) };
  }
  const head = opts === undefined ? CRLF : buildPayload(undefined, opts);
  return { head, body: toBuffer(body) };
}

/** Build the wire payload: header block (CRLF alone when there are no headers) followed by the body. */
export function buildPayload(body: Payload | undefined, opts?: EntityOptions): Buffer {
  const b = body === undefined ? EMPTY : toBuffer(body);
  if (opts === undefined) {
    if (typeof body === 'string') return Buffer.from('\r\n' + body, 'utf8');
    return b.length === 0 ? CRLF : Buffer.concat([CRLF, b], b.length + 2);
  }
  if (opts.raw === true) return b;
  let head = '';
  if (opts.contentType !== undefined) {
    checkHeaderText(opts.contentType, 'contentType');
    head += `Content-Type: ${opts.contentType}\r\n`;
  }
  if (opts.headers !== undefined) {
    for (const [k, v] of Object.entries(opts.headers)) {
      if (!/^[!-9;-~]+$/.test(k)) throw new BeepUsageError(`bad MIME header name ${JSON.stringify(k)}`);
      checkHeaderText(v, `header ${k}`);
      head += `${k}: ${v}\r\n`;
    }
  }
  const h = Buffer.from(head + '\r\n', 'latin1');
  return b.length === 0 ? h : Buffer.concat([h, b], h.length + b.length);
}
