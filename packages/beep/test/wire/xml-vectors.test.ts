import { expect } from 'chai';
import { BeepXmlError } from '../../src/errors.js';
import { parseChannel0, type ParseChannel0Options } from '../../src/wire/xml/channel0.js';
import { parseSafeXml, type SafeXmlOptions } from '../../src/wire/xml/safe-xml.js';
import { loadVectorFiles, xmlBytes } from './vectors.js';

interface XmlVector {
  id: string;
  rule: string;
  description: string;
  parser: 'channel0' | 'safe';
  input?: string;
  input_b64?: string;
  options?: ParseChannel0Options & SafeXmlOptions;
  expect: { message?: unknown; tree?: unknown; error?: string; replyCode?: number };
}

function parse(v: XmlVector, input: string | Buffer): unknown {
  return v.parser === 'channel0' ? parseChannel0(input, v.options) : parseSafeXml(input, v.options);
}

function outcome(v: XmlVector, input: string | Buffer): { value?: unknown; error?: string; replyCode?: number | undefined } {
  try {
    return { value: JSON.parse(JSON.stringify(parse(v, input))) as unknown };
  } catch (err) {
    if (!(err instanceof BeepXmlError)) throw err;
    return { error: err.code, replyCode: err.replyCode };
  }
}

const files = loadVectorFiles<XmlVector>('xml');

describe('wire: XML vectors (test-vectors/beep/xml*.json)', () => {
  it('has vectors for checklist G.39-41, H.42-43 and I.47, valid and violating', () => {
    const all = files.flatMap((f) => f.vectors);
    expect(all.length).to.be.at.least(50);
    for (const rule of ['G.39', 'G.40', 'G.41', 'H.42']) {
      expect(all.some((v) => v.rule === rule && v.expect.error !== undefined), `${rule} violating`).to.equal(true);
      expect(all.some((v) => v.rule === rule && v.expect.error === undefined), `${rule} valid`).to.equal(true);
    }
    for (const rule of ['H.43', 'I.47']) expect(all.some((v) => v.rule === rule), rule).to.equal(true);
  });

  for (const file of files) {
    describe(file.file, () => {
      for (const v of file.vectors) {
        it(`${v.id} [${v.rule}] ${v.description}`, () => {
          const bytes = xmlBytes(v.input, v.input_b64);
          const inputs: Array<[string, string | Buffer]> = [['bytes', bytes]];
          if (v.input !== undefined) inputs.push(['string', v.input]);
          for (const [how, input] of inputs) {
            const out = outcome(v, input);
            if (v.expect.error !== undefined) {
              expect(out.error, `${v.id} (${how}) error`).to.equal(v.expect.error);
              if (v.expect.replyCode !== undefined) expect(out.replyCode, `${v.id} (${how}) replyCode`).to.equal(v.expect.replyCode);
            } else {
              expect(out.error, `${v.id} (${how}) unexpected error`).to.equal(undefined);
              expect(out.value, `${v.id} (${how})`).to.deep.equal(v.parser === 'channel0' ? v.expect.message : v.expect.tree);
            }
          }
        });
      }
    });
  }
});
