import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runTranscript, type Transcript } from './transcript-runner.js';

const dir = fileURLToPath(new URL('../../../../../test-vectors/beep/', import.meta.url));
const files = readdirSync(dir).filter((f) => /^sessions-.*\.json$/.test(f)).sort();

describe('session transcripts (test-vectors/beep/sessions-*.json)', function () {
  this.timeout(20000);
  it('has transcript files', () => {
    expect(files.length).to.be.greaterThan(0);
  });
  for (const file of files) {
    const doc = JSON.parse(readFileSync(dir + file, 'utf8')) as { kind: string; vectors: Transcript[] };
    describe(file, () => {
      it('is a beep-session file', () => expect(doc.kind).to.equal('beep-session'));
      for (const t of doc.vectors) {
        it(`${t.id} [${t.rules.join(' ')}] (one chunk)`, () => runTranscript(t, false));
        it(`${t.id} [${t.rules.join(' ')}] (byte by byte)`, () => runTranscript(t, true));
      }
    });
  }
});
