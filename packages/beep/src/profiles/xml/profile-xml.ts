/**
 * The one-element XML documents the tuning profiles exchange (`<blob>`, `<ready>`, `<proceed>`, `<error>`), read
 * through the package's guarded XML front end (wire/xml parseSafeXml: no XML declaration, DOCTYPE, entities other
 * than the predefined five and character references, processing instructions; strict UTF-8; size-bounded).
 *
 * Errors: not well-formed -> BeepXmlError with replyCode 500; well-formed but not what the profile expects (other
 * element, child elements, unknown attribute, bad attribute value) -> replyCode 501.
 */
import { BeepXmlError } from '../../errors.js';
import { parseSafeXml, xmlInvalidError, xmlText, type XmlElement } from '../../wire/xml/safe-xml.js';
import { escapeXmlAttr } from '../../wire/xml/build.js';

export interface ParseProfileXmlOptions {
  /** Longest accepted document in octets (UTF-8). Default 16384. */
  maxLength?: number;
}

export const DEFAULT_PROFILE_XML_MAX_LENGTH = 16384;

export function invalid(message: string): BeepXmlError {
  return xmlInvalidError(message);
}

/**
 * Parse a document made of exactly one element without child elements. `expected` lists the element names the
 * caller accepts (anything else is 501). A document that is one CDATA section wrapping the element is unwrapped.
 */
export function parseProfileXml(
  input: string | Uint8Array,
  expected: readonly string[],
  options: ParseProfileXmlOptions = {},
): XmlElement {
  const maxBytes = options.maxLength ?? DEFAULT_PROFILE_XML_MAX_LENGTH;
  const raw = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const src = unwrapCdata(xmlText(raw, maxBytes));
  const el = parseSafeXml(src, {
    maxBytes,
    maxDepth: 2,
    maxElements: 2,
    allowedRoots: expected,
  });
  if (el.children.length > 0) throw invalid(`<${el.name}> must not contain child elements`);
  return el;
}

/** Check that only the listed attributes are present (501 otherwise). */
export function checkAttributes(el: XmlElement, allowed: readonly string[]): void {
  for (const key of Object.keys(el.attrs)) {
    if (!allowed.includes(key)) throw invalid(`attribute ${key} is not allowed on <${el.name}>`);
  }
}

export const escapeAttribute = escapeXmlAttr;

/**
 * If the whole content is a single CDATA section (how peers often piggyback `<ready/>` or `<blob>` inside
 * `<profile>`), return its inside; otherwise return the content unchanged. Lets callers accept both the decoded
 * profile text and the raw inner XML of the `<profile>` element.
 */
export function unwrapCdata(content: string): string {
  const trimmed = content.trim();
  if (trimmed.startsWith('<![CDATA[') && trimmed.endsWith(']]>')) {
    const inner = trimmed.slice(9, -3);
    if (!inner.includes(']]>')) return inner;
  }
  return content;
}
