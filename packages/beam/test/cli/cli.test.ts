import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startServer } from '../client/server-harness.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function beam(args: string[], input?: string): Promise<Result> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  if (input !== undefined) child.stdin.end(input);
  else child.stdin.end();
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('cli: beam', function () {
  this.timeout(20000);

  it('--help on every command', async function () {
    // Four node processes: each can take seconds to start on a loaded machine, so they start together.
    this.timeout(60_000);
    const all = [['--help'], ['serve', '--help'], ['run', '--help']];
    const [bad, ...helps] = await Promise.all([beam(['run', '--bogus']), ...all.map((args) => beam(args))]);
    helps.forEach((r, i) => {
      expect(r.code, all[i]!.join(' ')).to.equal(0);
      expect(r.stdout).to.match(/^Usage: beam/);
    });
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/bogus/);
  });

  describe('run', () => {
    let srv: Awaited<ReturnType<typeof startServer>>;
    before(async () => {
      srv = await startServer({ exec: ['printf'] });
    });
    after(async () => {
      await srv.close();
    });

    it('streams stdout and exits with the job status', async () => {
      const r = await beam(['run', '--url', `redis://127.0.0.1:${srv.port}`, '--', 'echo', 'hi', 'there']);
      expect(r).to.deep.include({ code: 0, stdout: 'hi there\n', stderr: '' });
    });

    it('pipes stdin to stream 0', async () => {
      const r = await beam(['run', '--url', `redis://127.0.0.1:${srv.port}`, '--', 'cat'], 'line 1\nline 2\n');
      expect(r).to.deep.include({ code: 0, stdout: 'line 1\nline 2\n' });
    });

    it('runs an allowed program and refuses others with 126', async () => {
      const ok = await beam(['run', '--url', `redis://127.0.0.1:${srv.port}`, '--env', 'X=1', '--', 'exec', 'printf', '%s|%s', 'a b', 'c']);
      expect(ok).to.deep.include({ code: 0, stdout: 'a b|c' });
      const no = await beam(['run', '--url', `redis://127.0.0.1:${srv.port}`, '--', 'exec', 'ls']);
      expect(no.code).to.equal(126);
      expect(no.stderr).to.match(/not allowed/);
      const unknown = await beam(['run', '--url', `redis://127.0.0.1:${srv.port}`, '--', 'nosuch']);
      expect(unknown.code).to.equal(127);
    });

    it('exits 125 when it cannot connect', async () => {
      const r = await beam(['run', '--url', 'redis://127.0.0.1:1', '--', 'echo']);
      expect(r.code).to.equal(125);
      expect(r.stderr).to.match(/^beam: /);
    });
  });

  describe('serve', () => {
    let child: ChildProcess | undefined;
    afterEach(() => {
      if (child && child.exitCode === null) child.kill('SIGKILL');
    });

    it('logs JSON, serves jobs, and closes cleanly on SIGTERM', async () => {
      child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--exec', 'printf'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      const port = await new Promise<number>((resolve, reject) => {
        child!.stderr!.on('data', (d: Buffer) => {
          log += d.toString();
          const m = /"port":(\d+)/.exec(log);
          if (m) resolve(Number(m[1]));
        });
        child!.once('exit', () => reject(new Error(`serve exited: ${log}`)));
      });
      const r = await beam(['run', '--url', `redis://127.0.0.1:${port}`, '--', 'exec', 'printf', 'ok']);
      expect(r).to.deep.include({ code: 0, stdout: 'ok' });
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code).to.equal(0);
      const lines = log.trim().split('\n').map((l) => JSON.parse(l) as { msg: string });
      expect(lines.map((l) => l.msg)).to.include.members(['listening', 'job start', 'job exit', 'shutting down', 'closed']);
    });
  });
});
