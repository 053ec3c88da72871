/**
 * SASLprep-lite: the parts of RFC 4013 (SASLprep over RFC 3454 stringprep) that matter for user names and
 * passwords, without shipping the stringprep tables.
 *
 * What is done, in RFC 4013 order:
 *  1. map: non-ASCII space characters (RFC 3454 C.1.2) become U+0020; "commonly mapped to nothing" characters
 *     (B.1: soft hyphen, combining grapheme joiner, zero-width joiners/spaces, variation selectors, BOM...) are
 *     removed;
 *  2. normalise with Unicode NFKC (String.prototype.normalize);
 *  3. prohibit: ASCII and non-ASCII control characters (C.2.1, C.2.2), private use (C.3), non-character code
 *     points (C.4), surrogate code points (C.5), characters inappropriate for plain text (C.6), for canonical
 *     representation (C.7), display-changing / deprecated characters (C.8), tagging characters (C.9).
 *
 * Not done: the unassigned-code-point check (A.1; "stored strings" would refuse them, queries allow them; we
 * allow them) and the bidirectional check (RFC 3454 §6). Pure printable ASCII strings are returned unchanged.
 */
import { saslFailure } from './mechanism.js';

const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g;
const MAPPED_TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g;

function prohibited(cp: number): boolean {
  return (
    cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f) || // C.2.1 / C.2.2 controls
    cp === 0x06dd || cp === 0x070f || cp === 0x180e || (cp >= 0x200c && cp <= 0x200d) ||
    (cp >= 0x2028 && cp <= 0x2029) || (cp >= 0x2060 && cp <= 0x2063) || (cp >= 0x206a && cp <= 0x206f) ||
    cp === 0xfeff || (cp >= 0xfff9 && cp <= 0xfffc) || (cp >= 0x1d173 && cp <= 0x1d17a) ||
    (cp >= 0xe000 && cp <= 0xf8ff) || (cp >= 0xf0000 && cp <= 0xffffd) || (cp >= 0x100000 && cp <= 0x10fffd) || // C.3
    (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe || // C.4
    (cp >= 0xd800 && cp <= 0xdfff) || // C.5 (lone surrogates survive in JS strings)
    cp === 0xfffd || (cp >= 0x2ff0 && cp <= 0x2ffb) || // C.6 (FFF9-FFFC above), C.7
    cp === 0x0340 || cp === 0x0341 || cp === 0x200e || cp === 0x200f || (cp >= 0x202a && cp <= 0x202e) || // C.8
    cp === 0xe0001 || (cp >= 0xe0020 && cp <= 0xe007f) // C.9
  );
}

/**
 * Prepare a user name or password. Throws BeepSaslError BEEP_SASL_MALFORMED (501) when the string holds a
 * prohibited character or prepares to the empty string.
 */
export function saslprep(input: string, what = 'string'): string {
  if (/^[\x20-\x7e]*$/.test(input)) {
    if (input === '') throw saslFailure('BEEP_SASL_MALFORMED', `${what} is empty`, 501);
    return input;
  }
  const mapped = input.replace(NON_ASCII_SPACE, ' ').replace(MAPPED_TO_NOTHING, '').normalize('NFKC');
  for (let i = 0; i < mapped.length; i++) {
    const cp = mapped.codePointAt(i) as number;
    if (cp > 0xffff) i++;
    if (prohibited(cp)) {
      throw saslFailure('BEEP_SASL_MALFORMED', `${what} contains a prohibited character`, 501);
    }
  }
  if (mapped === '') throw saslFailure('BEEP_SASL_MALFORMED', `${what} is empty after SASLprep`, 501);
  return mapped;
}
