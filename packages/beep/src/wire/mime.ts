/**
 * MIME entities carried in BEEP payloads (RFC 3080 §2.2.1.2): an RFC 822-style header block, an empty line, then
 * the body. A payload starting with CRLF has no headers. Defaults: `Content-Type: application/octet-stream`,
 * `Content-Transfer-Encoding: binary`.
 *
 * Lenient mode (the default) also accepts:
 * - an empty payload (no entity at all): no headers, empty body;
 * - a payload that does not start with a well-formed header block ended by an empty line within
 *   `maxHeaderBytes`: the whole payload is the body and the defaults apply.
 * Strict mode throws a BeepProtocolError (BEEP_MIME_SYNTAX, or BEEP_MIME_HEADER_TOO_LONG) instead; an empty
 * payload is accepted in both modes.
 */
import { BeepProtocolError, BeepUsageError } from '../errors.js';

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
export const DEFAULT_TRANSFER_ENCODING = 'binary';
export const BEEP_XML_CONTENT_TYPE = 'application/beep+xml';
export const DEFAULT_MAX_MIME_HEADER_BYTES = 4096;

export interface MimeEntity {
  /** Header fields in order, names as sent, values unfolded and trimmed. Use getHeader() for lookups. */
  headers: Array<[string, string]>;
  /** The Content-Type value as sent (parameters included), or the default. */
  contentType: string;
  /** Lower-case `type/subtype` of contentType, without parameters. */
  mediaType: string;
  /** Lower-case Content-Transfer-Encoding, or `binary`. */
  transferEncoding: string;
  /** The body: a subarray of the payload (no copy). */
  body: Buffer;
}

export interface ParseEntityOptions {
  /** Throw on a payload that is not a MIME entity instead of taking it whole as the body. Default false. */
  strict?: boolean;
  /** Bound on the header block (the octets before the body). Default 4096. */
  maxHeaderBytes?: number;
}

const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;

function mimeError(code: string, message: string): BeepProtocolError {
  return new BeepProtocolError(code, message, { replyCode: 500 });
}

/** Case-insensitive lookup of the first header with this name. */
export function getHeader(entity: Pick<MimeEntity, 'headers'>, name: string): string | undefined {
  const want = name.toLowerCase();
  for (const [n, v] of entity.headers) if (n.toLowerCase() === want) return v;
  return undefined;
}

function entityOf(headers: Array<[string, string]>, body: Buffer): MimeEntity {
  const ct = getHeader({ headers }, 'content-type');
  const cte = getHeader({ headers }, 'content-transfer-encoding');
  const contentType = ct === undefined || ct === '' ? DEFAULT_CONTENT_TYPE : ct;
  const semi = contentType.indexOf(';');
  const mediaType = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  const transferEncoding = cte === undefined || cte === '' ? DEFAULT_TRANSFER_ENCODING : cte.toLowerCase();
  return { headers, contentType, mediaType, transferEncoding, body };
}

/**
 * Parse the header block; returns the headers and the body offset, or a string describing why the payload is not
 * an entity.
 */
function parseHeaderBlock(payload: Buffer, max: number): { headers: Array<[string, string]>; bodyStart: number } | string {
  const headers: Array<[string, string]> = [];
  const len = payload.length;
  let pos = 0;
  for (;;) {
    if (pos > max) return 'header block too long';
    if (pos + 1 < len && payload[pos] === CR && payload[pos + 1] === LF) {
      return { headers, bodyStart: pos + 2 };
    }
    const lf = payload.indexOf(LF, pos);
    if (lf === -1 || lf + 1 > max) return lf === -1 && len <= max ? 'header block not terminated by an empty line' : 'header block too long';
    if (lf === pos || payload[lf - 1] !== CR) return 'header line not ended by CRLF';
    const lineEnd = lf - 1;
    const first = payload[pos] as number;
    if (first === 0x20 || first === 0x09) {
      // Folded continuation of the previous field.
      const prev = headers[headers.length - 1];
      if (prev === undefined) return 'continuation line without a header field';
      const more = payload.toString('latin1', pos, lineEnd).trim();
      prev[1] = prev[1] === '' ? more : `${prev[1]} ${more}`;
      pos = lf + 1;
      continue;
    }
    const colon = payload.indexOf(COLON, pos);
    if (colon === -1 || colon > lineEnd || colon === pos) return 'header line without a field name and colon';
    for (let i = pos; i < colon; i++) {
      const c = payload[i] as number;
      if (c <= 0x20 || c >= 0x7f) return 'invalid character in a header field name';
    }
    for (let i = colon + 1; i < lineEnd; i++) {
      const c = payload[i] as number;
      if (c === 0 || c === CR) return 'invalid character in a header field value';
    }
    headers.push([payload.toString('latin1', pos, colon), payload.toString('utf8', colon + 1, lineEnd).trim()]);
    pos = lf + 1;
  }
}

/** Parse a payload as a MIME entity (see the module comment for lenient and strict behaviour). */
export function parseEntity(payload: Buffer, options: ParseEntityOptions = {}): MimeEntity {
  const max = options.maxHeaderBytes ?? DEFAULT_MAX_MIME_HEADER_BYTES;
  if (payload.length === 0) return entityOf([], payload);
  const r = parseHeaderBlock(payload, max);
  if (typeof r === 'string') {
    if (options.strict) {
      throw mimeError(r === 'header block too long' ? 'BEEP_MIME_HEADER_TOO_LONG' : 'BEEP_MIME_SYNTAX', `bad MIME entity: ${r}`);
    }
    return entityOf([], payload);
  }
  return entityOf(r.headers, payload.subarray(r.bodyStart));
}

export type EntityHeaders =
  | Array<[string, string]>
  | Record<string, string | undefined>
  | { contentType?: string; transferEncoding?: string };

function checkField(name: string, value: string): void {
  if (!/^[!-9;-~]+$/.test(name)) throw new BeepUsageError(`invalid MIME header name ${JSON.stringify(name)}`);
  if (/[\r\n\0]/.test(value)) throw new BeepUsageError(`MIME header ${name} must not contain CR, LF or NUL`);
}

function headerList(headers: EntityHeaders | undefined): Array<[string, string]> {
  if (headers === undefined) return [];
  if (Array.isArray(headers)) return headers;
  const list: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    const name = k === 'contentType' ? 'Content-Type' : k === 'transferEncoding' ? 'Content-Transfer-Encoding' : k;
    list.push([name, v]);
  }
  return list;
}

/**
 * Build a MIME entity: the header fields, CRLF, then the body. With no headers it is just CRLF + body (which
 * parses back with the defaults).
 */
export function buildEntity(body: Buffer | string, headers?: EntityHeaders): Buffer {
  let head = '';
  for (const [name, value] of headerList(headers)) {
    checkField(name, value);
    head += `${name}: ${value}\r\n`;
  }
  head += '\r\n';
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const hlen = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(hlen + b.length);
  out.write(head, 0, 'utf8');
  out.set(b, hlen);
  return out;
}

/** A channel-0 (or profile) XML entity: `Content-Type: application/beep+xml`, CRLF, the UTF-8 XML text. */
export function buildXmlEntity(xml: string): Buffer {
  return buildEntity(xml, [['Content-Type', BEEP_XML_CONTENT_TYPE]]);
}
