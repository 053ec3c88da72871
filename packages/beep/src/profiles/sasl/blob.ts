/**
 * The SASL profiles' `<blob>` element (RFC 3080 §4.1, §7.3):
 *
 *   <!ELEMENT blob (#PCDATA)>   base64 data
 *   <!ATTLIST blob xml:space (default|preserve) "preserve"
 *                  status    (abort|complete|continue) "continue">
 */
import { checkAttributes, escapeAttribute, invalid, parseProfileXml } from '../xml/profile-xml.js';
import type { ParseProfileXmlOptions } from '../xml/profile-xml.js';
import { errorFromElement } from '../xml/error-element.js';
import type { ProfileError } from '../xml/error-element.js';
import type { XmlElement } from '../../wire/xml/safe-xml.js';

export type BlobStatus = 'abort' | 'complete' | 'continue';

export interface SaslBlob {
  status: BlobStatus;
  data: Buffer;
}

export type SaslContent = { kind: 'blob'; blob: SaslBlob } | { kind: 'error'; error: ProfileError };

const STATUSES: readonly BlobStatus[] = ['abort', 'complete', 'continue'];

/**
 * Strict base64: white space (the PCDATA may be folded) is dropped, then the text must be canonical base64 with
 * padding (re-encoding gives the same text, so stray bits in the last character are refused too).
 */
export function decodeBase64Strict(text: string): Buffer {
  const compact = text.replace(/[ \t\r\n]+/g, '');
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) {
    throw invalid('blob content is not valid base64');
  }
  const data = Buffer.from(compact, 'base64');
  if (data.toString('base64') !== compact) throw invalid('blob content is not canonical base64');
  return data;
}

export function buildBlob(blob: { status?: BlobStatus; data?: Uint8Array }): string {
  const status = blob.status ?? 'continue';
  const attr = status === 'continue' ? '' : ` status='${escapeAttribute(status)}'`;
  const data = blob.data === undefined ? '' : Buffer.from(blob.data).toString('base64');
  return data === '' ? `<blob${attr} />` : `<blob${attr}>${data}</blob>`;
}

function blobFromElement(el: XmlElement): SaslBlob {
  const status = el.attrs['status'] ?? 'continue';
  if (!(STATUSES as readonly string[]).includes(status)) throw invalid(`blob status '${status}' is not valid`);
  const space = el.attrs['xml:space'];
  if (space !== undefined && space !== 'default' && space !== 'preserve') {
    throw invalid(`xml:space '${space}' is not valid`);
  }
  return { status: status as BlobStatus, data: decodeBase64Strict(el.text) };
}

/** Parse a `<blob>` document (500 not well-formed, 501 bad status / xml:space / base64 / attribute). */
export function parseBlob(input: string | Uint8Array, options: ParseProfileXmlOptions = {}): SaslBlob {
  const el = parseProfileXml(input, ['blob'], options);
  checkAttributes(el, ['status', 'xml:space']);
  return blobFromElement(el);
}

/** Parse what a SASL server may send: a `<blob>` or an `<error>`. */
export function parseSaslContent(input: string | Uint8Array, options: ParseProfileXmlOptions = {}): SaslContent {
  const el = parseProfileXml(input, ['blob', 'error'], options);
  if (el.name === 'error') {
    checkAttributes(el, ['code', 'xml:lang']);
    return { kind: 'error', error: errorFromElement(el) };
  }
  checkAttributes(el, ['status', 'xml:space']);
  return { kind: 'blob', blob: blobFromElement(el) };
}
