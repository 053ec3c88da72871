import { expect } from 'chai';
import { BeepProtocolError } from '../../src/errors.js';
import { FrameParser, type FrameParserOptions } from '../../src/wire/frame-parser.js';
import { encodeFrame } from '../../src/wire/frame-encoder.js';
import { seqAdd } from '../../src/wire/seqno.js';
import type { DataFrame, Frame } from '../../src/wire/frame.js';
import { frameBytes, loadVectorFiles } from './vectors.js';

interface ExpectedFrame {
  type: string;
  channel: number;
  msgno?: number;
  more?: boolean;
  seqno?: number;
  ansno?: number;
  payload?: string;
  payload_b64?: string;
  ackno?: number;
  window?: number;
}

interface FrameVector {
  id: string;
  rule: string;
  description: string;
  input?: string;
  input_b64?: string;
  options?: Pick<FrameParserOptions, 'maxHeaderLength' | 'maxFrameSize' | 'strict'>;
  expect: { frames: ExpectedFrame[]; error?: string; replyCode?: number };
  roundtrip?: boolean;
  contiguous?: boolean;
}

type Normal = Record<string, unknown>;

/** Frames as plain objects with latin1 payload strings, comparable with the JSON. */
function normalize(f: Frame): Normal {
  if (f.type === 'SEQ') return { type: 'SEQ', channel: f.channel, ackno: f.ackno, window: f.window };
  const n: Normal = { type: f.type, channel: f.channel, msgno: f.msgno, more: f.more, seqno: f.seqno };
  if (f.ansno !== undefined) n['ansno'] = f.ansno;
  n['payload'] = f.payload.toString('latin1');
  return n;
}

function expected(e: ExpectedFrame): Normal {
  const { payload_b64, ...rest } = e;
  if (payload_b64 !== undefined) return { ...rest, payload: Buffer.from(payload_b64, 'base64').toString('latin1') };
  return { ...rest };
}

function toFrame(e: ExpectedFrame): Frame {
  if (e.type === 'SEQ') return { type: 'SEQ', channel: e.channel, ackno: e.ackno as number, window: e.window as number };
  const payload =
    e.payload_b64 !== undefined ? Buffer.from(e.payload_b64, 'base64') : Buffer.from(e.payload ?? '', 'latin1');
  const f: DataFrame = {
    type: e.type as DataFrame['type'],
    channel: e.channel,
    msgno: e.msgno as number,
    more: e.more as boolean,
    seqno: e.seqno as number,
    payload,
  };
  if (e.ansno !== undefined) f.ansno = e.ansno;
  return f;
}

interface Outcome {
  frames: Normal[];
  error?: string;
  replyCode?: number | undefined;
}

function run(v: FrameVector, chunks: Buffer[]): Outcome {
  const frames: Normal[] = [];
  const parser = new FrameParser({ ...v.options, onFrame: (f) => frames.push(normalize(f)) });
  try {
    for (const c of chunks) parser.push(c);
    parser.end();
    return { frames };
  } catch (err) {
    if (!(err instanceof BeepProtocolError)) throw err;
    // A dead parser refuses everything afterwards.
    expect(() => parser.push(Buffer.from('SEQ 0 0 0\r\n'))).to.throw(BeepProtocolError).with.property('code', 'BEEP_PARSER_FAILED');
    return { frames, error: err.code, replyCode: err.replyCode };
  }
}

function check(v: FrameVector, out: Outcome, how: string): void {
  const want = v.expect.frames.map(expected);
  expect(out.frames, `${v.id} frames (${how})`).to.deep.equal(want);
  expect(out.error, `${v.id} error (${how})`).to.equal(v.expect.error);
  if (v.expect.replyCode !== undefined) expect(out.replyCode, `${v.id} replyCode (${how})`).to.equal(v.expect.replyCode);
}

const files = loadVectorFiles<FrameVector>('frames');

describe('wire: frame vectors (test-vectors/beep/frames*.json)', () => {
  it('finds the vector files', () => {
    expect(files.length).to.be.greaterThan(0);
    expect(files.reduce((n, f) => n + f.vectors.length, 0)).to.be.at.least(80);
  });

  it('covers every framing rule of checklist sections A, B, D.26 and E.27 with valid and violating cases', () => {
    const all = files.flatMap((f) => f.vectors);
    for (const rule of ['A.1', 'A.2', 'A.3', 'A.4', 'A.5', 'A.6', 'A.7', 'B.8', 'B.9', 'B.10', 'C.17', 'D.26', 'E.27']) {
      expect(all.some((v) => v.rule === rule), `${rule} has vectors`).to.equal(true);
    }
    for (const rule of ['A.1', 'A.2', 'A.3', 'A.4', 'A.5', 'A.6', 'A.7', 'B.8', 'C.17', 'E.27']) {
      expect(all.some((v) => v.rule === rule && v.expect.error !== undefined), `${rule} has a violating case`).to.equal(true);
      expect(all.some((v) => v.rule === rule && v.expect.error === undefined), `${rule} has a valid case`).to.equal(true);
    }
  });

  for (const file of files) {
    describe(file.file, () => {
      for (const v of file.vectors) {
        it(`${v.id} [${v.rule}] ${v.description}`, () => {
          const bytes = frameBytes(v.input, v.input_b64);
          check(v, run(v, [bytes]), 'one chunk');
          check(v, run(v, [...bytes].map((b) => Buffer.from([b]))), 'byte by byte');
          if (bytes.length <= 400) {
            for (let i = 1; i < bytes.length; i++) check(v, run(v, [bytes.subarray(0, i), bytes.subarray(i)]), `split at ${i}`);
          }
          if (v.roundtrip) {
            const encoded = Buffer.concat(v.expect.frames.map((f) => encodeFrame(toFrame(f))));
            expect(encoded.toString('latin1'), `${v.id} re-encodes to its input`).to.equal(bytes.toString('latin1'));
          }
          if (v.contiguous) {
            const data = v.expect.frames.map(toFrame).filter((f): f is DataFrame => f.type !== 'SEQ');
            for (let i = 1; i < data.length; i++) {
              const prev = data[i - 1] as DataFrame;
              expect((data[i] as DataFrame).seqno, `${v.id} seqno of frame ${i}`).to.equal(seqAdd(prev.seqno, prev.payload.length));
            }
          }
        });
      }
    });
  }
});
