import { expect } from 'chai';
import { ErrorReply } from '../../src/wire/reply.js';
import { bytes, loadRespVectors } from './vectors.js';
import { decodeReply, ReplyDecoder, RespReplyError, type ReplyValue } from '../../src/wire/reply-decoder.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

const REPLIES = [
  '+OK\r\n', '-ERR x\r\n', ':12\r\n', '$-1\r\n', '$3\r\na\r\n\r\n', '*-1\r\n', '*0\r\n', '*2\r\n:1\r\n*1\r\n$1\r\nx\r\n',
  '_\r\n', '#t\r\n', ',1.5\r\n', '(12345678901234567890\r\n', '=7\r\ntxt:abc\r\n', '!3\r\nERR\r\n',
  '%1\r\n+k\r\n:1\r\n', '~2\r\n:1\r\n:2\r\n', '>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n', '|1\r\n+a\r\n+b\r\n+OK\r\n',
];

function raw(chunks: Buffer[], max = 1 << 20): Array<[string, boolean]> {
  const got: Array<[string, boolean]> = [];
  const d = new ReplyDecoder({ onRaw: (x, push) => got.push([x.toString('latin1'), push]) }, { maxReplyBytes: max });
  for (const c of chunks) d.feed(c);
  expect(d.pending).to.equal(0);
  return got;
}

function chunked(s: string, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < s.length; i += size) out.push(b(s.slice(i, i + size)));
  return out;
}

describe('ReplyDecoder (RESP2/RESP3 replies)', () => {
  it('splits every reply type whatever the chunking, down to one byte at a time', () => {
    const all = REPLIES.join('');
    for (const size of [1, 2, 3, 7, all.length]) {
      expect(raw(chunked(all, size)).map((x) => x[0]), `chunks of ${size}`).to.deep.equal(REPLIES);
    }
    expect(raw([b(REPLIES.join(''))]).filter((x) => x[1]).map((x) => x[0])).to.deep.equal([REPLIES[16]]);
  });

  it('waits for an incomplete reply', () => {
    for (const r of REPLIES) {
      for (let cut = 1; cut < r.length; cut++) {
        const got: Buffer[] = [];
        const d = new ReplyDecoder({ onRaw: (x) => got.push(x) });
        d.feed(b(r.slice(0, cut)));
        expect(got, `${r} cut ${cut}`).to.deep.equal([]);
        d.feed(b(r.slice(cut)));
        expect(got.map(String), `${r} cut ${cut}`).to.deep.equal([r]);
      }
    }
  });

  it('decodes values: Buffers for strings, numbers, bigints, booleans, null, nested errors, flat maps', () => {
    const values: ReplyValue[] = [];
    const d = new ReplyDecoder({ onReply: (v) => values.push(v) });
    for (const c of chunked(REPLIES.join(''), 5)) d.feed(c);
    const plain = values.map(function norm(v: ReplyValue): unknown {
      if (Buffer.isBuffer(v)) return v.toString('latin1');
      if (Array.isArray(v)) return v.map(norm);
      if (v instanceof ErrorReply) return { error: v.message };
      return v;
    });
    expect(plain).to.deep.equal([
      'OK', { error: 'ERR x' }, 12, null, 'a\r\n', null, [], [1, ['x']],
      null, true, 1.5, 12345678901234567890n, 'abc', { error: 'ERR' },
      ['k', 1], [1, 2], ['message', 'c', 'm'], 'OK',
    ]);
    expect(decodeReply(b(':9223372036854775807\r\n'))).to.equal(9223372036854775807n);
    expect(decodeReply(b(',inf\r\n'))).to.equal(Infinity);
    expect(() => decodeReply(b('+OK\r\n+OK\r\n'))).to.throw(RespReplyError);
  });

  it('decodes a large reply arriving in many small chunks in linear time', () => {
    const n = 16 * 1024 * 1024;
    const whole = Buffer.concat([b(`$${n}\r\n`), Buffer.alloc(n, 0x61), b('\r\n+OK\r\n')]);
    const got: number[] = [];
    const d = new ReplyDecoder({ onReply: (v) => got.push((v as Buffer).length) }, { maxReplyBytes: 32 * 1024 * 1024 });
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < whole.length; i += 1024) d.feed(whole.subarray(i, i + 1024));
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    expect(got).to.deep.equal([n, 2]);
    // Rescanning the pending reply per chunk would be ~137 GB of work here (minutes); linear is well under a second.
    expect(ms).to.be.lessThan(20_000);
  });

  it('refuses a reply over the bound from its header, bad input and deep nesting with a coded RespReplyError', () => {
    const fails = (input: string, code: string, opts = { maxReplyBytes: 100 }): void => {
      const d = new ReplyDecoder({ onRaw: () => {} }, opts);
      expect(() => d.feed(b(input)), input.slice(0, 20)).to.throw(RespReplyError).with.property('code', code);
      expect(() => d.feed(b('+OK\r\n')), 'stays failed').to.throw(RespReplyError);
    };
    fails('$1000\r\n', 'RESP_REPLY_TOO_LARGE');
    fails(`+${'x'.repeat(200)}`, 'RESP_REPLY_TOO_LARGE');
    fails('?x\r\n', 'RESP_BAD_REPLY');
    fails('$3\r\nabcde', 'RESP_BAD_REPLY');
    fails('$x\r\n', 'RESP_BAD_REPLY');
    fails('+a\rb', 'RESP_BAD_REPLY');
    fails('*1\r\n'.repeat(70), 'RESP_REPLY_TOO_DEEP', { maxReplyBytes: 1000 });
  });
});

describe('ReplyDecoder against test-vectors/resp/reply-encoder.json', () => {
  interface V {
    id: string;
    resp2: string;
    resp3: string;
  }
  const vectors = loadRespVectors<{ vectors: V[] }>('reply-encoder.json').vectors;
  for (const v of vectors) {
    it(`${v.id}: the encoded replies split back exactly, whole and byte by byte`, () => {
      for (const wire of [v.resp2, v.resp3]) {
        const whole = raw([bytes(wire)], 1 << 24).map((x) => x[0]);
        expect(whole.join(''), 'whole').to.equal(wire);
        const single = raw(chunked(wire, 1), 1 << 24).map((x) => x[0]);
        expect(single, 'byte by byte').to.deep.equal(whole);
        for (const r of whole) decodeReply(bytes(r));
      }
    });
  }
});
