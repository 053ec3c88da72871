/**
 * Channel-0 management messages (RFC 3080 §2.3, DTD in §7.1): parsed by the guarded one-pass parser, then validated
 * against the DTD. Not well-formed or forbidden constructs => BeepXmlError replyCode 500; well-formed but not
 * valid => replyCode 501 (code BEEP_XML_INVALID, or BEEP_XML_UNEXPECTED when the element is valid but not allowed
 * in that exchange, checklist G.40). Profile content larger than `maxContentBytes` (4096 by default, RFC 3080
 * §2.3.1.2) => BEEP_XML_CONTENT_TOO_LARGE, replyCode 501.
 *
 * Lenient by default: unknown attributes are ignored and white space inside EMPTY elements is tolerated;
 * `strict: true` turns both into 501.
 */
import { MAX_31 } from '../frame.js';
import { parseXmlText, xmlInvalidError, xmlLimits, xmlText, type XmlElement } from './safe-xml.js';

export type ProfileEncoding = 'none' | 'base64';

export interface ProfileElement {
  uri: string;
  /** Piggybacked content exactly as carried (for base64, still encoded). Absent when empty. */
  content?: string;
  encoding: ProfileEncoding;
  /** The decoded content, present when `decodeBase64` is set and content is present (for `none`: its UTF-8). */
  contentBytes?: Buffer;
}

export interface Greeting {
  type: 'greeting';
  profiles: string[];
  features: string[];
  localize: string[];
}

export interface Start {
  type: 'start';
  number: number;
  serverName?: string;
  profiles: ProfileElement[];
}

export interface ProfileReply extends ProfileElement {
  type: 'profile';
}

export interface Close {
  type: 'close';
  number: number;
  code: number;
  lang?: string;
  text: string;
}

export interface Ok {
  type: 'ok';
}

export interface ErrorElement {
  type: 'error';
  code: number;
  lang?: string;
  text: string;
}

export type Channel0Message = Greeting | Start | ProfileReply | Close | Ok | ErrorElement;

/** Which frame carried the message: MSG carries start|close, RPY greeting|profile|ok, ERR error. */
export type Channel0Exchange = 'msg' | 'rpy' | 'err';

export interface ParseChannel0Options {
  expect?: Channel0Exchange;
  /** Maximum XML size in octets. Default 65536. */
  maxBytes?: number;
  /** Maximum size of one profile element's content in octets. Default 4096. */
  maxContentBytes?: number;
  /** Maximum nesting depth. Default 8 (channel-0 messages need 2). */
  maxDepth?: number;
  /** Reject unknown attributes and white space inside EMPTY elements (501). Default false. */
  strict?: boolean;
  /** Fill `contentBytes` on profile elements (base64 decoded). Default false. */
  decodeBase64?: boolean;
}

export const DEFAULT_CHANNEL0_MAX_BYTES = 65536;
export const DEFAULT_PROFILE_CONTENT_MAX_BYTES = 4096;

export const CHANNEL0_ELEMENTS: Readonly<Record<Channel0Exchange, readonly string[]>> = {
  msg: ['start', 'close'],
  rpy: ['greeting', 'profile', 'ok'],
  err: ['error'],
};

const ALL_ROOTS = ['greeting', 'start', 'profile', 'close', 'ok', 'error'];
const ALLOWED_ATTRS: Record<string, readonly string[]> = {
  greeting: ['features', 'localize'],
  start: ['number', 'serverName'],
  profile: ['uri', 'encoding'],
  close: ['number', 'code', 'xml:lang'],
  ok: [],
  error: ['code', 'xml:lang'],
};

const CODE = /^[1-5][0-9][0-9]$/;
const NUMBER = /^[0-9]{1,10}$/;
const NMTOKEN = /^[-.:_0-9A-Za-z\u00B7\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u037D\u037F-\u1FFF\u200C\u200D\u203F\u2040\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const WS = /^[ \t\r\n]*$/;

interface Ctx {
  strict: boolean;
  maxContentBytes: number;
  decodeBase64: boolean;
}

function checkAttrs(el: XmlElement, ctx: Ctx): void {
  if (!ctx.strict) return;
  const allowed = ALLOWED_ATTRS[el.name] ?? [];
  for (const a of Object.keys(el.attrs)) {
    if (!allowed.includes(a)) throw xmlInvalidError(`<${el.name}> has no attribute ${a}`);
  }
}

function noChildren(el: XmlElement): void {
  const first = el.children[0];
  if (first) throw xmlInvalidError(`<${el.name}> must not contain <${first.name}>`);
}

function emptyElement(el: XmlElement, ctx: Ctx, why: string): void {
  noChildren(el);
  if (el.text !== '' && (ctx.strict || !WS.test(el.text))) throw xmlInvalidError(`<${el.name}> must be empty${why}`);
}

function requiredAttr(el: XmlElement, name: string): string {
  const v = el.attrs[name];
  if (v === undefined) throw xmlInvalidError(`<${el.name}> lacks the required attribute ${name}`);
  return v;
}

function parseNumber(el: XmlElement, name: string, value: string, min: number): number {
  if (!NUMBER.test(value)) throw xmlInvalidError(`<${el.name} ${name}='${value}'> is not a decimal number`);
  const n = Number(value);
  if (n < min || n > MAX_31) throw xmlInvalidError(`<${el.name} ${name}='${value}'> is out of range ${min}..${MAX_31}`);
  return n;
}

function parseCode(el: XmlElement): number {
  const code = requiredAttr(el, 'code');
  if (!CODE.test(code)) throw xmlInvalidError(`<${el.name} code='${code}'> is not a three-digit reply code [1-5][0-9][0-9]`);
  return Number(code);
}

function nmtokens(el: XmlElement, name: string, dflt: string[]): string[] {
  const v = el.attrs[name];
  if (v === undefined) return dflt;
  const tokens = v.split(/[ \t\r\n]+/).filter((t) => t !== '');
  for (const t of tokens) if (!NMTOKEN.test(t)) throw xmlInvalidError(`<${el.name} ${name}> has an invalid token ${JSON.stringify(t)}`);
  return tokens;
}

function textElementOnly(el: XmlElement): void {
  noChildren(el);
}

function profileElement(el: XmlElement, ctx: Ctx): ProfileElement {
  checkAttrs(el, ctx);
  const uri = requiredAttr(el, 'uri');
  if (uri.trim() === '') throw xmlInvalidError('<profile> has an empty uri');
  const enc = el.attrs['encoding'] ?? 'none';
  if (enc !== 'none' && enc !== 'base64') throw xmlInvalidError(`<profile encoding='${enc}'> must be none or base64`);
  textElementOnly(el);
  const p: ProfileElement = { uri, encoding: enc };
  if (el.text !== '') {
    const bytes = Buffer.byteLength(el.text, 'utf8');
    if (bytes > ctx.maxContentBytes) {
      throw xmlInvalidError(`profile content of ${bytes} octets exceeds ${ctx.maxContentBytes}`, 'BEEP_XML_CONTENT_TOO_LARGE');
    }
    if (enc === 'base64' && !BASE64.test(el.text.replace(/[ \t\r\n]+/g, ''))) {
      throw xmlInvalidError('<profile encoding=\'base64\'> content is not valid base64');
    }
    p.content = el.text;
    if (ctx.decodeBase64) p.contentBytes = Buffer.from(el.text, enc === 'base64' ? 'base64' : 'utf8');
  }
  return p;
}

function langOf(el: XmlElement): string | undefined {
  return el.attrs['xml:lang'];
}

function validate(el: XmlElement, ctx: Ctx): Channel0Message {
  switch (el.name) {
    case 'greeting': {
      checkAttrs(el, ctx);
      if (!WS.test(el.text)) throw xmlInvalidError('<greeting> may only contain <profile> elements');
      const profiles: string[] = [];
      for (const child of el.children) {
        if (child.name !== 'profile') throw xmlInvalidError(`<greeting> must not contain <${child.name}>`);
        const p = profileElement(child, ctx);
        if (p.content !== undefined && (ctx.strict || !WS.test(p.content))) {
          throw xmlInvalidError('a <profile> inside <greeting> must be empty');
        }
        profiles.push(p.uri);
      }
      return {
        type: 'greeting',
        profiles,
        features: nmtokens(el, 'features', []),
        localize: nmtokens(el, 'localize', ['i-default']),
      };
    }
    case 'start': {
      checkAttrs(el, ctx);
      const number = parseNumber(el, 'number', requiredAttr(el, 'number'), 1);
      if (!WS.test(el.text)) throw xmlInvalidError('<start> may only contain <profile> elements');
      const profiles: ProfileElement[] = [];
      for (const child of el.children) {
        if (child.name !== 'profile') throw xmlInvalidError(`<start> must not contain <${child.name}>`);
        profiles.push(profileElement(child, ctx));
      }
      if (profiles.length === 0) throw xmlInvalidError('<start> needs at least one <profile>');
      const start: Start = { type: 'start', number, profiles };
      const serverName = el.attrs['serverName'];
      if (serverName !== undefined) start.serverName = serverName;
      return start;
    }
    case 'profile':
      return { type: 'profile', ...profileElement(el, ctx) };
    case 'close': {
      checkAttrs(el, ctx);
      const n = el.attrs['number'];
      const number = n === undefined ? 0 : parseNumber(el, 'number', n, 0);
      const code = parseCode(el);
      textElementOnly(el);
      const close: Close = { type: 'close', number, code, text: el.text.trim() };
      const lang = langOf(el);
      if (lang !== undefined) close.lang = lang;
      return close;
    }
    case 'ok':
      checkAttrs(el, ctx);
      emptyElement(el, ctx, ' (EMPTY)');
      return { type: 'ok' };
    case 'error': {
      checkAttrs(el, ctx);
      const code = parseCode(el);
      textElementOnly(el);
      const error: ErrorElement = { type: 'error', code, text: el.text.trim() };
      const lang = langOf(el);
      if (lang !== undefined) error.lang = lang;
      return error;
    }
    default:
      throw xmlInvalidError(`unknown channel-0 element <${el.name}>`);
  }
}

/**
 * Parse and validate one channel-0 message (the body of an application/beep+xml entity).
 * With `expect`, also enforce which elements that exchange may carry (checklist G.40).
 */
export function parseChannel0(input: string | Buffer, options: ParseChannel0Options = {}): Channel0Message {
  const el = parseXmlText(xmlText(input, options.maxBytes ?? DEFAULT_CHANNEL0_MAX_BYTES), xmlLimits({ maxDepth: options.maxDepth ?? 8 }));
  const root = el.name;
  if (!ALL_ROOTS.includes(root)) throw xmlInvalidError(`unknown channel-0 element <${root}>`);
  if (options.expect !== undefined && !CHANNEL0_ELEMENTS[options.expect].includes(root)) {
    throw xmlInvalidError(
      `<${root}> is not allowed in a${options.expect === 'msg' ? ' MSG' : options.expect === 'rpy' ? 'n RPY' : 'n ERR'} on channel 0`,
      'BEEP_XML_UNEXPECTED',
    );
  }
  const ctx: Ctx = {
    strict: options.strict ?? false,
    maxContentBytes: options.maxContentBytes ?? DEFAULT_PROFILE_CONTENT_MAX_BYTES,
    decodeBase64: options.decodeBase64 ?? false,
  };
  return validate(el, ctx);
}

/** The decoded bytes of a profile element's content (base64 decoded when encoding is base64). */
export function profileContentBytes(p: Pick<ProfileElement, 'content' | 'encoding'>): Buffer {
  if (p.content === undefined) return Buffer.alloc(0);
  return Buffer.from(p.content, p.encoding === 'base64' ? 'base64' : 'utf8');
}
