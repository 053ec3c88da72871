/**
 * Listpack encoder (Redis 7's compact list blob): strings that spell a canonical int64 are stored as integers, as
 * lpAppend does; the rest as 6/12/32-bit-length strings. Each element ends with its back-length.
 */

function backlen(l: number): number[] {
  if (l <= 127) return [l];
  if (l < 16383) return [l >> 7, (l & 127) | 128];
  if (l < 2097151) return [l >> 14, ((l >> 7) & 127) | 128, (l & 127) | 128];
  if (l < 268435455) return [l >> 21, ((l >> 14) & 127) | 128, ((l >> 7) & 127) | 128, (l & 127) | 128];
  return [Math.floor(l / 2 ** 28), ((l >> 21) & 127) | 128, ((l >> 14) & 127) | 128, ((l >> 7) & 127) | 128, (l & 127) | 128];
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** lpStringToInt64: the int64 a string spells canonically, or null. */
function asInt(b: Buffer): bigint | null {
  if (b.length === 0 || b.length > 20) return null;
  const s = b.toString('latin1');
  if (!/^(0|-?[1-9][0-9]*)$/.test(s)) return null;
  const v = BigInt(s);
  return v < INT64_MIN || v > INT64_MAX ? null : v;
}

function intElement(v: bigint): Buffer {
  const n = Number(v);
  if (v >= 0n && v <= 127n) return Buffer.from([n]);
  if (v >= -4096n && v <= 4095n) {
    const u = n < 0 ? (1 << 13) + n : n;
    return Buffer.from([0xc0 | (u >> 8), u & 0xff]);
  }
  if (v >= -32768n && v <= 32767n) {
    const b = Buffer.alloc(3);
    b[0] = 0xf1;
    b.writeInt16LE(n, 1);
    return b;
  }
  if (v >= -8388608n && v <= 8388607n) {
    const b = Buffer.alloc(4);
    b[0] = 0xf2;
    b.writeIntLE(n, 1, 3);
    return b;
  }
  if (v >= -2147483648n && v <= 2147483647n) {
    const b = Buffer.alloc(5);
    b[0] = 0xf3;
    b.writeInt32LE(n, 1);
    return b;
  }
  const b = Buffer.alloc(9);
  b[0] = 0xf4;
  b.writeBigInt64LE(v, 1);
  return b;
}

function stringElement(s: Buffer): Buffer {
  const n = s.length;
  if (n < 64) return Buffer.concat([Buffer.from([0x80 | n]), s]);
  if (n < 4096) return Buffer.concat([Buffer.from([0xe0 | (n >> 8), n & 0xff]), s]);
  const h = Buffer.alloc(5);
  h[0] = 0xf0;
  h.writeUInt32LE(n, 1);
  return Buffer.concat([h, s]);
}

/** A listpack of the given elements (Buffers as strings or integers, numbers/bigints as integers). */
export function encodeListpack(items: ReadonlyArray<Buffer | number | bigint>): Buffer {
  const parts: Buffer[] = [Buffer.alloc(6)];
  let total = 6;
  for (const it of items) {
    const iv = Buffer.isBuffer(it) ? asInt(it) : BigInt(it);
    const el = iv !== null ? intElement(iv) : stringElement(it as Buffer);
    const bl = Buffer.from(backlen(el.length));
    parts.push(el, bl);
    total += el.length + bl.length;
  }
  parts.push(Buffer.from([0xff]));
  total += 1;
  const out = Buffer.concat(parts, total);
  out.writeUInt32LE(total, 0);
  out.writeUInt16LE(Math.min(items.length, 65535), 4);
  return out;
}
