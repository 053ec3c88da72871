import { expect } from 'chai';
import { RequestDecoder, type RequestDecoderLimits } from '../../src/wire/request-decoder.js';
import { bytes, loadRespVectors } from './vectors.js';

interface DecoderVector {
  id: string;
  description: string;
  input: string;
  commands: string[][];
  error?: string;
  limits?: RequestDecoderLimits;
  incomplete?: boolean;
}

function run(v: DecoderVector, chunks: Buffer[]): { commands: string[][]; error: string | undefined; buffered: number } {
  const d = new RequestDecoder(v.limits ?? {});
  const out: Buffer[][] = [];
  let error: string | undefined;
  for (const c of chunks) {
    const e = d.feed(c, out);
    if (e) {
      error = e.message;
      break;
    }
  }
  return { commands: out.map((a) => a.map((b) => b.toString('latin1'))), error, buffered: d.bufferedBytes };
}

describe('wire/RequestDecoder vectors (test-vectors/resp/request-decoder.json)', () => {
  const { vectors } = loadRespVectors<{ vectors: DecoderVector[] }>('request-decoder.json');
  for (const v of vectors) {
    it(`${v.id} (whole)`, () => {
      const r = run(v, [bytes(v.input)]);
      expect(r.commands).to.deep.equal(v.commands);
      expect(r.error).to.equal(v.error);
      if (v.incomplete) expect(r.commands).to.have.length(0);
    });
    it(`${v.id} (byte by byte)`, () => {
      const b = bytes(v.input);
      const chunks: Buffer[] = [];
      for (let i = 0; i < b.length; i++) chunks.push(b.subarray(i, i + 1));
      const r = run(v, chunks);
      expect(r.commands).to.deep.equal(v.commands);
      expect(r.error).to.equal(v.error);
    });
  }
});

describe('wire/RequestDecoder', () => {
  it('decodes a big bulk arriving in many chunks without losing bytes', () => {
    const payload = Buffer.alloc(3 * 1024 * 1024 + 7);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    const wire = Buffer.concat([bytes(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${payload.length}\r\n`), payload, bytes('\r\n*1\r\n$4\r\nPING\r\n')]);
    const d = new RequestDecoder();
    const out: Buffer[][] = [];
    for (let i = 0; i < wire.length; i += 65536) expect(d.feed(wire.subarray(i, i + 65536), out)).to.equal(undefined);
    expect(out).to.have.length(2);
    expect(out[0]![2]!.equals(payload)).to.equal(true);
    expect(out[1]![0]!.toString()).to.equal('PING');
    expect(d.bufferedBytes).to.equal(0);
  });

  it('does not allocate a declared bulk before its bytes arrive', () => {
    const d = new RequestDecoder();
    const out: Buffer[][] = [];
    expect(d.feed(bytes('*1\r\n$536870912\r\nabc'), out)).to.equal(undefined);
    expect(d.bufferedBytes).to.be.lessThan(1024);
  });

  it('enforces the query buffer limit on an unfinished command', () => {
    const d = new RequestDecoder({ maxQueryBuffer: 1000 });
    const out: Buffer[][] = [];
    expect(d.feed(bytes('*1\r\n$50000\r\n'), out)).to.equal(undefined);
    const e = d.feed(Buffer.alloc(2000, 0x61), out);
    expect(e?.code).to.equal('query-buffer-limit');
  });

  it('keeps returning the first error once failed', () => {
    const d = new RequestDecoder();
    const out: Buffer[][] = [];
    const e1 = d.feed(bytes('*x\r\n'), out);
    const e2 = d.feed(bytes('*1\r\n$4\r\nPING\r\n'), out);
    expect(e1?.message).to.equal('ERR Protocol error: invalid multibulk length');
    expect(e2).to.equal(e1);
    expect(out).to.have.length(0);
  });

  it('copies arguments out of the socket chunk', () => {
    const d = new RequestDecoder();
    const out: Buffer[][] = [];
    const chunk = bytes('*2\r\n$3\r\nGET\r\n$1\r\nk\r\n');
    d.feed(chunk, out);
    chunk.fill(0);
    expect(out[0]!.map((b) => b.toString())).to.deep.equal(['GET', 'k']);
  });
});
