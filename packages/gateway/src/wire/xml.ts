/**
 * The gateway's XML view of application/beep+xml: parsing is @beamgate/beep's guarded `parseSafeXml` (no XML
 * declaration, DOCTYPE or processing instructions; only the five predefined entities and numeric character
 * references; comments and CDATA accepted), its errors re-thrown as GatewayXmlError (reply 501, the gateway's
 * contract for bad element content). Escaping is beep's; characters XML cannot carry become U+FFFD instead of
 * producing a document the peer must refuse. Pure: no I/O.
 */
import { BeepXmlError, escapeXmlAttr, escapeXmlText, parseSafeXml, type XmlElement as BeepXmlElement } from '@beamgate/beep';
import { GatewayXmlError } from '../errors.js';

export interface XmlElement {
  name: string;
  attrs: Map<string, string>;
  children: XmlNode[];
}

export type XmlNode = XmlElement | string;

export interface XmlLimits {
  /** Octets of input; default 65536. */
  maxBytes?: number;
  /** Element nesting; default 16. */
  maxDepth?: number;
  /** Total elements; default 10000. */
  maxElements?: number;
  /** Attributes per element; default 32. */
  maxAttributes?: number;
}

/**
 * Parses exactly one root element (surrounding whitespace and comments allowed). An element's character data
 * (text and CDATA, references decoded) comes first in `children`, then its child elements: the gateway's elements
 * hold either text or elements, never both, so interleaving is not kept.
 */
export function parseXml(input: string | Buffer, limits: XmlLimits = {}): XmlElement {
  const maxBytes = limits.maxBytes ?? 65536;
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > maxBytes) throw new GatewayXmlError(`XML content is ${size} octets, limit ${maxBytes}`);
  let root: BeepXmlElement;
  try {
    root = parseSafeXml(input, {
      maxBytes,
      maxDepth: limits.maxDepth ?? 16,
      maxElements: limits.maxElements ?? 10000,
    });
  } catch (cause) {
    if (cause instanceof BeepXmlError) throw new GatewayXmlError(cause.message, { cause });
    throw cause;
  }
  return fromBeep(root, limits.maxAttributes ?? 32);
}

function fromBeep(e: BeepXmlElement, maxAttributes: number): XmlElement {
  const names = Object.keys(e.attrs);
  if (names.length > maxAttributes) throw new GatewayXmlError(`more than ${maxAttributes} attributes on <${e.name}>`);
  const attrs = new Map<string, string>();
  for (const k of names) attrs.set(k, e.attrs[k]!);
  const children: XmlNode[] = e.text ? [e.text] : [];
  for (const c of e.children) children.push(fromBeep(c, maxAttributes));
  return { name: e.name, attrs, children };
}

// C0 controls other than TAB/LF/CR, U+FFFE/U+FFFF and lone surrogates cannot appear in XML at all.
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function xmlChars(text: string): string {
  return text.replace(NOT_XML, '\uFFFD');
}

/** Escapes character data (CR is escaped so that it survives line-end normalization). */
export function escapeXml(text: string): string {
  return escapeXmlText(xmlChars(text));
}

/** Escapes a single-quoted attribute value (tab, CR and LF survive attribute normalization). */
export function escapeAttr(text: string): string {
  return escapeXmlAttr(xmlChars(text));
}


/** Serializes with single-quoted attributes, no whitespace between elements, `<x/>` for empty elements. */
export function buildXml(el: XmlElement): string {
  let out = `<${el.name}`;
  for (const [k, v] of el.attrs) out += ` ${k}='${escapeAttr(v)}'`;
  if (el.children.length === 0) return out + '/>';
  out += '>';
  for (const c of el.children) out += typeof c === 'string' ? escapeXml(c) : buildXml(c);
  return out + `</${el.name}>`;
}

/** Convenience constructor. */
export function el(name: string, attrs: Record<string, string | undefined> = {}, children: XmlNode[] = []): XmlElement {
  const map = new Map<string, string>();
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) map.set(k, v);
  return { name, attrs: map, children };
}

/** The text content of an element that must hold text only. */
export function textOf(e: XmlElement): string {
  let s = '';
  for (const c of e.children) {
    if (typeof c !== 'string') throw new GatewayXmlError(`<${e.name}> must contain text only, found <${c.name}>`);
    s += c;
  }
  return s;
}

/** Throws unless every attribute of `e` is in `allowed`. */
export function checkAttributes(e: XmlElement, allowed: readonly string[]): void {
  for (const k of e.attrs.keys()) {
    if (!allowed.includes(k)) throw new GatewayXmlError(`unknown attribute ${k} on <${e.name}>`);
  }
}
