import { expect } from 'chai';
import { encodeReply, RespWriter } from '../../src/wire/resp-encoder.js';
import { formatDouble } from '../../src/wire/double-format.js';
import {
  ErrorReply, MultiReply, NULL_ARRAY, OK, RespDouble, RespMap, RespPush, RespSet, RespVerbatim, SimpleString, type Reply,
} from '../../src/wire/reply.js';
import { bytes, loadRespVectors } from './vectors.js';

type Desc = Record<string, unknown>;

/** Builds a Reply from the JSON description used by test-vectors/resp/reply-encoder.json. */
function build(d: Desc): Reply {
  const [kind, v] = Object.entries(d)[0]!;
  switch (kind) {
    case 'simple': return new SimpleString(v as string);
    case 'error': return new ErrorReply(v as string);
    case 'int': return v as number;
    case 'bigint': return BigInt(v as string);
    case 'bulk': return bytes(v as string);
    case 'null': return null;
    case 'nullArray': return NULL_ARRAY;
    case 'bool': return v as boolean;
    case 'array': return (v as Desc[]).map(build);
    case 'map': return new RespMap((v as Array<[Desc, Desc]>).map(([k, x]) => [build(k), build(x)]));
    case 'set': return new RespSet((v as Desc[]).map(build));
    case 'push': return new RespPush((v as Desc[]).map(build));
    case 'double': return new RespDouble(v === 'inf' ? Infinity : v === '-inf' ? -Infinity : (v as number));
    case 'verbatim': {
      const o = v as { format: string; text: string };
      return new RespVerbatim(o.format, o.text);
    }
    case 'multi': return new MultiReply((v as Desc[]).map(build));
    default: throw new Error(`unknown reply kind ${kind}`);
  }
}

describe('wire/RESP encoder vectors (test-vectors/resp/reply-encoder.json)', () => {
  const { vectors } = loadRespVectors<{ vectors: Array<{ id: string; reply: Desc; resp2: string; resp3: string }> }>('reply-encoder.json');
  for (const v of vectors) {
    it(`${v.id} (RESP2)`, () => {
      expect(encodeReply(build(v.reply), 2).toString('latin1')).to.equal(v.resp2);
    });
    it(`${v.id} (RESP3)`, () => {
      expect(encodeReply(build(v.reply), 3).toString('latin1')).to.equal(v.resp3);
    });
  }
});

describe('wire/RespWriter', () => {
  it('accumulates many replies into one buffer and grows past its initial size', () => {
    const w = new RespWriter(16);
    const big = Buffer.alloc(100_000, 0x62);
    w.write(OK, 2);
    w.write(big, 2);
    w.write(12345, 2);
    w.write('héllo', 2);
    const out = w.take();
    expect(out.length).to.equal(5 + 9 + 100_000 + 2 + 8 + 4 + 6 + 2);
    expect(out.subarray(0, 14).toString()).to.equal('+OK\r\n$100000\r\n');
    expect(out.subarray(out.length - 22).toString()).to.equal('\r\n:12345\r\n$6\r\nhéllo\r\n');
    expect(w.length).to.equal(0);
  });

  it('formats doubles like printf %.17g', () => {
    const cases: Array<[number, string]> = [
      [0, '0'], [-0, '-0'], [1.1, '1.1000000000000001'], [0.0001, '0.0001'], [1e-5, '1.0000000000000001e-05'],
      [123456789012345678, '1.2345678901234568e+17'], [-2.5, '-2.5'], [1e16, '10000000000000000'], [NaN, 'nan'],
    ];
    for (const [d, s] of cases) expect(formatDouble(d), String(d)).to.equal(s);
  });
});
