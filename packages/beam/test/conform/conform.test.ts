/** `beam conform`: passes against `beam serve`, fails against a plain Redis (which has no job engine). */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { checkBeam, defaultVectorsDir } from '../../src/conform/check.js';
import { startServer } from '../client/server-harness.js';
import { hasRedisServer, startRedis } from '../context/helpers.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

describe('beam conform', function () {
  this.timeout(60000);

  it('against beam serve: every BEAM rule passes and the CLI exits 0', async () => {
    const srv = await startServer();
    try {
      const out = await new Promise<{ code: number; stdout: string }>((resolve) =>
        execFile(process.execPath, [cli, 'conform', `redis://127.0.0.1:${srv.port}`, '--json'], { timeout: 30000 }, (err, stdout) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }),
        ),
      );
      expect(out.code, out.stdout).to.equal(0);
      const doc = JSON.parse(out.stdout) as { rules: { id: string; verdict: string }[] };
      expect(doc.rules.filter((r) => r.verdict !== 'PASS').map((r) => r.id)).to.deep.equal([]);
      expect(doc.rules.map((r) => r.id)).to.include.members(['BEAM.ids', 'BEAM.exit', 'BEAM.127', 'BEAM.err', 'BEAM.sync']);
    } finally {
      await srv.close();
    }
  });

  describe('against a plain redis-server', () => {
    let redis: { proc: ChildProcess; port: number } | undefined;
    before(async function () {
      if (!hasRedisServer()) return this.skip(); // nothing to check against
      redis = await startRedis();
    });
    after(() => redis?.proc.kill());

    it('fails the job rules (no job ever runs) within the timeouts, and the reserved keys; SYNC passes', async () => {
      const v = await checkBeam({ url: `redis://127.0.0.1:${redis!.port}`, vectorsDir: defaultVectorsDir(), timeout: 300 });
      const by = new Map(v.map((r) => [r.id, r.verdict]));
      expect(by.get('BEAM.exit')).to.equal('FAIL');
      expect(by.get('BEAM.127')).to.equal('FAIL');
      expect(by.get('BEAM.err')).to.equal('FAIL');
      expect(by.get('BEAM.sync')).to.equal('PASS');
    });
  });
});
