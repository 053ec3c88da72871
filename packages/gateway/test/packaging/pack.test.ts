/**
 * The published shape of every package, as a user gets it: `npm pack` of each workspace package, `npm install
 * ./*.tgz` into an empty folder (dependencies from the npm cache, or the registry), then the CLIs run, each package
 * imports from an ESM script and type-checks from a TypeScript consumer, and every declaration map resolves inside
 * its tarball. Runs once; costs about 15-30 s (mostly `npm install`).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot } from '../e2e/processes.js';

const PACKAGES = ['base', 'beep', 'beam', 'gateway'] as const;

/** The child's environment without the npm_* variables of the `npm test` that may be running us. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: cleanEnv(), maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

async function ok(cmd: string, args: string[], cwd: string): Promise<string> {
  const r = await run(cmd, args, cwd);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

describe('packaging: npm pack tarballs install into an empty folder and work', function () {
  this.timeout(240_000);
  const root = repoRoot();
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
  let work: string;
  let app: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'beamgate-pack-'));
    app = join(work, 'app');
    for (const p of PACKAGES) await ok(npm, ['pack', '--silent', '--pack-destination', work], join(root, 'packages', p));
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    const tgz = readdirSync(work).filter((f) => f.endsWith('.tgz')).map((f) => join(work, f));
    expect(tgz).to.have.length(PACKAGES.length);
    await ok(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', ...tgz], app);
  });

  after(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('every package.json has the metadata a registry user reads', () => {
    for (const p of PACKAGES) {
      const j = JSON.parse(readFileSync(join(app, 'node_modules', '@beamgate', p, 'package.json'), 'utf8')) as Record<string, unknown>;
      for (const k of ['name', 'version', 'description', 'keywords', 'license', 'type', 'engines', 'exports', 'files']) {
        expect(j, `${p}: ${k}`).to.have.property(k);
      }
      expect(j['license'], p).to.equal('MIT');
      expect(existsSync(join(app, 'node_modules', '@beamgate', p, 'LICENSE')), `${p}: LICENSE`).to.equal(true);
      // No public repository URL exists: the field is absent rather than invented.
      if (j['repository'] !== undefined) expect(j['repository']).to.have.property('url');
    }
  });

  it('npx beamgate --help, beamgate --version, beep and beam --help/--version run from the installed tarballs', async () => {
    const cases = [
      ['beamgate', '--help', /Usage: beamgate/],
      ['beamgate', '--version', /0\.1\.0/],
      ['beep', '--help', /beep/],
      ['beep', '--version', /0\.1\.0/],
      ['beam', '--help', /beam/],
      ['beam', '--version', /0\.1\.0/],
    ] as const;
    const results = await Promise.all(cases.map(([bin, arg]) => run(npx, ['--no', '--', bin, arg], app)));
    cases.forEach(([bin, arg, expected], i) => {
      const r = results[i]!;
      expect(r.code, `${bin} ${arg}: ${r.stderr}`).to.equal(0);
      expect(r.stdout + r.stderr, `${bin} ${arg}`).to.match(expected);
    });
  });

  it('each package imports from an ESM script', async () => {
    const script = PACKAGES.map((p) => `import * as ${p} from '@beamgate/${p}';`).join('\n') +
      `\nconsole.log(JSON.stringify({ ${PACKAGES.map((p) => `${p}: Object.keys(${p}).length`).join(', ')} }));\n`;
    writeFileSync(join(app, 'imports.mjs'), script);
    const counts = JSON.parse(await ok(process.execPath, ['imports.mjs'], app)) as Record<string, number>;
    expect(counts['beep']).to.be.greaterThan(10);
    expect(counts['beam']).to.be.greaterThan(10);
    expect(counts['gateway']).to.be.greaterThan(10);
    expect(counts['base']).to.be.greaterThan(0);
  });

  it('the installed types check from a TypeScript consumer (strict, NodeNext)', async () => {
    writeFileSync(
      join(app, 'consumer.ts'),
      [
        `import { listen, connect, type Session } from '@beamgate/beep';`,
        `import { createServer, BeamClient } from '@beamgate/beam';`,
        `import { startGateway } from '@beamgate/gateway';`,
        `const l = await listen({ port: 0 });`,
        `const port: number = l.address().port;`,
        `l.on('session', (s: Session) => s.on('close', (reason?: Error) => void reason));`,
        `void [connect, createServer, BeamClient, startGateway, port];`,
        '',
      ].join('\n'),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
      '--typeRoots', join(root, 'node_modules', '@types'), '--types', 'node', 'consumer.ts'];
    const r = await run(process.execPath, [tsc, ...args], app);
    // Only our declarations and the consumer are judged: ioredis' own .d.ts import 'redis-errors', which has no
    // types (a consumer without skipLibCheck sees that with ioredis alone too).
    const ours = (r.stdout + r.stderr).split('\n').filter((l) => /error TS/.test(l) && !l.startsWith('node_modules/ioredis/'));
    expect(ours).to.deep.equal([]);
  });

  it('the published .d.ts has no underscore members but Node stream hooks and Emscripten exports', () => {
    const allowed = new Set(['_read', '_write', '_writev', '_final', '_destroy', '_construct', '_transform', '_flush', '_malloc', '_free']);
    // wasmoon's Emscripten module exports the C functions as _lua_*/_luaL_* (beam's scripting/lua-api.ts).
    const cExport = /^_luaL?_/;
    const leaked: string[] = [];
    for (const p of PACKAGES) {
      const dir = join(app, 'node_modules', '@beamgate', p, 'dist');
      for (const f of walk(dir).filter((x) => x.endsWith('.d.ts'))) {
        for (const m of readFileSync(f, 'utf8').matchAll(/^\s+(?:readonly |static |private |protected )*(_[A-Za-z]\w*)\??[(:<]/gm)) {
          if (!allowed.has(m[1] as string) && !cExport.test(m[1] as string)) leaked.push(`${f.slice(dir.length + 1)}: ${m[1]}`);
        }
      }
    }
    expect(leaked, 'mark them /** @internal */ or make them private').to.deep.equal([]);
  });

  it('every declaration map points at a source file shipped in the same tarball', () => {
    let maps = 0;
    for (const p of PACKAGES) {
      const dir = join(app, 'node_modules', '@beamgate', p);
      for (const f of walk(join(dir, 'dist')).filter((x) => x.endsWith('.d.ts.map'))) {
        const m = JSON.parse(readFileSync(f, 'utf8')) as { sources: string[]; sourceRoot?: string };
        for (const s of m.sources) {
          const target = join(dirname(f), m.sourceRoot ?? '', s);
          expect(existsSync(target), `${f} -> ${s}`).to.equal(true);
        }
        maps++;
      }
    }
    expect(maps).to.be.greaterThan(50);
  });
});
