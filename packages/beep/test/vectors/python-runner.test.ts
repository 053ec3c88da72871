/**
 * The second-language example runner (test-vectors/examples/run_vectors.py, Python standard library only) must
 * agree with every frame and XML vector, so "language-neutral" is tested, not claimed. It must also notice a
 * vector that lies.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const vectors = fileURLToPath(new URL('../../../../../test-vectors/', import.meta.url));
const runner = join(vectors, 'examples', 'run_vectors.py');

function py(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('python3', [runner, ...args], { timeout: 60000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

describe('test-vectors/examples/run_vectors.py (Python, standard library only)', function () {
  this.timeout(60000);

  it('agrees with every frame and XML vector', async () => {
    const r = await py([vectors]);
    expect(r.code, r.out).to.equal(0);
    expect(r.out).to.match(/^(\d+)\/\1 frame and XML vectors agree/m);
  });

  it('fails on a vector whose expectation is wrong', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'beamgate-vectors-'));
    try {
      cpSync(join(vectors, 'beep'), join(dir, 'beep'), { recursive: true });
      const file = join(dir, 'beep', 'frames.json');
      const doc = JSON.parse(readFileSync(file, 'utf8')) as { vectors: { expect: { error?: string } }[] };
      const v = doc.vectors.find((x) => x.expect.error === 'BEEP_BAD_TRAILER');
      if (v) v.expect.error = 'BEEP_BAD_MORE';
      writeFileSync(file, JSON.stringify(doc));
      const r = await py([dir]);
      expect(r.code).to.equal(1);
      expect(r.out).to.match(/^FAIL frames\.json /m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
