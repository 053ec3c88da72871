import { RdbError } from './errors.js';

/**
 * Decoders for the compact blobs Redis stores inside RDB strings: listpack (Redis >= 7), ziplist (Redis < 7) and
 * intset. Integers come back as their decimal text, as Redis presents them to clients.
 */

function bad(what: string): never {
  throw new RdbError('RDB_BAD_ENCODING', `corrupt ${what}`);
}

function need(buf: Buffer, end: number, what: string): void {
  if (end > buf.length) bad(what);
}

const intText = (v: number | bigint): Buffer => Buffer.from(String(v), 'latin1');

/** Bytes used by a listpack entry's back-length field for an entry of `len` bytes (lpEncodeBacklen). */
function backlenSize(len: number): number {
  if (len <= 127) return 1;
  if (len < 16383) return 2;
  if (len < 2097151) return 3;
  if (len < 268435455) return 4;
  return 5;
}

export function decodeListpack(buf: Buffer, maxElements = Infinity): Buffer[] {
  const what = 'listpack';
  need(buf, 7, what);
  if (buf.readUInt32LE(0) !== buf.length) bad(what);
  const out: Buffer[] = [];
  let p = 6;
  for (;;) {
    need(buf, p + 1, what);
    const b = buf[p]!;
    if (b === 0xff) break;
    let entryLen: number;
    if ((b & 0x80) === 0) {
      out.push(intText(b & 0x7f));
      entryLen = 1;
    } else if ((b & 0xc0) === 0x80) {
      const slen = b & 0x3f;
      need(buf, p + 1 + slen, what);
      out.push(buf.subarray(p + 1, p + 1 + slen));
      entryLen = 1 + slen;
    } else if ((b & 0xe0) === 0xc0) {
      need(buf, p + 2, what);
      let v = ((b & 0x1f) << 8) | buf[p + 1]!;
      if (v >= 1 << 12) v -= 1 << 13;
      out.push(intText(v));
      entryLen = 2;
    } else if ((b & 0xf0) === 0xe0) {
      need(buf, p + 2, what);
      const slen = ((b & 0x0f) << 8) | buf[p + 1]!;
      need(buf, p + 2 + slen, what);
      out.push(buf.subarray(p + 2, p + 2 + slen));
      entryLen = 2 + slen;
    } else {
      switch (b) {
        case 0xf0: {
          need(buf, p + 5, what);
          const slen = buf.readUInt32LE(p + 1);
          need(buf, p + 5 + slen, what);
          out.push(buf.subarray(p + 5, p + 5 + slen));
          entryLen = 5 + slen;
          break;
        }
        case 0xf1:
          need(buf, p + 3, what);
          out.push(intText(buf.readInt16LE(p + 1)));
          entryLen = 3;
          break;
        case 0xf2:
          need(buf, p + 4, what);
          out.push(intText(buf.readIntLE(p + 1, 3)));
          entryLen = 4;
          break;
        case 0xf3:
          need(buf, p + 5, what);
          out.push(intText(buf.readInt32LE(p + 1)));
          entryLen = 5;
          break;
        case 0xf4:
          need(buf, p + 9, what);
          out.push(intText(buf.readBigInt64LE(p + 1)));
          entryLen = 9;
          break;
        default:
          bad(what);
      }
    }
    p += entryLen + backlenSize(entryLen);
    if (out.length > maxElements) bad(`${what} (too many elements)`);
  }
  if (p + 1 !== buf.length) bad(what);
  return out;
}

export function decodeZiplist(buf: Buffer, maxElements = Infinity): Buffer[] {
  const what = 'ziplist';
  need(buf, 11, what);
  if (buf.readUInt32LE(0) !== buf.length) bad(what);
  const out: Buffer[] = [];
  let p = 10;
  for (;;) {
    need(buf, p + 1, what);
    if (buf[p] === 0xff) break;
    p += buf[p]! < 254 ? 1 : 5; // prevlen
    need(buf, p + 1, what);
    const enc = buf[p]!;
    switch (enc >> 6) {
      case 0: {
        const slen = enc & 0x3f;
        need(buf, p + 1 + slen, what);
        out.push(buf.subarray(p + 1, p + 1 + slen));
        p += 1 + slen;
        break;
      }
      case 1: {
        need(buf, p + 2, what);
        const slen = ((enc & 0x3f) << 8) | buf[p + 1]!;
        need(buf, p + 2 + slen, what);
        out.push(buf.subarray(p + 2, p + 2 + slen));
        p += 2 + slen;
        break;
      }
      case 2: {
        need(buf, p + 5, what);
        const slen = buf.readUInt32BE(p + 1);
        need(buf, p + 5 + slen, what);
        out.push(buf.subarray(p + 5, p + 5 + slen));
        p += 5 + slen;
        break;
      }
      default: {
        p += 1;
        if (enc === 0xc0) {
          need(buf, p + 2, what);
          out.push(intText(buf.readInt16LE(p)));
          p += 2;
        } else if (enc === 0xd0) {
          need(buf, p + 4, what);
          out.push(intText(buf.readInt32LE(p)));
          p += 4;
        } else if (enc === 0xe0) {
          need(buf, p + 8, what);
          out.push(intText(buf.readBigInt64LE(p)));
          p += 8;
        } else if (enc === 0xf0) {
          need(buf, p + 3, what);
          out.push(intText(buf.readIntLE(p, 3)));
          p += 3;
        } else if (enc === 0xfe) {
          need(buf, p + 1, what);
          out.push(intText(buf.readInt8(p)));
          p += 1;
        } else if (enc >= 0xf1 && enc <= 0xfd) {
          out.push(intText((enc & 0x0f) - 1));
        } else {
          bad(what);
        }
      }
    }
    if (out.length > maxElements) bad(`${what} (too many elements)`);
  }
  if (p + 1 !== buf.length) bad(what);
  return out;
}

export function decodeIntset(buf: Buffer): Buffer[] {
  const what = 'intset';
  need(buf, 8, what);
  const width = buf.readUInt32LE(0);
  const count = buf.readUInt32LE(4);
  if (width !== 2 && width !== 4 && width !== 8) bad(what);
  if (buf.length !== 8 + width * count) bad(what);
  const out = new Array<Buffer>(count);
  for (let i = 0, p = 8; i < count; i++, p += width) {
    out[i] = intText(width === 2 ? buf.readInt16LE(p) : width === 4 ? buf.readInt32LE(p) : buf.readBigInt64LE(p));
  }
  return out;
}
