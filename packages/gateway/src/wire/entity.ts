/**
 * The MIME entities the gateway sends and receives (docs/gateway.md §1, §2.2, §2.4): stream-tagged data with the
 * `Beam-Stream` header, and application/beep+xml control elements. Pure: no I/O.
 */
import { GatewayUsageError, GatewayXmlError } from '../errors.js';
import { BEEP_XML_CONTENT_TYPE } from './job-xml.js';

export const STREAM_HEADER = 'Beam-Stream';
const CRLF = Buffer.from('\r\n');
const DECIMAL = /^(0|[1-9][0-9]{0,9})$/;
const MAX_STREAM = 2147483647;

export interface Entity {
  /** Lower-cased header names. */
  headers: Map<string, string>;
  body: Buffer;
}

/** Precomputed prefixes for the common streams, so sending output does not format a header every time. */
const prefixCache = new Map<number, Buffer>();

export function streamPrefix(stream: number): Buffer {
  let p = prefixCache.get(stream);
  if (p) return p;
  if (!Number.isInteger(stream) || stream < 0 || stream > MAX_STREAM) throw new GatewayUsageError(`stream ${stream} out of range`);
  p = Buffer.from(`${STREAM_HEADER}: ${stream}\r\n\r\n`, 'latin1');
  if (stream < 16) prefixCache.set(stream, p);
  return p;
}

/** `Beam-Stream: N` CRLF CRLF data; empty data is the stream's close. */
export function encodeStreamData(stream: number, data: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([streamPrefix(stream), data]);
}

/**
 * Splits an output frame `N:data` (N canonical decimal, at most MAX_STREAM) into stream and data; data null closes
 * the stream; undefined for a malformed frame. Reads the digits in place: this runs once per output frame.
 */
export function parseOutputFrame(frame: Buffer): { stream: number; data: Buffer | null } | undefined {
  const colon = frame.indexOf(0x3a);
  if (colon < 1 || colon > 10 || (frame[0] === 0x30 && colon > 1)) return undefined;
  let n = 0;
  for (let i = 0; i < colon; i++) {
    const d = frame[i]! - 0x30;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  if (n > MAX_STREAM) return undefined;
  return { stream: n, data: colon + 1 === frame.length ? null : frame.subarray(colon + 1) };
}

const xmlPrefix = Buffer.from(`Content-Type: ${BEEP_XML_CONTENT_TYPE}\r\n\r\n`, 'latin1');

export function encodeXmlEntity(xml: string): Buffer {
  return Buffer.concat([xmlPrefix, Buffer.from(xml, 'utf8')]);
}

/** An entity with no headers: CRLF then the body. */
export function encodePlainEntity(body: Buffer, contentType?: string): Buffer {
  if (contentType === undefined) return Buffer.concat([CRLF, body]);
  if (/[\r\n]/.test(contentType)) throw new GatewayUsageError('Content-Type must not contain CR or LF');
  return Buffer.concat([Buffer.from(`Content-Type: ${contentType}\r\n\r\n`, 'latin1'), body]);
}

/**
 * Splits a payload into headers and body (RFC 2045 header lines, folding allowed). The header block is bounded
 * by `maxHeaderBytes` (default 4096); a payload that does not start with a header block is an error.
 */
export function parseEntity(payload: Buffer, maxHeaderBytes = 4096): Entity {
  const headers = new Map<string, string>();
  if (payload.length >= 2 && payload[0] === 0x0d && payload[1] === 0x0a) return { headers, body: payload.subarray(2) };
  const end = payload.indexOf('\r\n\r\n', 0, 'latin1');
  if (end < 0 || end > maxHeaderBytes) throw new GatewayXmlError('payload has no MIME header block (send CRLF before a body without headers)');
  const lines = payload.subarray(0, end).toString('latin1').split('\r\n');
  let last: string | undefined;
  for (const line of lines) {
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (last === undefined) throw new GatewayXmlError('MIME header block starts with a continuation line');
      headers.set(last, `${headers.get(last)!} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(line.slice(0, colon))) {
      throw new GatewayXmlError(`malformed MIME header line '${line.slice(0, 60)}'`);
    }
    last = line.slice(0, colon).toLowerCase();
    headers.set(last, line.slice(colon + 1).trim());
  }
  return { headers, body: payload.subarray(end + 4) };
}

/** The `Beam-Stream` value, or `undefined` when the header is absent. */
export function streamOf(headers: Map<string, string>): number | undefined {
  const v = headers.get(STREAM_HEADER.toLowerCase());
  if (v === undefined) return undefined;
  if (!DECIMAL.test(v) || Number(v) > MAX_STREAM) throw new GatewayXmlError(`bad ${STREAM_HEADER} value '${v}'`);
  return Number(v);
}

/** The media type without parameters, lower case; the MIME default when absent. */
export function contentTypeOf(headers: Map<string, string>): string {
  const v = headers.get('content-type');
  if (v === undefined) return 'application/octet-stream';
  return v.split(';')[0]!.trim().toLowerCase();
}

export function isXmlEntity(headers: Map<string, string>): boolean {
  return contentTypeOf(headers) === BEEP_XML_CONTENT_TYPE;
}

/** Rejects any transfer encoding other than binary (the gateway never decodes one). */
export function checkBinary(headers: Map<string, string>): void {
  const cte = headers.get('content-transfer-encoding');
  if (cte !== undefined && cte.toLowerCase() !== 'binary') {
    throw new GatewayXmlError(`Content-Transfer-Encoding ${cte} is not supported (use binary)`);
  }
}

/** What one ANS of a run reply (§2.2) or of an input reply (§2.4) means. */
export type StreamAnswer =
  | { kind: 'data'; stream: number; data: Buffer }
  | { kind: 'close'; stream: number }
  | { kind: 'control'; body: Buffer };

/** Classifies an ANS; `defaultStream` applies when the entity is not XML and carries no Beam-Stream header. */
export function classifyAnswer(entity: Entity, defaultStream?: number): StreamAnswer {
  let stream = streamOf(entity.headers);
  if (stream === undefined) {
    if (isXmlEntity(entity.headers) || defaultStream === undefined) return { kind: 'control', body: entity.body };
    stream = defaultStream;
  }
  checkBinary(entity.headers);
  return entity.body.length === 0 ? { kind: 'close', stream } : { kind: 'data', stream, data: entity.body };
}

/** An Entity from header pairs as another parser returned them (names in any case). */
export function entityFromPairs(headers: ReadonlyArray<readonly [string, string]>, body: Buffer): Entity {
  const map = new Map<string, string>();
  for (const [k, v] of headers) {
    const key = k.toLowerCase();
    if (!map.has(key)) map.set(key, v);
  }
  return { headers: map, body };
}
