import { expect } from 'chai';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSelfSigned } from '../../src/server/tls.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function exec(file: string, args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 10000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const beam = (args: string[]): Promise<Result> => exec(process.execPath, [MAIN, ...args]);

function hasRedisCli(): boolean {
  try {
    return /--tls/.test(execFileSync('redis-cli', ['--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  } catch (e) {
    // redis-cli --help exits non-zero on some versions; its output still tells.
    return /--tls/.test(String((e as { stdout?: unknown }).stdout ?? ''));
  }
}

interface Served {
  child: ChildProcess;
  port: number;
  listening: Record<string, unknown>;
  log: () => string;
}

async function startServe(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      for (const line of log.split('\n')) {
        if (!line.startsWith('{')) continue;
        const l = JSON.parse(line) as Record<string, unknown>;
        if (l['msg'] === 'listening') resolve(l);
      }
    });
    child.once('exit', () => reject(new Error(`serve exited: ${log}`)));
  });
  return { child, port: listening['port'] as number, listening, log: () => log };
}

describe('cli: beam serve over TLS', function () {
  this.timeout(30000);
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('--help lists the TLS flags (the names beep and beamgate use); --cert needs --key, also under its old name', async () => {
    const h = await beam(['serve', '--help']);
    expect(h.code).to.equal(0);
    for (const f of ['--tls ', '--cert FILE', '--key FILE', '--cacert FILE', '--requirepass PW']) expect(h.stdout).to.include(f);
    const r = await beam(['run', '--help']);
    for (const f of ['--tls ', '--cacert FILE', '--sni NAME', '--insecure', 'rediss://']) expect(r.stdout).to.include(f);
    const bad = await beam(['serve', '--tls-cert', '/nonexistent.pem']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/--cert and --key go together/);
  });

  describe('--tls-self-signed --requirepass', () => {
    let srv: Served;
    let cert: string;
    before(async function () {
      srv = await startServe(['--tls-self-signed', '--requirepass', 'pw', '--exec', 'printf']);
      cert = srv.listening['certFile'] as string;
    });
    after(() => {
      if (srv?.child.exitCode === null) srv.child.kill('SIGKILL');
    });

    it('logs the certificate path and fingerprint', () => {
      expect(srv.listening['tls']).to.equal(true);
      expect(existsSync(cert)).to.equal(true);
      expect(srv.listening['fingerprint256']).to.match(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    });

    it('redis-cli --tls --cacert CERT: PING needs -a PW; a wrong password is refused', async function () {
      if (!hasRedisCli()) this.skip();
      const cli = (...a: string[]): Promise<Result> => exec('redis-cli', ['--tls', '--cacert', cert, '-h', '127.0.0.1', '-p', String(srv.port), ...a]);
      expect((await cli('-a', 'pw', '--no-auth-warning', 'PING')).stdout).to.equal('PONG\n');
      expect((await cli('PING')).stdout).to.match(/NOAUTH/);
      const wrong = await cli('-a', 'wrong', '--no-auth-warning', 'PING');
      expect(wrong.stdout + wrong.stderr).to.match(/WRONGPASS|AUTH failed/);
      expect((await cli('-a', 'pw', '--no-auth-warning', 'SET', 'k', 'v')).stdout).to.equal('OK\n');
      expect((await cli('-a', 'pw', '--no-auth-warning', 'GET', 'k')).stdout).to.equal('v\n');
    });

    it('redis-cli --tls without the CA fails verification; plain redis-cli gets no PONG', async function () {
      if (!hasRedisCli()) this.skip();
      const noCa = await exec('redis-cli', ['--tls', '-h', '127.0.0.1', '-p', String(srv.port), '-a', 'pw', '--no-auth-warning', 'PING']);
      expect(noCa.stdout).to.not.include('PONG');
      expect(noCa.stderr + noCa.stdout).to.match(/certificate|SSL|TLS/i);
      const plain = await exec('redis-cli', ['-h', '127.0.0.1', '-p', String(srv.port), '-a', 'pw', '--no-auth-warning', 'PING']);
      expect(plain.stdout).to.not.include('PONG');
    });

    it('beam run over rediss:// with --cacert; without it the certificate is refused (125)', async () => {
      const ok = await beam(['run', '--url', `rediss://:pw@127.0.0.1:${srv.port}`, '--cacert', cert, '--', 'exec', 'printf', 'tls-ok']);
      expect(ok).to.deep.include({ code: 0, stdout: 'tls-ok' });
      const viaFlag = await beam(['run', '--url', `redis://127.0.0.1:${srv.port}`, '--password', 'pw', '--tls', '--cacert', cert, '--sni', 'localhost', '--', 'echo', 'x']);
      expect(viaFlag).to.deep.include({ code: 0, stdout: 'x\n' });
      const refused = await beam(['run', '--url', `rediss://:pw@127.0.0.1:${srv.port}`, '--', 'echo', 'x']);
      expect(refused.code).to.equal(125);
      expect(refused.stderr).to.match(/self[- ]signed/);
    });

    it('removes the generated certificate on SIGTERM', async () => {
      srv.child.kill('SIGTERM');
      const [code] = (await once(srv.child, 'exit')) as [number | null];
      expect(code).to.equal(0);
      expect(srv.log()).to.match(/"msg":"closed"/);
      expect(existsSync(cert)).to.equal(false);
    });
  });

  it('--tls-cert/--tls-key serve the given certificate', async function () {
    if (!hasRedisCli()) this.skip();
    const dir = mkdtempSync(join(tmpdir(), 'beam-tls-test-'));
    dirs.push(dir);
    const made = generateSelfSigned();
    writeFileSync(join(dir, 'cert.pem'), made.cert);
    writeFileSync(join(dir, 'key.pem'), made.key, { mode: 0o600 });
    const srv = await startServe(['--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')]);
    children.push(srv.child);
    expect(srv.listening).to.deep.include({ tls: true, certFile: join(dir, 'cert.pem') });
    const r = await exec('redis-cli', ['--tls', '--cacert', join(dir, 'cert.pem'), '-h', 'localhost', '-p', String(srv.port), 'PING']);
    expect(r.stdout).to.equal('PONG\n');
    srv.child.kill('SIGTERM');
    await once(srv.child, 'exit');
    expect(existsSync(join(dir, 'cert.pem'))).to.equal(true);
  });

  it('redis-cli -a PW against a plain --requirepass server', async function () {
    if (!hasRedisCli()) this.skip();
    const srv = await startServe(['--requirepass', 's3cret']);
    children.push(srv.child);
    expect(srv.listening['tls']).to.equal(false);
    const cli = (...a: string[]): Promise<Result> => exec('redis-cli', ['-h', '127.0.0.1', '-p', String(srv.port), ...a]);
    expect((await cli('-a', 's3cret', '--no-auth-warning', 'PING')).stdout).to.equal('PONG\n');
    expect((await cli('PING')).stdout).to.match(/NOAUTH/);
    const wrong = await cli('-a', 'nope', '--no-auth-warning', 'PING');
    expect(wrong.stdout + wrong.stderr).to.match(/WRONGPASS|AUTH failed/);
    srv.child.kill('SIGTERM');
    await once(srv.child, 'exit');
  });

  it('beam run --user NAME --pass PW authenticates as an ACL user (--url redis://USER:PW@ too)', async function () {
    const srv = await startServe(['--user', 'bob:s3cret', '--exec', 'printf']);
    children.push(srv.child);
    const url = `redis://127.0.0.1:${srv.port}`;
    const ok = await beam(['run', '--url', url, '--user', 'bob', '--pass', 's3cret', '--', 'echo', 'hi']);
    expect(ok.stdout).to.equal('hi\n');
    const viaUrl = await beam(['run', '--url', `redis://bob:s3cret@127.0.0.1:${srv.port}`, '--', 'echo', 'there']);
    expect(viaUrl.stdout).to.equal('there\n');
    const wrong = await beam(['run', '--url', url, '--user', 'bob', '--pass', 'nope', '--', 'echo', 'x']);
    expect(wrong.code).to.equal(125);
    expect(wrong.stderr).to.match(/WRONGPASS/);
    const noPass = await beam(['run', '--url', url, '--user', 'bob', '--', 'echo', 'x']);
    expect(noPass.code).to.equal(2);
    srv.child.kill('SIGTERM');
    await once(srv.child, 'exit');
  });
});
