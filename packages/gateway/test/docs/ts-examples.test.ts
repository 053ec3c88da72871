/**
 * Every TypeScript example in the READMEs and docs/ (```ts blocks) compiles as a library user would write it:
 * imports by package name (`@beamgate/beep`, never `../src`), strict, NodeNext, against the packages' emitted
 * `.d.ts`. Also the compile-fail fixtures in ./compile-fail: each line marked `// error TSnnnn` must fail with that
 * code and no other line may fail (typed events, typed `Listener.address()`). One tsc run for all of them.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { repoRoot } from '../e2e/processes.js';

const PACKAGES = ['base', 'beep', 'beam', 'gateway'];

interface Example {
  /** Where it comes from, e.g. docs/beam.md:201 (the line of the opening fence). */
  origin: string;
  file: string;
  code: string;
}

function markdownFiles(root: string): string[] {
  const out = [join(root, 'README.md'), ...PACKAGES.map((p) => join(root, 'packages', p, 'README.md'))];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.md')) out.push(join(dir, e.name));
    }
  };
  walk(join(root, 'docs'));
  return out;
}

function tsBlocks(markdown: string): Array<{ line: number; code: string }> {
  const blocks: Array<{ line: number; code: string }> = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    blocks.push({ line: start + 1, code: body.join('\n') });
  }
  return blocks;
}

function examples(root: string): Example[] {
  const out: Example[] = [];
  for (const md of markdownFiles(root)) {
    const rel = relative(root, md);
    for (const b of tsBlocks(readFileSync(md, 'utf8'))) {
      const file = `${rel.replace(/[^A-Za-z0-9]+/g, '_')}_${b.line}.ts`;
      // `export {}` makes every example a module (top-level await, no globals shared between examples).
      out.push({ origin: `${rel}:${b.line}`, file, code: `${b.code}\nexport {};\n` });
    }
  }
  return out;
}

function tsc(root: string, cwd: string): Promise<string> {
  return new Promise((resolve) => {
    const bin = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    execFile(process.execPath, [bin, '-p', 'tsconfig.json', '--pretty', 'false'], { cwd, maxBuffer: 16 << 20 }, (_err, stdout, stderr) =>
      resolve(stdout + stderr),
    );
  });
}

describe('docs: TypeScript examples compile as a consumer writes them', function () {
  this.timeout(180_000);
  const root = repoRoot();
  const found = examples(root);
  const failDir = join(root, 'packages', 'gateway', 'test', 'docs', 'compile-fail');
  const fixtures = readdirSync(failDir).filter((f) => f.endsWith('.ts'));
  let dir: string;
  let diagnostics: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'beamgate-ts-examples-'));
    mkdirSync(join(dir, 'node_modules', '@beamgate'), { recursive: true });
    for (const p of PACKAGES) symlinkSync(join(root, 'packages', p), join(dir, 'node_modules', '@beamgate', p), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
          skipLibCheck: true, types: ['node'], typeRoots: [join(root, 'node_modules', '@types')],
        },
        include: ['examples/*.ts', 'compile-fail/*.ts'],
      }),
    );
    mkdirSync(join(dir, 'examples'));
    mkdirSync(join(dir, 'compile-fail'));
    for (const e of found) writeFileSync(join(dir, 'examples', e.file), e.code);
    for (const f of fixtures) writeFileSync(join(dir, 'compile-fail', f), readFileSync(join(failDir, f)));
    diagnostics = (await tsc(root, dir)).split('\n').filter((l) => /error TS\d+/.test(l));
  });

  after(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('finds the examples (README, package READMEs, docs/)', () => {
    expect(found.length).to.be.greaterThan(5);
    expect(found.map((e) => e.origin)).to.include.members(['packages/beep/README.md:7']);
  });

  it('every example type-checks', () => {
    const wrong = diagnostics
      .filter((d) => d.startsWith('examples/'))
      .map((d) => {
        const m = /^examples\/([^(]+)\((\d+),\d+\): (.*)$/.exec(d);
        const e = found.find((x) => x.file === m?.[1]);
        // Report against the markdown: the fence line + the line inside the block.
        return e !== undefined && m !== null ? `${e.origin.replace(/:\d+$/, '')}:${Number(e.origin.split(':')[1]) + Number(m[2])}: ${m[3]}` : d;
      });
    expect(wrong).to.deep.equal([]);
  });

  for (const f of fixtures) {
    it(`compile-fail/${f}: exactly the marked lines fail, with the marked codes`, () => {
      const expected = readFileSync(join(failDir, f), 'utf8')
        .split('\n')
        .flatMap((l, i) => {
          const m = /\/\/ error (TS\d+)\s*$/.exec(l);
          return m !== null ? [`${i + 1} ${m[1]}`] : [];
        });
      const got = diagnostics
        .filter((d) => d.startsWith(`compile-fail/${f}(`))
        .map((d) => {
          const m = /\((\d+),\d+\): error (TS\d+)/.exec(d);
          return `${m?.[1]} ${m?.[2]}`;
        });
      expect(expected.length).to.be.greaterThan(0);
      expect([...new Set(got)]).to.deep.equal(expected);
    });
  }
});
