/**
 * Integer parsing exactly like Redis' string2ll: optional '-', no '+', no leading zeros, no spaces,
 * at most 20 characters, within the signed 64-bit range.
 */

export const INT64_MAX = 9223372036854775807n;
export const INT64_MIN = -9223372036854775808n;

/** Parsed value, as a number when it is a safe integer, a bigint otherwise; null when invalid. */
export function parseInt64(b: Uint8Array): number | bigint | null {
  const len = b.length;
  if (len === 0 || len > 20) return null;
  let i = 0;
  let neg = false;
  if (b[0] === 0x2d) {
    neg = true;
    i = 1;
    if (len === 1) return null;
  }
  const first = b[i]!;
  if (first === 0x30) return len === 1 ? 0 : null;
  if (first < 0x31 || first > 0x39) return null;
  const digits = len - i;
  if (digits <= 15) {
    let v = 0;
    for (; i < len; i++) {
      const c = b[i]! - 0x30;
      if (c < 0 || c > 9) return null;
      v = v * 10 + c;
    }
    return neg ? -v : v;
  }
  let s = '';
  for (; i < len; i++) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x39) return null;
    s += String.fromCharCode(c);
  }
  let v = BigInt(s);
  if (neg) v = -v;
  if (v > INT64_MAX || v < INT64_MIN) return null;
  if (v >= -9007199254740991n && v <= 9007199254740991n) return Number(v);
  return v;
}

/** Clamps a parsed integer to a JS number (indexes, counts): exact for safe integers, saturating otherwise. */
export function toNum(v: number | bigint): number {
  return typeof v === 'number' ? v : Number(v);
}

/** Integer reply value: number when safe, bigint otherwise. */
export function intReply(v: bigint): number | bigint {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

/** Decimal text of an int64 as a Buffer, as Redis stores the result of INCR. */
export function int64Buffer(v: number | bigint): Buffer {
  return Buffer.from(String(v), 'latin1');
}

/** Parses a long as getLongFromObjectOrReply does, returning a JS number (saturating beyond 2^53). */
export function parseLong(b: Uint8Array): number | null {
  const v = parseInt64(b);
  return v === null ? null : Number(v);
}

/** Parses a 32-bit int like getIntFromObjectOrReply. */
export function parseInt32(b: Uint8Array): number | null {
  const v = parseInt64(b);
  if (v === null || typeof v === 'bigint' || v > 2147483647 || v < -2147483648) return null;
  return v;
}
