import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the directory holding .dependency-cruiser.cjs above this file. */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, '.dependency-cruiser.cjs'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('.dependency-cruiser.cjs not found');
    dir = up;
  }
  return dir;
}

const ROOT = repoRoot();
const DEPCRUISE = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const FILE_LENGTH = path.join(ROOT, 'tools', 'check-file-length.mjs');

interface Run {
  code: number;
  out: string;
}

function run(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

const depcruise = (cwd: string): Promise<Run> =>
  run([DEPCRUISE, '--config', path.join(ROOT, '.dependency-cruiser.cjs'), '--output-type', 'err', 'packages/*/src'], cwd);

describe('repository rules (dependency-cruiser and the file length check)', function () {
  this.timeout(180_000);

  it('the repository keeps them: no cycle, no upward import, beep and beam apart, no src file over 600 lines', async () => {
    const deps = await depcruise(ROOT);
    expect(deps.code, deps.out).to.equal(0);
    const lengths = await run([FILE_LENGTH, ROOT], ROOT);
    expect(lengths.code, lengths.out).to.equal(0);
  });

  describe('on a repository that breaks them', () => {
    let fixture = '';
    const file = (rel: string, text: string): void => {
      const p = path.join(fixture, rel);
      mkdirSync(path.dirname(p), { recursive: true });
      writeFileSync(p, text);
    };

    before(() => {
      fixture = mkdtempSync(path.join(os.tmpdir(), 'beamgate-rules-'));
      // An upward import: beam's wire/ (lowest layer) importing context/.
      file('packages/beam/src/wire/codec.ts', "import { table } from '../context/table.js';\nexport const codec = table;\n");
      file('packages/beam/src/context/table.ts', 'export const table = 1;\n');
      // A cycle inside gateway's backend/.
      file('packages/gateway/src/backend/a.ts', "import { b } from './b.js';\nexport const a = (): number => b();\n");
      file('packages/gateway/src/backend/b.ts', "import { a } from './a.js';\nexport const b = (): number => a();\n");
      // beep reaching into beam.
      file('packages/beep/src/wire/frame.ts', "import { codec } from '../../../beam/src/wire/codec.js';\nexport const frame = codec;\n");
      // A file over 600 lines.
      file('packages/beam/src/context/long.ts', 'export const x = 1;\n'.repeat(601));
    });

    after(() => {
      if (fixture !== '') rmSync(fixture, { recursive: true, force: true });
    });

    it('dependency-cruiser fails and names each broken rule', async () => {
      const r = await depcruise(fixture);
      expect(r.code, r.out).to.not.equal(0);
      expect(r.out).to.match(/layer-beam-wire: packages\/beam\/src\/wire\/codec\.ts → packages\/beam\/src\/context\/table\.ts/);
      expect(r.out).to.match(/no-circular: packages\/gateway\/src\/backend\/a\.ts/);
      expect(r.out).to.match(/beep-not-beam: packages\/beep\/src\/wire\/frame\.ts/);
      expect(r.out).to.match(/packages-by-name-only: packages\/beep\/src\/wire\/frame\.ts/);
    });

    it('the file length check fails and names the long file', async () => {
      const r = await run([FILE_LENGTH, fixture], fixture);
      expect(r.code).to.equal(1);
      expect(r.out).to.match(/packages\/beam\/src\/context\/long\.ts: 601 lines/);
    });
  });
});
