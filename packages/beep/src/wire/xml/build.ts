/**
 * Serializers for channel-0 elements (RFC 3080 §2.3, §7.1). Attributes use single quotes like the RFC examples;
 * `& < > ' "` are escaped in attribute values and text, and CR, LF and TAB in attribute values become character
 * references so that attribute-value normalization cannot change them. Characters XML cannot carry (C0 controls
 * other than TAB/CR/LF, U+FFFE/U+FFFF, lone surrogates) throw a BeepUsageError, as do out-of-range numbers and
 * reply codes.
 */
import { BeepUsageError } from '../../errors.js';
import { MAX_31 } from '../frame.js';
import type { ProfileEncoding } from './channel0.js';

const INVALID_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function checkChars(s: string, what: string): void {
  if (INVALID_XML_CHAR.test(s)) throw new BeepUsageError(`${what} contains a character XML cannot represent`);
}

const TEXT_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  "'": '&apos;',
  '"': '&quot;',
  '\r': '&#13;',
  '\n': '&#10;',
  '\t': '&#9;',
};

/** Escape character data: `& < > ' "` and CR (which XML would otherwise turn into LF). */
export function escapeXmlText(s: string): string {
  checkChars(s, 'XML text');
  return s.replace(/[&<>'"\r]/g, (c) => TEXT_ESCAPES[c] as string);
}

/** Escape an attribute value: `& < > ' "` and TAB, CR, LF. */
export function escapeXmlAttr(s: string): string {
  checkChars(s, 'XML attribute');
  return s.replace(/[&<>'"\r\n\t]/g, (c) => TEXT_ESCAPES[c] as string);
}

/** Wrap text in CDATA, splitting any `]]>` across two sections. */
export function cdata(s: string): string {
  checkChars(s, 'CDATA');
  return `<![CDATA[${s.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
}

function attr(name: string, value: string): string {
  return ` ${name}='${escapeXmlAttr(value)}'`;
}

function checkNumber(what: string, n: number, min: number): void {
  if (!Number.isInteger(n) || n < min || n > MAX_31) throw new BeepUsageError(`${what} must be an integer in ${min}..${MAX_31}`);
}

function checkCode(code: number): void {
  if (!Number.isInteger(code) || code < 100 || code > 599) throw new BeepUsageError(`reply code ${code} must be in 100..599`);
}

function checkTokens(what: string, tokens: readonly string[]): void {
  for (const t of tokens) {
    if (t === '' || /[\s'"<>&]/.test(t)) throw new BeepUsageError(`${what} token ${JSON.stringify(t)} is not an NMTOKEN`);
  }
}

function checkUri(uri: string): void {
  if (typeof uri !== 'string' || uri.trim() === '') throw new BeepUsageError('a profile needs a non-empty uri');
}

export interface ProfileToBuild {
  uri: string;
  /** Piggybacked content: a string (UTF-8) or bytes. */
  content?: string | Buffer;
  /** `base64` encodes the content; `none` (default) sends it as text. Buffers default to base64. */
  encoding?: ProfileEncoding;
  /**
   * With encoding `none`: `true` always a CDATA section (a `]]>` inside is split across two), `false` always
   * entity-escaped text; default: CDATA when `cdataSafe(content)`, escaped text otherwise.
   */
  cdata?: boolean;
}

/**
 * Whether text can travel as one CDATA section unchanged: no `]]>` (it would end the section) and no CR (XML
 * end-of-line handling turns CR and CRLF into LF inside CDATA too; escaped text keeps it as `&#13;`).
 *
 * Profile content goes as CDATA whenever it can because peers that compare the raw text of `<profile>` (Vortex
 * 1.1: `<![CDATA[<ready />]]>`, docs/interop.md) refuse the entity-escaped form, which is equally legal XML.
 */
export function cdataSafe(s: string): boolean {
  return !s.includes(']]>') && !s.includes('\r');
}

function profileXml(p: ProfileToBuild): string {
  checkUri(p.uri);
  const enc: ProfileEncoding = p.encoding ?? (Buffer.isBuffer(p.content) ? 'base64' : 'none');
  if (enc !== 'none' && enc !== 'base64') throw new BeepUsageError(`profile encoding must be none or base64`);
  let head = `<profile${attr('uri', p.uri)}`;
  if (enc === 'base64') head += " encoding='base64'";
  if (p.content === undefined || p.content.length === 0) return `${head} />`;
  let body: string;
  if (enc === 'base64') {
    body = (Buffer.isBuffer(p.content) ? p.content : Buffer.from(p.content, 'utf8')).toString('base64');
  } else {
    const s = Buffer.isBuffer(p.content) ? p.content.toString('utf8') : p.content;
    body = (p.cdata ?? cdataSafe(s)) ? cdata(s) : escapeXmlText(s);
  }
  return `${head}>${body}</profile>`;
}

/** `<greeting>` with the profiles this peer offers (RFC 3080 §2.3.1.1). */
export function buildGreeting(g: { profiles?: readonly string[]; features?: readonly string[]; localize?: readonly string[] } = {}): string {
  const profiles = g.profiles ?? [];
  let head = '<greeting';
  if (g.features && g.features.length > 0) {
    checkTokens('features', g.features);
    head += attr('features', g.features.join(' '));
  }
  if (g.localize && g.localize.length > 0 && !(g.localize.length === 1 && g.localize[0] === 'i-default')) {
    checkTokens('localize', g.localize);
    head += attr('localize', g.localize.join(' '));
  }
  if (profiles.length === 0) return `${head} />`;
  return `${head}>${profiles.map((uri) => profileXml({ uri })).join('')}</greeting>`;
}

/** `<start>` asking for a channel with one or more candidate profiles (RFC 3080 §2.3.1.2). */
export function buildStart(s: { number: number; serverName?: string; profiles: readonly ProfileToBuild[] }): string {
  checkNumber('channel number', s.number, 1);
  if (!s.profiles || s.profiles.length === 0) throw new BeepUsageError('a start needs at least one profile');
  let head = `<start${attr('number', String(s.number))}`;
  if (s.serverName !== undefined) head += attr('serverName', s.serverName);
  return `${head}>${s.profiles.map(profileXml).join('')}</start>`;
}

/** `<profile>`: the positive reply to a start, optionally with piggybacked content. */
export function buildProfile(p: ProfileToBuild): string {
  return profileXml(p);
}

/** `<close>` for a channel (number > 0) or the session (number 0, the default). */
export function buildClose(c: { number?: number; code: number; lang?: string; text?: string }): string {
  const number = c.number ?? 0;
  checkNumber('channel number', number, 0);
  checkCode(c.code);
  let head = `<close${attr('number', String(number))}${attr('code', String(c.code))}`;
  if (c.lang !== undefined) head += attr('xml:lang', c.lang);
  return c.text ? `${head}>${escapeXmlText(c.text)}</close>` : `${head} />`;
}

export function buildOk(): string {
  return '<ok />';
}

/** `<error>` carried in an ERR (RFC 3080 §2.3.1.5). */
export function buildError(e: { code: number; lang?: string; text?: string }): string {
  checkCode(e.code);
  let head = `<error${attr('code', String(e.code))}`;
  if (e.lang !== undefined) head += attr('xml:lang', e.lang);
  return e.text ? `${head}>${escapeXmlText(e.text)}</error>` : `${head} />`;
}

/**
 * A generic element for profile bodies (`<ready version='1' />`, `<blob status='continue'>...</blob>`,
 * `<job name='ls'>...</job>`): attributes are escaped, `children` are trusted XML strings, `text` is escaped.
 */
export function buildElement(
  name: string,
  attrs: Record<string, string | number | undefined> = {},
  content: { text?: string; children?: readonly string[] } = {},
): string {
  if (!/^[A-Za-z_][-A-Za-z0-9_.:]*$/.test(name)) throw new BeepUsageError(`invalid XML element name ${JSON.stringify(name)}`);
  let head = `<${name}`;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    if (!/^[A-Za-z_][-A-Za-z0-9_.:]*$/.test(k)) throw new BeepUsageError(`invalid XML attribute name ${JSON.stringify(k)}`);
    head += attr(k, String(v));
  }
  const inner = (content.children ?? []).join('') + (content.text ? escapeXmlText(content.text) : '');
  return inner === '' ? `${head} />` : `${head}>${inner}</${name}>`;
}
