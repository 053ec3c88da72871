/**
 * A guarded XML front end for application/beep+xml (RFC 3080 §2.2.1.2, §6.4) and the small XML bodies of the
 * TLS and SASL profiles. Our own linear lexical scan runs first and refuses, with a BeepXmlError (replyCode 500):
 * input over `maxBytes`, invalid UTF-8, DOCTYPE / ENTITY declarations and every other `<!` construct except
 * comments and CDATA, the XML declaration and processing instructions, entity references other than the five
 * predefined ones and numeric character references, characters XML forbids, more than one root element, text
 * outside the root, nesting deeper than `maxDepth`, and mismatched or unclosed tags. Only then does fast-xml-parser
 * build the tree (entities off; references are decoded here, CDATA is kept verbatim).
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
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
  /** If given, the root element's name must be one of these (else BEEP_XML_INVALID, 501). */
  allowedRoots?: readonly string[];
}

export const DEFAULT_SAFE_XML_MAX_BYTES = 4096;
export const DEFAULT_XML_MAX_DEPTH = 16;
export const DEFAULT_XML_MAX_ELEMENTS = 1024;

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

function isNameStart(ch: string): boolean {
  return NAME_START.test(ch);
}
function isNameChar(ch: string): boolean {
  return NAME_START.test(ch) || NAME_CHAR.test(ch);
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
  if (i >= s.length || !isNameStart(s[i] as string)) throw xmlSyntaxError('BEEP_XML_SYNTAX', `bad ${what} name at offset ${i}`);
  i++;
  while (i < s.length && isNameChar(s[i] as string)) i++;
  if (RESERVED_NAMES.has(s.slice(start, i))) {
    throw xmlSyntaxError('BEEP_XML_FORBIDDEN', `reserved ${what} name ${s.slice(start, i)}`);
  }
  return i;
}

/**
 * The lexical guard. Throws BeepXmlError (500) on anything not well-formed or forbidden; returns the root name.
 */
export function scanXml(s: string, maxDepth: number, maxElements: number): string {
  if (BAD_CHAR.test(s)) throw xmlSyntaxError('BEEP_XML_SYNTAX', 'XML contains a character that XML 1.0 forbids');
  const stack: string[] = [];
  let root: string | undefined;
  let elements = 0;
  const len = s.length;
  let i = 0;
  while (i < len) {
    const c = s.charCodeAt(i);
    if (c === 0x3c /* < */) {
      const n = s.charCodeAt(i + 1);
      if (n === 0x3f /* ? */) {
        throw xmlSyntaxError('BEEP_XML_FORBIDDEN', s.startsWith('<?xml', i) ? 'XML declarations are not allowed' : 'processing instructions are not allowed');
      }
      if (n === 0x21 /* ! */) {
        if (s.startsWith('<!--', i)) {
          const end = s.indexOf('--', i + 4);
          if (end === -1 || s.charCodeAt(end + 2) !== 0x3e) throw xmlSyntaxError('BEEP_XML_SYNTAX', 'bad or unterminated comment');
          i = end + 3;
          continue;
        }
        if (s.startsWith('<![CDATA[', i)) {
          if (stack.length === 0) throw xmlSyntaxError('BEEP_XML_SYNTAX', 'CDATA outside the root element');
          const end = s.indexOf(']]>', i + 9);
          if (end === -1) throw xmlSyntaxError('BEEP_XML_SYNTAX', 'unterminated CDATA section');
          i = end + 3;
          continue;
        }
        const what = s.startsWith('<!DOCTYPE', i) ? 'DOCTYPE' : s.startsWith('<!ENTITY', i) ? 'ENTITY declarations' : 'markup declarations';
        throw xmlSyntaxError('BEEP_XML_FORBIDDEN', `${what} are not allowed in application/beep+xml`);
      }
      if (n === 0x2f /* / */) {
        const nameEnd = scanName(s, i + 2, 'element');
        const name = s.slice(i + 2, nameEnd);
        let j = nameEnd;
        while (j < len && isSpace(s.charCodeAt(j))) j++;
        if (s.charCodeAt(j) !== 0x3e) throw xmlSyntaxError('BEEP_XML_SYNTAX', `bad end tag </${name}`);
        const open = stack.pop();
        if (open !== name) throw xmlSyntaxError('BEEP_XML_SYNTAX', `end tag </${name}> does not match <${open ?? ''}>`);
        i = j + 1;
        continue;
      }
      // Start tag.
      const nameEnd = scanName(s, i + 1, 'element');
      const name = s.slice(i + 1, nameEnd);
      if (stack.length === 0) {
        if (root !== undefined) throw xmlSyntaxError('BEEP_XML_MULTIPLE_ROOTS', 'more than one root element');
        root = name;
      }
      if (++elements > maxElements) throw xmlSyntaxError('BEEP_XML_TOO_LARGE', `more than ${maxElements} elements`);
      let j = nameEnd;
      const seen = new Set<string>();
      for (;;) {
        const ws = j;
        while (j < len && isSpace(s.charCodeAt(j))) j++;
        const d = s.charCodeAt(j);
        if (d === 0x3e /* > */) {
          stack.push(name);
          if (stack.length > maxDepth) throw xmlSyntaxError('BEEP_XML_TOO_DEEP', `elements nested deeper than ${maxDepth}`);
          j++;
          break;
        }
        if (d === 0x2f /* / */) {
          if (s.charCodeAt(j + 1) !== 0x3e) throw xmlSyntaxError('BEEP_XML_SYNTAX', `bad empty-element tag <${name}`);
          if (stack.length + 1 > maxDepth) throw xmlSyntaxError('BEEP_XML_TOO_DEEP', `elements nested deeper than ${maxDepth}`);
          j += 2;
          break;
        }
        if (j >= len) throw xmlSyntaxError('BEEP_XML_SYNTAX', `unterminated start tag <${name}`);
        if (j === ws) throw xmlSyntaxError('BEEP_XML_SYNTAX', `attributes of <${name}> must be separated by white space`);
        const attrEnd = scanName(s, j, 'attribute');
        const attr = s.slice(j, attrEnd);
        if (seen.has(attr)) throw xmlSyntaxError('BEEP_XML_SYNTAX', `attribute ${attr} repeated on <${name}>`);
        seen.add(attr);
        j = attrEnd;
        while (j < len && isSpace(s.charCodeAt(j))) j++;
        if (s.charCodeAt(j) !== 0x3d /* = */) throw xmlSyntaxError('BEEP_XML_SYNTAX', `attribute ${attr} of <${name}> has no value`);
        j++;
        while (j < len && isSpace(s.charCodeAt(j))) j++;
        const q = s.charCodeAt(j);
        if (q !== 0x22 && q !== 0x27) throw xmlSyntaxError('BEEP_XML_SYNTAX', `attribute ${attr} of <${name}> is not quoted`);
        j++;
        for (;;) {
          if (j >= len) throw xmlSyntaxError('BEEP_XML_SYNTAX', `unterminated attribute ${attr}`);
          const e = s.charCodeAt(j);
          if (e === q) break;
          if (e === 0x3c) throw xmlSyntaxError('BEEP_XML_SYNTAX', `"<" in the value of attribute ${attr}`);
          j = e === 0x26 ? scanReference(s, j) : j + 1;
        }
        j++;
      }
      i = j;
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
  if (stack.length > 0) throw xmlSyntaxError('BEEP_XML_SYNTAX', `unclosed element <${stack[stack.length - 1] ?? ''}>`);
  return root;
}

const fxp = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: false,
  htmlEntities: false,
  cdataPropName: '#cdata',
  commentPropName: '#comment',
});

type FxpNode = Record<string, unknown>;

function toElement(node: FxpNode): XmlElement {
  let name = '';
  let kids: FxpNode[] = [];
  for (const key of Object.keys(node)) {
    if (key === ':@') continue;
    name = key;
    kids = (node[key] as FxpNode[]) ?? [];
  }
  const attrs: Record<string, string> = {};
  const rawAttrs = node[':@'] as Record<string, unknown> | undefined;
  // Attribute-value normalization (XML 1.0 §3.3.3): literal white space becomes a space; references come after.
  if (rawAttrs) for (const [k, v] of Object.entries(rawAttrs)) attrs[k] = decodeXmlReferences(String(v).replace(/[\t\n]/g, ' '));
  const children: XmlElement[] = [];
  let text = '';
  for (const kid of kids) {
    if ('#text' in kid) text += decodeXmlReferences(String(kid['#text']));
    else if ('#cdata' in kid) {
      for (const part of kid['#cdata'] as FxpNode[]) text += String(part['#text'] ?? '');
    } else if ('#comment' in kid) continue;
    else children.push(toElement(kid));
  }
  return { name, attrs, children, text };
}

/** Parse XML that has already passed scanXml() into an element tree. */
export function buildTree(input: string): XmlElement {
  // End-of-line handling (XML 1.0 §2.11): CR LF and a lone CR become LF before parsing, so text and CDATA written
  // with CRLF line ends (as in the RFC 3080 examples) read the same as with LF; `&#13;` still yields a CR.
  const s = input.indexOf('\r') === -1 ? input : input.replace(/\r\n?/g, '\n');
  const v = XMLValidator.validate(s);
  if (v !== true) throw xmlSyntaxError('BEEP_XML_SYNTAX', `XML is not well-formed: ${v.err.msg}`);
  let parsed: FxpNode[];
  try {
    parsed = fxp.parse(s) as FxpNode[];
  } catch (err) {
    throw new BeepXmlError('BEEP_XML_SYNTAX', `XML is not well-formed: ${(err as Error).message}`, { replyCode: 500, cause: err });
  }
  const roots = parsed.filter((n) => !('#text' in n) && !('#comment' in n) && !('#cdata' in n));
  if (roots.length !== 1) throw xmlSyntaxError('BEEP_XML_SYNTAX', 'expected exactly one root element');
  return toElement(roots[0] as FxpNode);
}

/**
 * Parse a small XML document safely (see the module comment) and return its element tree. Reused by the TLS and
 * SASL profiles for `<ready/>`, `<proceed/>`, `<blob/>` and by the gateway for `<job>` content.
 */
export function parseSafeXml(input: string | Buffer, options: SafeXmlOptions = {}): XmlElement {
  const text = xmlText(input, options.maxBytes ?? DEFAULT_SAFE_XML_MAX_BYTES);
  const root = scanXml(text, options.maxDepth ?? DEFAULT_XML_MAX_DEPTH, options.maxElements ?? DEFAULT_XML_MAX_ELEMENTS);
  if (options.allowedRoots && !options.allowedRoots.includes(root)) {
    throw xmlInvalidError(`unexpected root element <${root}> (expected ${options.allowedRoots.map((r) => `<${r}>`).join(', ')})`);
  }
  return buildTree(text);
}
