import { expect } from 'chai';
import { Crc64, crc64 } from '../../src/sync/crc64.js';

/** Bit-by-bit reference: reflected CRC-64 with the Jones polynomial, computed with BigInt. */
function slowCrc64(data: Uint8Array): bigint {
  const poly = 0x95ac9329ac4bc9b5n; // 0xad93d23594c935a9 reflected
  let crc = 0n;
  for (const byte of data) {
    crc ^= BigInt(byte);
    for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ poly : crc >> 1n;
  }
  return crc;
}

describe('sync/crc64', () => {
  it('matches the Redis test vector crc64("123456789") = 0xe9c6d914c4b8d9ca', () => {
    expect(crc64(Buffer.from('123456789', 'latin1'))).to.equal(0xe9c6d914c4b8d9can);
  });

  it('is 0 for empty input and agrees with a bitwise reference on random data', () => {
    expect(crc64(Buffer.alloc(0))).to.equal(0n);
    const data = Buffer.from(Array.from({ length: 777 }, (_, i) => (i * 131 + 7) & 0xff));
    expect(crc64(data)).to.equal(slowCrc64(data));
  });

  it('is incremental: any split gives the same value, digest is little-endian', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog', 'latin1');
    const whole = crc64(data);
    for (const cut of [0, 1, 7, 20, data.length]) {
      const c = new Crc64().update(data.subarray(0, cut)).update(data.subarray(cut));
      expect(c.value).to.equal(whole);
      expect(c.digest().readBigUInt64LE(0)).to.equal(whole);
    }
    expect(crc64(data.subarray(10), crc64(data.subarray(0, 10)))).to.equal(whole);
  });
});
