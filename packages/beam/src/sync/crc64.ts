/**
 * CRC-64/Jones as Redis computes it for RDB files (src/crc64.c): polynomial 0xad93d23594c935a9, input and output
 * reflected, initial value 0, no final xor. Check value: crc64("123456789") = 0xe9c6d914c4b8d9ca.
 *
 * The 64-bit register is kept as two 32-bit halves so the per-byte loop stays in small-integer arithmetic
 * (BigInt per byte would be far too slow for multi-megabyte snapshots).
 */

/** The Jones polynomial bit-reversed (0xad93d23594c935a9 reflected), split into halves. */
const POLY_HI = 0x95ac9329;
const POLY_LO = 0xac4bc9b5;

const TABLE_HI = new Uint32Array(256);
const TABLE_LO = new Uint32Array(256);

for (let n = 0; n < 256; n++) {
  let hi = 0;
  let lo = n;
  for (let k = 0; k < 8; k++) {
    const lsb = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (lsb) {
      hi = (hi ^ POLY_HI) >>> 0;
      lo = (lo ^ POLY_LO) >>> 0;
    }
  }
  TABLE_HI[n] = hi;
  TABLE_LO[n] = lo;
}

/** Incremental CRC-64 over any number of chunks. */
export class Crc64 {
  private hi = 0;
  private lo = 0;

  constructor(initial: bigint = 0n) {
    this.hi = Number((initial >> 32n) & 0xffffffffn);
    this.lo = Number(initial & 0xffffffffn);
  }

  update(data: Uint8Array, start = 0, end = data.length): this {
    let hi = this.hi;
    let lo = this.lo;
    for (let i = start; i < end; i++) {
      const idx = (lo ^ data[i]!) & 0xff;
      lo = (((lo >>> 8) | (hi << 24)) ^ TABLE_LO[idx]!) >>> 0;
      hi = ((hi >>> 8) ^ TABLE_HI[idx]!) >>> 0;
    }
    this.hi = hi;
    this.lo = lo;
    return this;
  }

  get value(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** The 8 bytes Redis appends after the EOF opcode (little-endian). */
  digest(): Buffer {
    const out = Buffer.allocUnsafe(8);
    out.writeUInt32LE(this.lo, 0);
    out.writeUInt32LE(this.hi, 4);
    return out;
  }
}

export function crc64(data: Uint8Array, initial: bigint = 0n): bigint {
  return new Crc64(initial).update(data).value;
}
