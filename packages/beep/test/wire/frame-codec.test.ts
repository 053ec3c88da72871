import { expect } from 'chai';
import { BeepProtocolError, BeepUsageError } from '../../src/errors.js';
import {
  encodeFrame,
  encodeFrameHeader,
  encodeFrameInto,
  encodeFrameParts,
  encodedFrameLength,
  encodeSeq,
  FRAME_TRAILER,
} from '../../src/wire/frame-encoder.js';
import { FrameParser } from '../../src/wire/frame-parser.js';
import { MAX_31, MAX_32, type DataFrame, type DataFrameHeader, type Frame } from '../../src/wire/frame.js';

/** Small deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function collect(chunks: Buffer[], opts: Partial<ConstructorParameters<typeof FrameParser>[0]> = {}): Frame[] {
  const out: Frame[] = [];
  const p = new FrameParser({ ...opts, onFrame: (f) => out.push(f) });
  for (const c of chunks) p.push(c);
  p.end();
  return out;
}

const msg = (payload: string, extra: Partial<DataFrame> = {}): DataFrame => ({
  type: 'MSG',
  channel: 1,
  msgno: 0,
  more: false,
  seqno: 0,
  payload: Buffer.from(payload),
  ...extra,
});

describe('wire: frame encoder', () => {
  it('encodes data frames, ANS and SEQ', () => {
    expect(encodeFrame(msg('hi')).toString()).to.equal('MSG 1 0 . 0 2\r\nhiEND\r\n');
    expect(encodeFrame({ type: 'ANS', channel: 3, msgno: 4, more: true, seqno: 9, ansno: 2, payload: Buffer.alloc(0) }).toString())
      .to.equal('ANS 3 4 * 9 0 2\r\nEND\r\n');
    expect(encodeSeq(0, MAX_32, MAX_31).toString()).to.equal(`SEQ 0 ${MAX_32} ${MAX_31}\r\n`);
    expect(encodeFrame({ type: 'SEQ', channel: 5, ackno: 1, window: 2 }).toString()).to.equal('SEQ 5 1 2\r\n');
  });

  it('writes several frames into one buffer and offers a zero-copy split', () => {
    const frames: Frame[] = [msg('abc'), { type: 'SEQ', channel: 1, ackno: 3, window: 4096 }, msg('', { type: 'NUL' })];
    const total = frames.reduce((n, f) => n + encodedFrameLength(f), 0);
    const buf = Buffer.alloc(total);
    let o = 0;
    for (const f of frames) o = encodeFrameInto(f, buf, o);
    expect(o).to.equal(total);
    expect(buf.toString()).to.equal(frames.map((f) => encodeFrame(f).toString()).join(''));
    expect(() => encodeFrameInto(msg('abc'), Buffer.alloc(5))).to.throw(BeepUsageError);

    const payload = Buffer.from('payload');
    const [h, p, t] = encodeFrameParts(msg('', { payload }));
    expect(p).to.equal(payload);
    expect(t).to.equal(FRAME_TRAILER);
    expect(h.toString()).to.equal('MSG 1 0 . 0 7\r\n');
    const hdr: DataFrameHeader = { type: 'RPY', channel: 1, msgno: 1, more: false, seqno: 0, size: 10 };
    expect(encodeFrameHeader(hdr).toString()).to.equal('RPY 1 1 . 0 10\r\n');
  });

  it('refuses frames a peer must not receive', () => {
    const bad: Array<[string, () => unknown]> = [
      ['channel range', () => encodeFrame(msg('', { channel: MAX_31 + 1 }))],
      ['negative msgno', () => encodeFrame(msg('', { msgno: -1 }))],
      ['fractional seqno', () => encodeFrame(msg('', { seqno: 1.5 }))],
      ['seqno range', () => encodeFrame(msg('', { seqno: MAX_32 + 1 }))],
      ['ansno on MSG', () => encodeFrame(msg('', { ansno: 1 }))],
      ['ANS without ansno', () => encodeFrame(msg('', { type: 'ANS' }))],
      ['ansno over the ABNF range', () => encodeFrame(msg('', { type: 'ANS', ansno: MAX_31 + 1 }))],
      ['NUL with payload', () => encodeFrame(msg('x', { type: 'NUL' }))],
      ['NUL with more', () => encodeFrame(msg('', { type: 'NUL', more: true }))],
      ['bad keyword', () => encodeFrame(msg('', { type: 'FOO' as 'MSG' }))],
      ['SEQ window range', () => encodeSeq(1, 0, MAX_31 + 1)],
      ['SEQ ackno range', () => encodeSeq(1, -1, 0)],
    ];
    for (const [what, fn] of bad) expect(fn, what).to.throw(BeepUsageError).with.property('code', 'BEEP_INVALID_ARGUMENT');
  });
});

describe('wire: frame parser behaviour', () => {
  it('returns payloads inside one chunk as views, and concatenates split payloads once', () => {
    const chunk = encodeFrame(msg('hello world'));
    const [f] = collect([chunk]) as [DataFrame];
    expect(f.payload.buffer).to.equal(chunk.buffer);
    const parts = [chunk.subarray(0, 20), chunk.subarray(20)];
    const [g] = collect(parts) as [DataFrame];
    expect(g.payload.toString()).to.equal('hello world');
  });

  it('calls onHeader before any payload octet arrives, and an error there kills the parser', () => {
    const headers: DataFrameHeader[] = [];
    const frames: Frame[] = [];
    const p = new FrameParser({ onFrame: (f) => frames.push(f), onHeader: (h) => headers.push(h) });
    p.push(Buffer.from('ANS 1 2 * 7 5 3\r\n'));
    expect(headers).to.deep.equal([{ type: 'ANS', channel: 1, msgno: 2, more: true, seqno: 7, size: 5, ansno: 3 }]);
    expect(frames).to.have.length(0);
    expect(p.atFrameBoundary).to.equal(false);
    p.push(Buffer.from('abcdeEND\r\n'));
    expect(frames).to.have.length(1);
    expect(p.atFrameBoundary).to.equal(true);

    const window = new BeepProtocolError('BEEP_WINDOW_EXCEEDED', 'too big', { replyCode: 500 });
    const q = new FrameParser({
      onFrame: () => undefined,
      onHeader: (h) => {
        if (h.size > 4) throw window;
      },
    });
    expect(() => q.push(Buffer.from('MSG 1 0 . 0 5\r\nhelloEND\r\n'))).to.throw(BeepProtocolError).that.equals(window);
    expect(q.failed).to.equal(true);
    expect(() => q.push(Buffer.from('SEQ 1 0 0\r\n')))
      .to.throw(BeepProtocolError)
      .with.property('code', 'BEEP_PARSER_FAILED');
  });

  it('detach() from onFrame hands back the octets after the frame (TLS proceed)', () => {
    let rest: Buffer | undefined;
    const seen: Frame[] = [];
    const p = new FrameParser({
      onFrame: (f) => {
        seen.push(f);
        rest = p.detach();
      },
    });
    p.push(Buffer.concat([encodeFrame(msg('<proceed />')), Buffer.from([0x16, 0x03, 0x01, 0x00])]));
    expect(seen).to.have.length(1);
    expect([...(rest as Buffer)]).to.deep.equal([0x16, 0x03, 0x01, 0x00]);
    expect(() => p.push(Buffer.from('x'))).to.throw(BeepUsageError);
  });

  it('detach() between pushes returns a partial header, and refuses inside a payload', () => {
    const p = new FrameParser({ onFrame: () => undefined });
    p.push(Buffer.from('MSG 1'));
    expect(p.detach().toString()).to.equal('MSG 1');
    const q = new FrameParser({ onFrame: () => undefined });
    q.push(Buffer.from('MSG 1 0 . 0 5\r\nab'));
    expect(q.bufferedBytes).to.equal(2);
    expect(() => q.detach()).to.throw(BeepUsageError);
  });

  it('refuses re-entrant pushes and bad options', () => {
    const p: FrameParser = new FrameParser({ onFrame: () => p.push(Buffer.from('x')) });
    expect(() => p.push(encodeFrame(msg('')))).to.throw(BeepUsageError);
    expect(() => new FrameParser({ onFrame: () => undefined, maxHeaderLength: 2 })).to.throw(BeepUsageError);
    expect(() => new FrameParser({ onFrame: () => undefined, maxFrameSize: -1 })).to.throw(BeepUsageError);
  });

  it('never buffers more than maxHeaderLength octets of a header', () => {
    const p = new FrameParser({ onFrame: () => undefined, maxHeaderLength: 20 });
    for (let i = 0; i < 19; i++) p.push(Buffer.from('A'));
    expect(p.bufferedBytes).to.equal(19);
    expect(() => p.push(Buffer.from('A'))).to.throw(BeepProtocolError).with.property('code', 'BEEP_HEADER_TOO_LONG');
  });

  it('property: random frames encoded, concatenated, split randomly, parse back identically', function () {
    this.timeout(20000);
    const rand = rng(0xbeef);
    const int = (n: number) => Math.floor(rand() * n);
    const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
    for (let round = 0; round < 200; round++) {
      const frames: Frame[] = [];
      const count = 1 + int(30);
      for (let i = 0; i < count; i++) {
        if (rand() < 0.15) {
          frames.push({ type: 'SEQ', channel: int(MAX_31 + 1), ackno: int(MAX_32 + 1), window: int(MAX_31 + 1) });
          continue;
        }
        const type = pick(['MSG', 'RPY', 'ERR', 'ANS', 'NUL'] as const);
        const size = type === 'NUL' ? 0 : pick([0, 1, 2, 5, 64, 300, 5000]);
        const payload = Buffer.alloc(size);
        for (let j = 0; j < size; j++) payload[j] = rand() < 0.1 ? pick([0x0d, 0x0a, 0x45, 0x4e, 0x44]) : int(256);
        if (size >= 5 && rand() < 0.3) payload.write('END\r\n', int(size - 4), 'latin1');
        const f: DataFrame = {
          type,
          channel: pick([0, 1, 2, MAX_31, int(MAX_31)]),
          msgno: pick([0, 7, MAX_31, int(MAX_31)]),
          more: type === 'NUL' ? false : rand() < 0.5,
          seqno: pick([0, MAX_32, MAX_32 - size, int(MAX_32)]),
          payload,
        };
        if (type === 'ANS') f.ansno = pick([0, 1, MAX_31]);
        frames.push(f);
      }
      const wire = Buffer.concat(frames.map(encodeFrame));
      const chunks: Buffer[] = [];
      for (let pos = 0; pos < wire.length; ) {
        const n = 1 + int(rand() < 0.5 ? 8 : 2000);
        chunks.push(wire.subarray(pos, pos + n));
        pos += n;
      }
      expect(collect(chunks), `round ${round}`).to.deep.equal(frames);
    }
  });
});
