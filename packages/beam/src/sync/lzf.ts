import { RdbError } from './errors.js';

/** Most bytes one input byte of LZF can produce. */
export const LZF_MAX_RATIO = 88;

/** LZF decompression (the format liblzf writes and Redis uses for compressed RDB strings). */
export function lzfDecompress(input: Uint8Array, outLen: number): Buffer {
  // A 3-byte back-reference expands to at most 264 bytes (88 per input byte), and nothing expands more: a
  // larger declared length is corrupt, and refused before it is allocated (a few bytes must not cost 512 MiB).
  if (outLen > input.length * LZF_MAX_RATIO) {
    throw new RdbError('RDB_BAD_ENCODING', `LZF string declares ${outLen} bytes from ${input.length}: more than LZF can expand to`);
  }
  const out = Buffer.allocUnsafe(outLen);
  let ip = 0;
  let op = 0;
  const inLen = input.length;
  const bad = (): never => {
    throw new RdbError('RDB_BAD_ENCODING', 'corrupt LZF-compressed string');
  };
  while (ip < inLen) {
    const ctrl = input[ip++]!;
    if (ctrl < 32) {
      const len = ctrl + 1;
      if (ip + len > inLen || op + len > outLen) bad();
      out.set(input.subarray(ip, ip + len), op);
      ip += len;
      op += len;
    } else {
      let len = ctrl >> 5;
      if (len === 7) {
        if (ip >= inLen) bad();
        len += input[ip++]!;
      }
      if (ip >= inLen) bad();
      let ref = op - ((ctrl & 0x1f) << 8) - 1 - input[ip++]!;
      len += 2;
      if (ref < 0 || op + len > outLen) bad();
      // Byte by byte: the reference may overlap the bytes being produced.
      for (let i = 0; i < len; i++) out[op++] = out[ref++]!;
    }
  }
  if (op !== outLen) bad();
  return out;
}
