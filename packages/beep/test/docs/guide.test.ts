/**
 * Runs the code of docs/beep.md as written: every ```js block whose first line is `// file: NAME` is saved under a
 * temporary directory, with `'@beamgate/beep'` pointed at this build, and executed with node.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// dist/test/docs -> repo root
const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const INDEX = pathToFileURL(fileURLToPath(new URL('../../src/index.js', import.meta.url))).href;

function snippets(): Map<string, string> {
  const md = readFileSync(join(ROOT, 'docs', 'beep.md'), 'utf8');
  const out = new Map<string, string>();
  for (const m of md.matchAll(/```js\n\/\/ file: (\S+)\n([\s\S]*?)```/g)) {
    out.set(m[1] as string, (m[2] as string).replaceAll(`'@beamgate/beep'`, `'${INDEX}'`));
  }
  return out;
}

function run(file: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('docs/beep.md: the guide code runs', function () {
  this.timeout(30000);
  let dir: string;
  let server: ChildProcess | undefined;
  const code = snippets();

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'beep-guide-'));
    for (const [name, text] of code) writeFileSync(join(dir, name), text);
  });

  after(async () => {
    if (server !== undefined && server.exitCode === null) {
      const gone = new Promise((r) => server?.once('exit', r));
      server.kill('SIGTERM');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('has the three files', () => {
    expect([...code.keys()]).to.have.members(['echo-server.mjs', 'echo-client.mjs', 'stream-upload.mjs']);
  });

  it('echo-client.mjs talks to echo-server.mjs', async () => {
    const srv = spawn(process.execPath, [join(dir, 'echo-server.mjs')], {
      env: { ...process.env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server = srv;
    const port = await new Promise<string>((resolve, reject) => {
      let out = '';
      srv.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /listening on port (\d+)/.exec(out);
        if (m) resolve(m[1] as string);
      });
      srv.once('exit', (c) => reject(new Error(`server exited with ${c}`)));
    });
    const r = await run(join(dir, 'echo-client.mjs'), { PORT: port });
    expect(r.stderr).to.equal('');
    expect(r.code).to.equal(0);
    expect(r.stdout).to.equal('hello, BEEP (text/plain)\nERR 550: asked to fail\n');
    const exited = new Promise<number | null>((resolve) => srv.once('exit', (c) => resolve(c)));
    srv.kill('SIGTERM');
    expect(await exited).to.equal(0);
  });

  it('stream-upload.mjs moves 32 MiB through a 1 MiB cap', async () => {
    const r = await run(join(dir, 'stream-upload.mjs'));
    expect(r.stderr).to.equal('');
    expect(r.stdout).to.equal('upload ok\ndownloaded 8 MiB\n');
    expect(r.code).to.equal(0);
  });
});
