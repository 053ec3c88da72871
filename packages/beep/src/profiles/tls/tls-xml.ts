/**
 * The TLS profile's elements (RFC 3080 §3.1, §7.2):
 *
 *   <!ELEMENT ready EMPTY>  <!ATTLIST ready version CDATA "1">
 *   <!ELEMENT proceed EMPTY>
 *
 * plus `<error>` in place of `<proceed>`.
 */
import { checkAttributes, escapeAttribute, invalid, parseProfileXml } from '../xml/profile-xml.js';
import { errorFromElement } from '../xml/error-element.js';
import type { ProfileError } from '../xml/error-element.js';

export const TLS_PROFILE_URI = 'http://iana.org/beep/TLS';
/** The only `ready` version RFC 3080 defines. */
export const TLS_READY_VERSION = '1';

export type TlsReply = { kind: 'proceed' } | { kind: 'error'; error: ProfileError };

export function buildReady(version = TLS_READY_VERSION): string {
  return version === TLS_READY_VERSION ? '<ready />' : `<ready version='${escapeAttribute(version)}' />`;
}

export function buildProceed(): string {
  return '<proceed />';
}

/** Parse `<ready/>` (500 not well-formed; 501 other element, content or attribute). Returns the version. */
export function parseReady(input: string | Uint8Array): { version: string } {
  const el = parseProfileXml(input, ['ready'], { maxLength: 4096 });
  checkAttributes(el, ['version']);
  if (el.text.trim() !== '') throw invalid('<ready> must be empty');
  return { version: el.attrs['version'] ?? TLS_READY_VERSION };
}

/** Parse the listener's answer: `<proceed/>` or `<error>`. */
export function parseTlsReply(input: string | Uint8Array): TlsReply {
  const el = parseProfileXml(input, ['proceed', 'error'], { maxLength: 4096 });
  if (el.name === 'error') {
    checkAttributes(el, ['code', 'xml:lang']);
    return { kind: 'error', error: errorFromElement(el) };
  }
  checkAttributes(el, []);
  if (el.text.trim() !== '') throw invalid('<proceed> must be empty');
  return { kind: 'proceed' };
}
