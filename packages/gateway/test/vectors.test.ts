/**
 * Self-consistency of test-vectors/gateway/*.json: every `send` is one well-formed frame whose size and seqno are
 * right, the XML in expectations parses, and start contents are judged by the gateway's parser as the vector says.
 */
import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseXml } from '../src/wire/xml.js';
import { parseJobRequest } from '../src/wire/job-xml.js';
import { parseEntity } from '../src/wire/entity.js';
import { GatewayXmlError } from '../src/errors.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '../../../../test-vectors/gateway');

interface Step {
  side: string;
  dir: string;
  bytes?: string;
  bytes_b64?: string;
  message?: { type: string; xml?: string; msgno?: unknown };
  final?: string;
}
interface Vector {
  id: string;
  role: string;
  steps: Step[];
}

const HEADER = /^(MSG|RPY|ERR|ANS|NUL) (\S+) (\S+) ([.*]) (\d+) (\d+)(?: (\d+))?\r\n/;

describe('gateway test vectors', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  it('exist', () => {
    expect(files).to.include.members(['job.json', 'resp.json', 'reverse.json']);
  });

  for (const file of files) {
    const doc = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { kind: string; version: number; vectors: Vector[] };
    describe(file, () => {
      it('has the documented envelope and unique ids', () => {
        expect(doc.kind).to.equal('gateway-transcript');
        expect(doc.version).to.equal(1);
        const ids = doc.vectors.map((v) => v.id);
        expect(new Set(ids).size).to.equal(ids.length);
      });

      for (const v of doc.vectors) {
        it(`${v.id}: sends are single frames with right size and seqno; XML parses`, () => {
          const seq = new Map<string, number>();
          for (const s of v.steps) {
            expect(['beep', 'beam']).to.include(s.side);
            if (s.side === 'beep' && s.dir === 'send') {
              const bytes = s.bytes !== undefined ? Buffer.from(s.bytes, 'latin1') : Buffer.from(s.bytes_b64!, 'base64');
              const text = bytes.toString('latin1');
              const m = HEADER.exec(text);
              expect(m, text.slice(0, 40)).to.not.equal(null);
              const [header, type, channel, , , seqno, size, ansno] = m!;
              expect(type === 'ANS').to.equal(ansno !== undefined);
              const payload = bytes.subarray(header!.length, bytes.length - 5);
              expect(bytes.subarray(bytes.length - 5).toString()).to.equal('END\r\n');
              expect(payload.length).to.equal(Number(size));
              expect(Number(seqno)).to.equal(seq.get(channel!) ?? 0);
              seq.set(channel!, Number(seqno) + payload.length);
              if (type !== 'NUL') parseEntity(payload);
              const start = /<start number='\d+'><profile uri='urn:beamgate:profile:job'><!\[CDATA\[(.*)\]\]><\/profile><\/start>/.exec(text);
              if (start) {
                // The expectation that follows the start says whether the content is acceptable.
                const next = v.steps[v.steps.indexOf(s) + 1 + v.steps.slice(v.steps.indexOf(s) + 1).findIndex((x) => x.dir === 'recv')];
                const refused = next?.message?.type === 'ERR' && /code='501'/.test(next.message.xml ?? '');
                if (refused) expect(() => parseJobRequest(start[1]!)).to.throw(GatewayXmlError);
                else expect(() => parseJobRequest(start[1]!)).not.to.throw();
              }
            }
            if (s.message?.xml) parseXml(s.message.xml);
            if (s.final) parseXml(s.final);
          }
        });
      }
    });
  }
});
