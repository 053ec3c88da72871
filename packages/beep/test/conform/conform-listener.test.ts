/**
 * `beep conform HOST:PORT` against live listeners: our own (every applicable MUST holds, at least 40 rules pass)
 * and deliberately broken ones (each caught by the rule that forbids what it does).
 */
import { expect } from 'chai';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { listen, type Listener } from '../../src/api/connect.js';
import { checkListener, type ListenerCheckOptions } from '../../src/conform/check-listener.js';
import { exitStatus } from '../../src/conform/report.js';
import { defaultVectorsDir } from '../../src/conform/vectors.js';
import { testProfiles } from '../../src/testing/test-profiles.js';
import { testCert } from '../tuning/helpers.js';
import { BREAKAGES, brokenListener } from './broken-peers.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout: 60000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const base = (port: number): ListenerCheckOptions => ({
  target: { host: '127.0.0.1', port },
  vectorsDir: defaultVectorsDir(),
  stepTimeout: 2000,
  vectorTimeout: 10000,
  quietMs: 150,
  concurrency: 4,
});

describe('beep conform against a listener', function () {
  this.timeout(60000);

  describe('our own listener (window 4096, TLS offered)', () => {
    let listener: Listener;
    before(async () => {
      listener = await listen({ port: 0, profiles: testProfiles(), receiveWindow: 4096, tls: { key: testCert().key, cert: testCert().cert } });
    });
    after(() => listener.close(500));

    it('the CLI exits 0 and prints a PASS line for at least 40 rules; --json agrees', async () => {
      const port = (listener.server.address() as { port: number }).port;
      const text = await runCli(['conform', `127.0.0.1:${port}`, '--tls']);
      expect(text.code, text.stdout + text.stderr).to.equal(0);
      const passLines = text.stdout.split('\n').filter((l) => /^PASS [A-K]\.\d+ /.test(l));
      expect(passLines.length, text.stdout).to.be.at.least(40);
      expect(text.stdout).to.not.match(/^FAIL /m);
      const json = await runCli(['conform', `127.0.0.1:${port}`, '--tls', '--json']);
      const doc = JSON.parse(json.stdout) as { status: number; rules: { id: string; verdict: string }[] };
      expect(doc.status).to.equal(0);
      expect(doc.rules.filter((r) => r.verdict === 'PASS').length).to.equal(passLines.length);
    });
  });

  describe('`beep listen` with no flags (it announces a 65536-octet window)', () => {
    let child: ChildProcess;
    let port: number;
    before(async () => {
      child = spawn(process.execPath, [cli, 'listen', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
      port = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stderr?.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /^{.*"port":(\d+).*"msg":"listening"}$/m.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.once('exit', (code) => reject(new Error(`beep listen exited (${code}): ${out}`)));
      });
    });
    after(async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
    });

    it('the CLI exits 0 with at least 40 PASS lines; the window vectors run scaled to the announced window', async () => {
      const text = await runCli(['conform', `127.0.0.1:${port}`]);
      expect(text.code, text.stdout + text.stderr).to.equal(0);
      const passLines = text.stdout.split('\n').filter((l) => /^PASS [A-K]\.\d+ /.test(l));
      expect(passLines.length, text.stdout).to.be.at.least(40);
      expect(text.stdout).to.not.match(/^FAIL /m);
      for (const rule of ['D.25', 'E.30', 'E.31']) expect(text.stdout).to.match(new RegExp(`^PASS ${rule.replace('.', '\\.')} `, 'm'));
    });
  });

  const cases: [string, string, string[]][] = [
    ['wrong-seqno', 'D.24', ['C.11']],
    ['beyond-window', 'D.25', ['C.11']],
    ['out-of-order', 'C.20', ['C.20']],
    ['nul-payload', 'C.17', ['C.16']],
    ['ignore-close', 'F.38', ['F.38']],
  ];
  for (const [name, rule, only] of cases) {
    it(`a listener with ${name} fails ${rule} (exit status 1), with the octets that prove it`, async () => {
      const { listener, port } = await brokenListener(BREAKAGES[name]);
      try {
        const r = await checkListener({ ...base(port), only });
        const failed = r.reports.filter((x) => x.verdict === 'FAIL');
        expect(failed.map((x) => x.id), JSON.stringify(failed, null, 1)).to.include(rule);
        expect(exitStatus(r.reports)).to.equal(1);
        const f = failed.find((x) => x.id === rule);
        expect(f?.failures[0]?.bytes, 'proving octets').to.be.a('string').and.not.equal(undefined);
      } finally {
        await listener.close(200);
      }
    });
  }

  it('the same vectors pass against the intact listener (the breakage is what fails)', async () => {
    const { listener, port } = await brokenListener(undefined);
    try {
      const r = await checkListener({ ...base(port), only: ['C.11', 'C.20', 'C.16', 'F.38'] });
      expect(r.reports.filter((x) => x.verdict === 'FAIL')).to.deep.equal([]);
    } finally {
      await listener.close(200);
    }
  });

  it('a silent peer cannot hang it: every wait ends at the step timeout', async () => {
    const net = await import('node:net');
    const server = net.createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const t0 = Date.now();
      const r = await checkListener({ ...base(port), stepTimeout: 200, vectorTimeout: 400, only: ['F.34', 'A.1'] });
      expect(Date.now() - t0).to.be.below(20000);
      expect(r.reports.find((x) => x.id === 'F.34')?.verdict).to.equal('FAIL');
    } finally {
      server.close();
    }
  });
});
