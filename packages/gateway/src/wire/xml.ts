/**
 * The gateway's XML: @beamgate/beep's guarded one-pass `parseSafeXml` and its `XmlElement` type, used as they are
 * (no second element type). Beep's errors are re-thrown as GatewayXmlError (reply 501, the gateway's contract for
 * bad element content). Escaping is beep's; characters XML cannot carry become U+FFFD instead of producing a
 * document the peer must refuse. Pure: no I/O.
 */
import { BeepXmlError, escapeXmlAttr, escapeXmlText, parseSafeXml, type XmlElement } from '@beamgate/beep';
import { GatewayXmlError } from '../errors.js';

export type { XmlElement };

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

/** Parses exactly one root element (surrounding whitespace and comments allowed). */
export function parseXml(input: string | Buffer, limits: XmlLimits = {}): XmlElement {
  const maxBytes = limits.maxBytes ?? 65536;
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > maxBytes) throw new GatewayXmlError(`XML content is ${size} octets, limit ${maxBytes}`);
  try {
    return parseSafeXml(input, {
      maxBytes,
      maxDepth: limits.maxDepth ?? 16,
      maxElements: limits.maxElements ?? 10000,
      maxAttributes: limits.maxAttributes ?? 32,
    });
  } catch (cause) {
    if (cause instanceof BeepXmlError) throw new GatewayXmlError(cause.message, { cause });
    throw cause;
  }
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


/**
 * Serializes with single-quoted attributes, no whitespace between elements, `<x/>` for empty elements. An element's
 * text is written before its child elements: the gateway's elements hold either text or elements, never both.
 */
export function buildXml(e: XmlElement): string {
  let out = `<${e.name}`;
  for (const [k, v] of Object.entries(e.attrs)) out += ` ${k}='${escapeAttr(v)}'`;
  if (e.children.length === 0 && e.text === '') return out + '/>';
  out += '>' + escapeXml(e.text);
  for (const c of e.children) out += buildXml(c);
  return out + `</${e.name}>`;
}

/** Convenience constructor (attributes whose value is undefined are left out). */
export function el(name: string, attrs: Record<string, string | undefined> = {}, children: XmlElement[] = [], text = ''): XmlElement {
  const a: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) a[k] = v;
  return { name, attrs: a, children, text };
}

/** The text content of an element that must hold text only. */
export function textOf(e: XmlElement): string {
  const c = e.children[0];
  if (c) throw new GatewayXmlError(`<${e.name}> must contain text only, found <${c.name}>`);
  return e.text;
}

/** Throws unless every attribute of `e` is in `allowed`. */
export function checkAttributes(e: XmlElement, allowed: readonly string[]): void {
  for (const k of Object.keys(e.attrs)) {
    if (!allowed.includes(k)) throw new GatewayXmlError(`unknown attribute ${k} on <${e.name}>`);
  }
}
