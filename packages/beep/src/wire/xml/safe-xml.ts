/**
 * A guarded XML front end for application/beep+xml (RFC 3080 §2.2.1.2, §6.4), the small XML bodies of the TLS and
 * SASL profiles and the gateway's job XML. One linear pass over the decoded text both checks and builds the element
 * tree; it refuses, with a BeepXmlError (replyCode 500): input over `maxBytes`, invalid UTF-8, DOCTYPE / ENTITY
 * declarations and every other `<!` construct except comments and CDATA, the XML declaration and processing
 * instructions, entity references other than the five predefined ones and numeric character references, characters
 * XML forbids, more than one root element, text outside the root, nesting deeper than `maxDepth`, more than
 * `maxElements` elements or `maxAttributes` attributes on one element, and mismatched or unclosed tags.
 * (No third-party parser: see docs/architecture.md, "XML".)
 */
import { BeepXmlError } from '../../errors.js';

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's own character data (text and CDATA, in document order), references decoded. */
  text: string;
}

export interface SafeXmlOptions {
  /** Maximum input size in octets (UTF-8). Default 4096. */
  maxBytes?: number;
  /** Maximum element nesting depth (the root is depth 1). Default 16. */
  maxDepth?: number;
  /** Maximum number of elements. Default 1024. */
  maxElements?: number;
  /** Maximum number of attributes on one element. Default 32. */
  maxAttributes?: number;
  /** If given, the root element's name must be one of these (else BEEP_XML_INVALID, 501). */
  allowedRoots?: readonly string[];
}

export const DEFAULT_SAFE_XML_MAX_BYTES = 4096;
export const DEFAULT_XML_MAX_DEPTH = 16;
export const DEFAULT_XML_MAX_ELEMENTS = 1024;
export const DEFAULT_XML_MAX_ATTRIBUTES = 32;

export function xmlSyntaxError(code: string, message: string): BeepXmlError {
  return new BeepXmlError(code, message, { replyCode: 500 });
}

export function xmlInvalidError(message: string, code = 'BEEP_XML_INVALID'): BeepXmlError {
  return new BeepXmlError(code, message, { replyCode: 501 });
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
// XML 1.0 Char excludes C0 controls other than TAB, LF, CR; U+FFFE/U+FFFF; and unpaired surrogates.
const BAD_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const NAME_START = /[A-Za-z_:\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD]/;
const NAME_CHAR = /[-.0-9\u00B7\u0300-\u036F\u203F-\u2040]/;
const RESERVED_NAMES = new Set(['__proto__', 'constructor', 'prototype']);
const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', apos: "'", quot: '"' };

// ASCII fast paths; the regular expressions decide only outside ASCII.
function isNameStart(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  if (c < 0x80) return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a;
  return NAME_START.test(s[i] as string);
}
function isNameChar(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  if (c < 0x80) {
    return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x3a || c === 0x2d || c === 0x2e;
  }
  return NAME_START.test(s[i] as string) || NAME_CHAR.test(s[i] as string);
}
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}
function validCodePoint(cp: number): boolean {
  return (
    cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/** Decode the five predefined entities and numeric character references (input already validated). */
export function decodeXmlReferences(s: string): string {
  if (s.indexOf('&') === -1) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|apos|quot);/g, (_m, ref: string) => {
    if (ref.charCodeAt(0) === 0x23) {
      const cp = ref.charCodeAt(1) === 0x78 ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return String.fromCodePoint(cp);
    }
    return PREDEFINED[ref] as string;
  });
}

/** Decode a Buffer as strict UTF-8 (a leading BOM is dropped), or check the size of a string. */
export function xmlText(input: string | Buffer, maxBytes: number): string {
  const bytes = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (bytes > maxBytes) throw xmlSyntaxError('BEEP_XML_TOO_LARGE', `XML of ${bytes} octets exceeds the limit of ${maxBytes}`);
  if (typeof input === 'string') return input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  try {
    return utf8.decode(input);
  } catch (err) {
    throw new BeepXmlError('BEEP_XML_ENCODING', 'XML is not valid UTF-8', { replyCode: 500, cause: err });
  }
}

/** Check one `&...;` reference at s[i] (s[i] === '&'); returns the index after it. */
function scanReference(s: string, i: number): number {
  const semi = s.indexOf(';', i + 1);
  if (semi === -1 || semi - i > 12) throw xmlSyntaxError('BEEP_XML_ENTITY', `bare "&" at offset ${i}`);
  const ref = s.slice(i + 1, semi);
  if (ref.charCodeAt(0) === 0x23) {
    const hex = ref.charCodeAt(1) === 0x78;
    const digits = hex ? ref.slice(2) : ref.slice(1);
    if (!(hex ? /^[0-9a-fA-F]{1,6}$/ : /^[0-9]{1,7}$/).test(digits)) {
      throw xmlSyntaxError('BEEP_XML_ENTITY', `bad character reference &${ref};`);
    }
    if (!validCodePoint(parseInt(digits, hex ? 16 : 10))) {
      throw xmlSyntaxError('BEEP_XML_ENTITY', `character reference &${ref}; is not an XML character`);
    }
  } else if (!Object.hasOwn(PREDEFINED, ref)) {
    throw xmlSyntaxError('BEEP_XML_ENTITY', `entity reference &${ref}; is not allowed (only the five predefined ones)`);
  }
  return semi + 1;
}

function scanName(s: string, i: number, what: string): number {
  const start = i;
  if (i >= s.length || !isNameStart(s, i)) throw xmlSyntaxError('BEEP_XML_SYNTAX', `bad ${what} name at offset ${i}`);
  i++;
  while (i < s.length && isNameChar(s, i)) i++;
  if (RESERVED_NAMES.has(s.slice(start, i))) {
    throw xmlSyntaxError('BEEP_XML_FORBIDDEN', `reserved ${what} name ${s.slice(start, i)}`);
  }
  return i;
}

/** The limits of one parse (see SafeXmlOptions). */
export interface XmlLimits {
  maxDepth: number;
  maxElements: number;
  maxAttributes: number;
}

/** End-of-line handling (XML 1.0 §2.11): CR LF and a lone CR read as LF; `&#13;` still yields a CR. */
function eol(s: string): string {
  return s.indexOf('\r') === -1 ? s : s.replace(/\r\n?/g, '\n');
}

function depthError(maxDepth: number): BeepXmlError {
  return xmlSyntaxError('BEEP_XML_TOO_DEEP', `elements nested deeper than ${maxDepth}`);
}

/**
 * The one pass: checks well-formedness and the guards and builds the tree. Throws BeepXmlError (500) on anything
 * not well-formed, forbidden or over a limit.
 */
export function parseXmlText(s: string, limits: XmlLimits): XmlElement {
  if (BAD_CHAR.test(s)) throw xmlSyntaxError('BEEP_XML_SYNTAX', 'XML contains a character that XML 1.0 forbids');
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let elements = 0;
  const len = s.length;
  let i = 0;
  let textStart = -1; // start of the pending character data of the open element, -1 when none
  while (i < len) {
    const c = s.charCodeAt(i);
    if (c === 0x3c /* < */) {
      const top = stack[stack.length - 1];
      if (textStart !== -1 && top) top.text += decodeXmlReferences(eol(s.slice(textStart, i)));
      textStart = -1;
      const n = s.charCodeAt(i + 1);
      if (n === 0x3f /* ? */) {
        throw xmlSyntaxError('BEEP_XML_FORBIDDEN', s.startsWith('<?xml', i) ? 'XML declarations are not allowed' : 'processing instructions are not allowed');
      }
      if (n === 0x21 /* ! */) {
        if (s.startsWith('<!--', i)) {
          const end = s.indexOf('--', i + 4);
          if (end === -1 || s.charCodeAt(end + 2) !== 0x3e) throw xmlSyntaxError('BEEP_XML_SYNTAX', 'bad or unterminated comment');
          i = end + 3;
        } else if (s.startsWith('<![CDATA[', i)) {
          if (!top) throw xmlSyntaxError('BEEP_XML_SYNTAX', 'CDATA outside the root element');
          const end = s.indexOf(']]>', i + 9);
          if (end === -1) throw xmlSyntaxError('BEEP_XML_SYNTAX', 'unterminated CDATA section');
          top.text += eol(s.slice(i + 9, end));
          i = end + 3;
        } else {
          const what = s.startsWith('<!DOCTYPE', i) ? 'DOCTYPE' : s.startsWith('<!ENTITY', i) ? 'ENTITY declarations' : 'markup declarations';
          throw xmlSyntaxError('BEEP_XML_FORBIDDEN', `${what} are not allowed in application/beep+xml`);
        }
        if (stack.length > 0) textStart = i;
        continue;
      }
      if (n === 0x2f /* / */) {
        const nameEnd = scanName(s, i + 2, 'element');
        const name = s.slice(i + 2, nameEnd);
        let j = nameEnd;
        while (j < len && isSpace(s.charCodeAt(j))) j++;
        if (s.charCodeAt(j) !== 0x3e) throw xmlSyntaxError('BEEP_XML_SYNTAX', `bad end tag </${name}`);
        const open = stack.pop();
        if (open?.name !== name) throw xmlSyntaxError('BEEP_XML_SYNTAX', `end tag </${name}> does not match <${open?.name ?? ''}>`);
        i = j + 1;
        if (stack.length > 0) textStart = i;
        continue;
      }
      // Start tag.
      const nameEnd = scanName(s, i + 1, 'element');
      const el: XmlElement = { name: s.slice(i + 1, nameEnd), attrs: {}, children: [], text: '' };
      if (top) top.children.push(el);
      else if (root !== undefined) throw xmlSyntaxError('BEEP_XML_MULTIPLE_ROOTS', 'more than one root element');
      else root = el;
      if (++elements > limits.maxElements) throw xmlSyntaxError('BEEP_XML_TOO_LARGE', `more than ${limits.maxElements} elements`);
      i = scanAttributes(s, nameEnd, el, limits.maxAttributes);
      if (s.charCodeAt(i - 2) === 0x2f /* "/>" */) {
        if (stack.length + 1 > limits.maxDepth) throw depthError(limits.maxDepth);
      } else {
        stack.push(el);
        if (stack.length > limits.maxDepth) throw depthError(limits.maxDepth);
      }
      if (stack.length > 0) textStart = i;
      continue;
    }
    if (c === 0x26 /* & */) {
      if (stack.length === 0) throw xmlSyntaxError('BEEP_XML_SYNTAX', 'text outside the root element');
      i = scanReference(s, i);
      continue;
    }
    if (stack.length === 0 && !isSpace(c)) throw xmlSyntaxError('BEEP_XML_SYNTAX', 'text outside the root element');
    if (c === 0x5d /* ] */ && s.startsWith(']]>', i)) throw xmlSyntaxError('BEEP_XML_SYNTAX', '"]]>" in character data');
    i++;
  }
  if (root === undefined) throw xmlSyntaxError('BEEP_XML_SYNTAX', 'no root element');
  if (stack.length > 0) throw xmlSyntaxError('BEEP_XML_SYNTAX', `unclosed element <${stack[stack.length - 1]?.name ?? ''}>`);
  return root;
}

/** Reads the attributes of a start tag from just after its name; returns the index after its `>` or `/>`. */
function scanAttributes(s: string, j: number, el: XmlElement, maxAttributes: number): number {
  const len = s.length;
  const name = el.name;
  let count = 0;
  for (;;) {
    const ws = j;
    while (j < len && isSpace(s.charCodeAt(j))) j++;
    const d = s.charCodeAt(j);
    if (d === 0x3e /* > */) return j + 1;
    if (d === 0x2f /* / */) {
      if (s.charCodeAt(j + 1) !== 0x3e) throw xmlSyntaxError('BEEP_XML_SYNTAX', `bad empty-element tag <${name}`);
      return j + 2;
    }
    if (j >= len) throw xmlSyntaxError('BEEP_XML_SYNTAX', `unterminated start tag <${name}`);
    if (j === ws) throw xmlSyntaxError('BEEP_XML_SYNTAX', `attributes of <${name}> must be separated by white space`);
    const attrEnd = scanName(s, j, 'attribute');
    const attr = s.slice(j, attrEnd);
    if (Object.hasOwn(el.attrs, attr)) throw xmlSyntaxError('BEEP_XML_SYNTAX', `attribute ${attr} repeated on <${name}>`);
    if (++count > maxAttributes) throw xmlSyntaxError('BEEP_XML_TOO_LARGE', `more than ${maxAttributes} attributes on <${name}>`);
    j = attrEnd;
    while (j < len && isSpace(s.charCodeAt(j))) j++;
    if (s.charCodeAt(j) !== 0x3d /* = */) throw xmlSyntaxError('BEEP_XML_SYNTAX', `attribute ${attr} of <${name}> has no value`);
    j++;
    while (j < len && isSpace(s.charCodeAt(j))) j++;
    const q = s.charCodeAt(j);
    if (q !== 0x22 && q !== 0x27) throw xmlSyntaxError('BEEP_XML_SYNTAX', `attribute ${attr} of <${name}> is not quoted`);
    const valueStart = ++j;
    for (;;) {
      if (j >= len) throw xmlSyntaxError('BEEP_XML_SYNTAX', `unterminated attribute ${attr}`);
      const e = s.charCodeAt(j);
      if (e === q) break;
      if (e === 0x3c) throw xmlSyntaxError('BEEP_XML_SYNTAX', `"<" in the value of attribute ${attr}`);
      j = e === 0x26 ? scanReference(s, j) : j + 1;
    }
    // Attribute-value normalization (XML 1.0 §3.3.3): literal white space becomes a space; references come after.
    const raw = s.slice(valueStart, j);
    el.attrs[attr] = decodeXmlReferences(/[\t\n\r]/.test(raw) ? eol(raw).replace(/[\t\n]/g, ' ') : raw);
    j++;
  }
}

/** The limits from options, with their defaults. */
export function xmlLimits(options: Omit<SafeXmlOptions, 'maxBytes' | 'allowedRoots'>): XmlLimits {
  return {
    maxDepth: options.maxDepth ?? DEFAULT_XML_MAX_DEPTH,
    maxElements: options.maxElements ?? DEFAULT_XML_MAX_ELEMENTS,
    maxAttributes: options.maxAttributes ?? DEFAULT_XML_MAX_ATTRIBUTES,
  };
}

/**
 * Parse a small XML document safely (see the module comment) and return its element tree. Reused by the TLS and
 * SASL profiles for `<ready/>`, `<proceed/>`, `<blob/>` and by the gateway for `<job>` content.
 */
export function parseSafeXml(input: string | Buffer, options: SafeXmlOptions = {}): XmlElement {
  const root = parseXmlText(xmlText(input, options.maxBytes ?? DEFAULT_SAFE_XML_MAX_BYTES), xmlLimits(options));
  if (options.allowedRoots && !options.allowedRoots.includes(root.name)) {
    throw xmlInvalidError(`unexpected root element <${root.name}> (expected ${options.allowedRoots.map((r) => `<${r}>`).join(', ')})`);
  }
  return root;
}
