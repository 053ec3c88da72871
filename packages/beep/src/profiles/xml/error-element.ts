/**
 * The `<error code='...' xml:lang='...'>text</error>` element (RFC 3080 §2.3.1.5, §7.1) as it appears inside a
 * tuning profile's `<profile>` content or in an ERR on a tuning channel.
 */
import { buildError } from '../../wire/xml/build.js';
import { invalid, parseProfileXml, checkAttributes } from './profile-xml.js';
import type { ParseProfileXmlOptions } from './profile-xml.js';
import type { XmlElement } from '../../wire/xml/safe-xml.js';

export interface ProfileError {
  code: number;
  message: string;
  lang?: string | undefined;
}

export function buildErrorElement(error: ProfileError): string {
  return buildError({ code: error.code, lang: error.lang, text: error.message });
}

/** Parse an `<error>` element; 500 if not well-formed, 501 if the code is missing or not `[1-5][0-9][0-9]`. */
export function parseErrorElement(input: string | Uint8Array, options: ParseProfileXmlOptions = {}): ProfileError {
  const el = parseProfileXml(input, ['error'], options);
  checkAttributes(el, ['code', 'xml:lang']);
  return errorFromElement(el);
}

export function errorFromElement(el: XmlElement): ProfileError {
  const code = el.attrs['code'];
  if (code === undefined || !/^[1-5][0-9][0-9]$/.test(code)) throw invalid('<error> needs a three-digit code');
  return { code: Number(code), message: el.text, lang: el.attrs['xml:lang'] };
}
