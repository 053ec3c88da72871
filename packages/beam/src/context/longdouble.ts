/**
 * Emulation of the x86-64 `long double` (64-bit significand) arithmetic Redis uses for INCRBYFLOAT and
 * HINCRBYFLOAT, so that results print byte for byte like `ld2string(..., LD_STR_HUMAN)` (`%.17Lf`, trailing
 * zeros removed). Values are exact `m * 2^e` with a BigInt significand of at most 64 bits.
 */

export interface LongDouble {
  neg: boolean;
  /** Significand, 0 for zero; ignored when `inf`. */
  m: bigint;
  e: number;
  inf: boolean;
}

const MAX_EXP = 16384; // value must stay below 2^16384
const MIN_EXP = -16445; // smallest denormal is 2^-16445
const MAX_CHARS = 5 * 1024;
const TEN17 = 10n ** 17n;

function bitlen(v: bigint): number {
  return v === 0n ? 0 : v.toString(2).length;
}

/** Rounds the exact positive integer `v * 2^e` to 64 significant bits, ties to even. */
function roundBits(v: bigint, e: number, sticky: boolean): [bigint, number] {
  const bits = bitlen(v);
  if (bits <= 64 && !sticky) return [v, e];
  if (bits <= 64) return [v, e]; // sticky bits only matter below the kept ones, handled by the caller
  const shift = bits - 64;
  const mask = (1n << BigInt(shift)) - 1n;
  const rem = v & mask;
  let q = v >> BigInt(shift);
  const half = 1n << BigInt(shift - 1);
  if (rem > half || (rem === half && (sticky || (q & 1n) === 1n))) q++;
  let ne = e + shift;
  if (q === 1n << 64n) {
    q >>= 1n;
    ne++;
  }
  return [q, ne];
}

/** Nearest long double to num/den (both positive). */
function fromRatio(num: bigint, den: bigint): [bigint, number] {
  const s = 66 - (bitlen(num) - bitlen(den));
  let q: bigint;
  let r: bigint;
  if (s >= 0) {
    const n = num << BigInt(s);
    q = n / den;
    r = n % den;
  } else {
    const d = den << BigInt(-s);
    q = num / d;
    r = num % d;
  }
  return roundBits(q, -s, r !== 0n);
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function finite(neg: boolean, m: bigint, e: number): LongDouble | null {
  if (m === 0n) return { neg, m: 0n, e: 0, inf: false };
  if (e + bitlen(m) > MAX_EXP) return null; // ERANGE overflow: Redis refuses
  if (e + bitlen(m) <= MIN_EXP) return null; // ERANGE underflow to zero: Redis refuses
  return { neg, m, e, inf: false };
}

/**
 * Parses like Redis' string2ld (strtold on the whole string): decimal, hex (`0x1.8p3`), `inf`/`infinity`;
 * refuses NaN, leading spaces, trailing garbage, overflow and underflow. Returns null when invalid.
 */
export function parseLongDouble(b: Uint8Array): LongDouble | null {
  const len = b.length;
  if (len === 0 || len >= MAX_CHARS) return null;
  if (b.indexOf(0) >= 0) return null; // strtold would stop there: Redis 7.0.15 refuses a partial parse
  if (isSpace(b[0]!)) return null;
  const s = Buffer.from(b.buffer, b.byteOffset, len).toString('latin1');
  let i = 0;
  let neg = false;
  if (s[0] === '+' || s[0] === '-') {
    neg = s[0] === '-';
    i = 1;
  }
  const rest = s.slice(i).toLowerCase();
  if (rest === 'inf' || rest === 'infinity') return { neg, m: 0n, e: 0, inf: true };
  if (rest.startsWith('nan')) return null;
  if (rest.startsWith('0x')) {
    const m = /^0x([0-9a-f]*)(?:\.([0-9a-f]*))?(?:p([+-]?\d+))?$/.exec(rest);
    if (!m) return null;
    const ip = m[1] ?? '';
    const fp = m[2] ?? '';
    if (ip.length + fp.length === 0) return null;
    const mant = BigInt('0x' + (ip + fp || '0'));
    let exp = m[3] !== undefined ? Number(m[3]) : 0;
    if (!Number.isFinite(exp) || Math.abs(exp) > 1e6) exp = Math.sign(exp) * 1e6;
    exp -= 4 * fp.length;
    if (mant === 0n) return { neg, m: 0n, e: 0, inf: false };
    const [q, e] = roundBits(mant, exp, false);
    return finite(neg, q, e);
  }
  const m = /^(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/.exec(rest);
  if (!m) return null;
  const ip = m[1] ?? '';
  const fp = m[2] ?? '';
  if (ip.length + fp.length === 0) return null;
  const digits = (ip + fp).replace(/^0+/, '');
  if (digits === '') return { neg, m: 0n, e: 0, inf: false };
  let exp = 0;
  if (m[3] !== undefined) {
    const ex = m[3].replace(/^([+-]?)0+(?=\d)/, '$1');
    exp = ex.length > 9 ? (ex.startsWith('-') ? -1e9 : 1e9) : Number(ex);
  }
  exp -= fp.length;
  const mag = digits.length + exp; // value is below 10^mag
  if (mag > 4940) return null;
  if (mag < -4960) return null;
  const d = BigInt(digits);
  let r: [bigint, number];
  if (exp >= 0) r = fromRatio(d * 10n ** BigInt(exp), 1n);
  else r = fromRatio(d, 10n ** BigInt(-exp));
  return finite(neg, r[0], r[1]);
}

/** a + b rounded to long double precision; `inf` in the result means Redis' NaN/Infinity error. */
export function addLongDouble(a: LongDouble, b: LongDouble): LongDouble {
  if (a.inf || b.inf) return { neg: false, m: 0n, e: 0, inf: true };
  if (a.m === 0n) return b.m === 0n ? { neg: a.neg && b.neg, m: 0n, e: 0, inf: false } : b;
  if (b.m === 0n) return a;
  const e0 = Math.min(a.e, b.e);
  const av = (a.neg ? -a.m : a.m) << BigInt(a.e - e0);
  const bv = (b.neg ? -b.m : b.m) << BigInt(b.e - e0);
  const sum = av + bv;
  if (sum === 0n) return { neg: false, m: 0n, e: 0, inf: false };
  const neg = sum < 0n;
  const [q, e] = roundBits(neg ? -sum : sum, e0, false);
  if (e + bitlen(q) > MAX_EXP) return { neg, m: 0n, e: 0, inf: true };
  return { neg, m: q, e, inf: false };
}

/** `%.17Lf` with trailing zeros (and a bare '.') removed, "-0" printed as "0": Redis' LD_STR_HUMAN. */
export function formatLongDoubleHuman(v: LongDouble): string {
  if (v.inf) return v.neg ? '-inf' : 'inf';
  let scaled: bigint;
  if (v.e >= 0) {
    scaled = (v.m << BigInt(v.e)) * TEN17;
  } else {
    const num = v.m * TEN17;
    const sh = BigInt(-v.e);
    scaled = num >> sh;
    const rem = num - (scaled << sh);
    const half = 1n << (sh - 1n);
    if (rem > half || (rem === half && (scaled & 1n) === 1n)) scaled++;
  }
  let digits = scaled.toString().padStart(18, '0');
  let out = digits.slice(0, -17) + '.' + digits.slice(-17);
  out = out.replace(/0+$/, '');
  if (out.endsWith('.')) out = out.slice(0, -1);
  if (v.neg && out !== '0') out = '-' + out;
  digits = out;
  return digits;
}

/** Long double value of an int64 (exact below 2^64). */
export function longDoubleFromInt(v: bigint): LongDouble {
  const neg = v < 0n;
  return { neg, m: neg ? -v : v, e: 0, inf: false };
}

/** Nearest JS double (for timeouts and similar). */
export function longDoubleToNumber(v: LongDouble): number {
  if (v.inf) return v.neg ? -Infinity : Infinity;
  if (v.m === 0n) return v.neg ? -0 : 0;
  const bits = bitlen(v.m);
  const top = Number(v.m >> BigInt(Math.max(0, bits - 60)));
  const x = top * Math.pow(2, v.e + Math.max(0, bits - 60));
  return v.neg ? -x : x;
}
