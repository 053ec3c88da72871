/**
 * A small strict XML reader and writer for the gateway's own elements (application/beep+xml rules: no XML
 * declaration, no DOCTYPE, no processing instructions, only the five predefined entities and numeric character
 * references; comments and CDATA accepted). Pure: no I/O.
 */
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

const NAME_START = /[A-Za-z_:]/;
const NAME_CHAR = /[A-Za-z0-9_:.-]/;
const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Parses exactly one root element (surrounding whitespace and comments allowed). */
export function parseXml(input: string | Buffer, limits: XmlLimits = {}): XmlElement {
  const maxBytes = limits.maxBytes ?? 65536;
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > maxBytes) throw new GatewayXmlError(`XML content is ${size} octets, limit ${maxBytes}`);
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch (cause) {
      throw new GatewayXmlError('XML content is not valid UTF-8', { cause });
    }
  }
  return new Reader(text, limits).document();
}

class Reader {
  private pos = 0;
  private elements = 0;
  private readonly maxDepth: number;
  private readonly maxElements: number;
  private readonly maxAttributes: number;

  constructor(private readonly s: string, limits: XmlLimits) {
    this.maxDepth = limits.maxDepth ?? 16;
    this.maxElements = limits.maxElements ?? 10000;
    this.maxAttributes = limits.maxAttributes ?? 32;
  }

  document(): XmlElement {
    if (this.s.charCodeAt(0) === 0xfeff) this.pos = 1;
    this.misc();
    if (this.s[this.pos] !== '<') this.fail('expected a root element');
    const root = this.element(1);
    this.misc();
    if (this.pos !== this.s.length) this.fail('content after the root element');
    return root;
  }

  private fail(what: string): never {
    throw new GatewayXmlError(`${what} at offset ${this.pos}`);
  }

  /** Whitespace and comments outside the root element. */
  private misc(): void {
    for (;;) {
      this.skipSpace();
      if (this.s.startsWith('<!--', this.pos)) this.comment();
      else if (this.s.startsWith('<?', this.pos)) this.fail('processing instructions and XML declarations are not allowed');
      else if (this.s.startsWith('<!', this.pos)) this.fail('DOCTYPE and other declarations are not allowed');
      else return;
    }
  }

  private skipSpace(): void {
    while (this.pos < this.s.length && ' \t\r\n'.includes(this.s[this.pos]!)) this.pos++;
  }

  private comment(): void {
    const end = this.s.indexOf('-->', this.pos + 4);
    if (end < 0) this.fail('unterminated comment');
    if (this.s.slice(this.pos + 4, end).includes('--')) this.fail('"--" inside a comment');
    this.pos = end + 3;
  }

  private name(): string {
    const start = this.pos;
    if (!NAME_START.test(this.s[this.pos] ?? '')) this.fail('expected a name');
    this.pos++;
    while (NAME_CHAR.test(this.s[this.pos] ?? '')) this.pos++;
    return this.s.slice(start, this.pos);
  }

  private element(depth: number): XmlElement {
    if (depth > this.maxDepth) this.fail(`elements nested deeper than ${this.maxDepth}`);
    if (++this.elements > this.maxElements) this.fail(`more than ${this.maxElements} elements`);
    this.pos++; // '<'
    const name = this.name();
    const attrs = new Map<string, string>();
    for (;;) {
      const before = this.pos;
      this.skipSpace();
      const c = this.s[this.pos];
      if (c === '/') {
        if (this.s[this.pos + 1] !== '>') this.fail('expected "/>"');
        this.pos += 2;
        return { name, attrs, children: [] };
      }
      if (c === '>') {
        this.pos++;
        break;
      }
      if (c === undefined) this.fail(`unterminated start tag <${name}>`);
      if (this.pos === before) this.fail('expected whitespace before an attribute');
      const attr = this.name();
      this.skipSpace();
      if (this.s[this.pos] !== '=') this.fail(`expected "=" after attribute ${attr}`);
      this.pos++;
      this.skipSpace();
      const q = this.s[this.pos];
      if (q !== '"' && q !== "'") this.fail(`attribute ${attr} value must be quoted`);
      const end = this.s.indexOf(q, this.pos + 1);
      if (end < 0) this.fail(`unterminated value of attribute ${attr}`);
      const raw = this.s.slice(this.pos + 1, end);
      if (raw.includes('<')) this.fail(`"<" in the value of attribute ${attr}`);
      if (attrs.has(attr)) this.fail(`attribute ${attr} repeated`);
      if (attrs.size >= this.maxAttributes) this.fail(`more than ${this.maxAttributes} attributes`);
      attrs.set(attr, this.decode(raw.replace(/\r\n?|[\t\n]/g, ' ')));
      this.pos = end + 1;
    }
    const children: XmlNode[] = [];
    let text = '';
    for (;;) {
      const lt = this.s.indexOf('<', this.pos);
      if (lt < 0) this.fail(`element <${name}> is not closed`);
      text += this.decode(this.s.slice(this.pos, lt).replace(/\r\n?/g, '\n'));
      this.pos = lt;
      if (this.s.startsWith('</', lt)) {
        this.pos += 2;
        const closing = this.name();
        this.skipSpace();
        if (this.s[this.pos] !== '>') this.fail('expected ">"');
        if (closing !== name) this.fail(`</${closing}> closes <${name}>`);
        this.pos++;
        if (text) children.push(text);
        return { name, attrs, children };
      }
      if (this.s.startsWith('<![CDATA[', lt)) {
        const end = this.s.indexOf(']]>', lt + 9);
        if (end < 0) this.fail('unterminated CDATA section');
        text += this.s.slice(lt + 9, end).replace(/\r\n?/g, '\n');
        this.pos = end + 3;
      } else if (this.s.startsWith('<!--', lt)) {
        this.comment();
      } else if (this.s.startsWith('<?', lt) || this.s.startsWith('<!', lt)) {
        this.fail('declarations and processing instructions are not allowed');
      } else {
        if (text) children.push(text);
        text = '';
        children.push(this.element(depth + 1));
      }
    }
  }

  /** Resolves references in character data; `]]>` and bare `&` are errors, as are XML-illegal characters. */
  private decode(raw: string): string {
    if (raw.includes(']]>')) this.fail('"]]>" in character data');
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(raw)) this.fail('character not allowed in XML');
    if (!raw.includes('&')) return raw;
    return raw.replace(/&([^;&<]*);|&/g, (whole, ref: string | undefined) => {
      if (ref === undefined) this.fail('bare "&" (use &amp;)');
      const named = PREDEFINED[ref];
      if (named !== undefined) return named;
      const m = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(ref);
      if (!m) this.fail(`unknown entity &${ref};`);
      const cp = m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2]!, 10);
      const legal = cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
        (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
      if (!legal) this.fail(`character reference ${whole} is not an XML character`);
      return String.fromCodePoint(cp);
    });
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;', '<': '&lt;', '>': '&gt;', "'": '&apos;', '"': '&quot;', '\r': '&#13;', '\n': '&#10;', '\t': '&#9;',
};

/** Escapes character data (CR is escaped so that it survives line-end normalization). */
export function escapeXml(text: string): string {
  return text.replace(/[&<>\r]/g, (c) => ESCAPES[c]!);
}

/** Escapes a single-quoted attribute value (tab, CR and LF survive attribute normalization). */
export function escapeAttr(text: string): string {
  return text.replace(/[&<>'"\r\n\t]/g, (c) => ESCAPES[c]!);
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
