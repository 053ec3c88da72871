/** Operations of the beam CLI: --version, /metrics of `beam serve` and `beam worker`, SIGHUP reload of `beam serve`. */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { generateSelfSigned } from '../../src/server/tls.js';
import { readJob, spawnWorker, startJob, startRedisServer, waitFor, type Server, type WorkerProcess } from '../worker/harness.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function beam(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `beam serve ARGS` on a free port; resolves once it logged `listening`, with its records. */
async function serve(args: string[]): Promise<{ child: ChildProcess; records: Array<Record<string, unknown>>; listening: Record<string, unknown>; next: (msg: string) => Promise<Record<string, unknown>> }> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const records: Array<Record<string, unknown>> = [];
  let rest = '';
  const waiters: Array<{ msg: string; resolve: (r: Record<string, unknown>) => void }> = [];
  child.stderr!.on('data', (d: Buffer) => {
    rest += d.toString();
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      const r = JSON.parse(line) as Record<string, unknown>;
      records.push(r);
      for (const w of waiters.splice(0)) if (w.msg === r['msg']) w.resolve(r);
      else waiters.push(w);
    }
  });
  const next = (msg: string): Promise<Record<string, unknown>> => {
    const seen = records.find((r) => r['msg'] === msg);
    return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ msg, resolve }));
  };
  const listening = await Promise.race([
    next('listening'),
    new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`beam serve exited ${code}`)))),
  ]);
  return { child, records, listening, next };
}

/** One RESP command on `sock`, resolving to the first reply line. */
function command(sock: net.Socket, ...argv: string[]): Promise<string> {
  return new Promise((resolve) => {
    sock.once('data', (d: Buffer) => resolve(d.toString().split('\r\n')[0]!));
    sock.write(`*${argv.length}\r\n${argv.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
}

describe('cli: beam operations (--version, --metrics, SIGHUP)', function () {
  this.timeout(60000);
  const dir = mkdtempSync(join(tmpdir(), 'beam-ops-'));
  const children: ChildProcess[] = [];
  const sockets: net.Socket[] = [];
  let redis: Server | undefined;
  let worker: WorkerProcess | undefined;
  after(async () => {
    for (const s of sockets) s.destroy();
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await worker?.stop();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the version on the program and on every command, exit 0', async () => {
    for (const args of [['--version'], ['serve', '--version'], ['run', '-V']]) {
      const r = await beam(args);
      expect(r.code, args.join(' ')).to.equal(0);
      expect(r.stdout).to.match(/^beam \d+\.\d+\.\d+\n$/);
    }
  });

  it('beam serve: /metrics has the process metrics, commands by name and a job histogram after a job', async () => {
    const s = await serve(['--exec', 'true', '--metrics', '127.0.0.1:0']);
    children.push(s.child);
    expect(s.listening).to.include({ level: 'info', name: 'beam', msg: 'listening' });
    const sock = net.connect(s.listening['port'] as number, '127.0.0.1');
    sockets.push(sock);
    await new Promise((r) => sock.once('connect', r));
    const id = Number((await command(sock, 'RPUSH', '/jobs', 'true')).slice(1)) - 1;
    expect(await command(sock, 'SET', `/jobs/${id}`, '')).to.equal('+OK');
    await s.next('job exit');
    const text = await (await fetch(`http://${s.listening['metrics'] as string}/metrics`)).text();
    expect(text).to.match(/^process_cpu_seconds_total\{[^}]*\} \d/m);
    expect(text).to.match(/^beamgate_beam_job_duration_seconds_count\{[^}]*\} 1$/m);
    expect(text).to.match(/^beamgate_beam_commands_total\{[^}]*command="rpush"[^}]*\} 1$/m);
    expect(text).to.match(/^beamgate_beam_jobs_finished_total\{[^}]*status="0"[^}]*\} 1$/m);
  });

  it('beam serve: SIGHUP reloads the certificate and the users; an open connection keeps working', async () => {
    const a = generateSelfSigned();
    const b = generateSelfSigned();
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    const users = join(dir, 'users');
    writeFileSync(cert, a.cert);
    writeFileSync(key, a.key);
    writeFileSync(users, 'alice:pw-one\n');
    const s = await serve(['--cert', cert, '--key', key, '--users-file', users]);
    children.push(s.child);
    const port = s.listening['port'] as number;
    const open = (): Promise<tls.TLSSocket> => new Promise((resolve, reject) => {
      const t = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => resolve(t));
      t.once('error', reject);
      sockets.push(t);
    });
    const first = await open();
    expect(first.getPeerX509Certificate()?.fingerprint256).to.equal(a.fingerprint256);
    expect(await command(first, 'AUTH', 'alice', 'pw-one')).to.equal('+OK');

    writeFileSync(cert, b.cert);
    writeFileSync(key, b.key);
    writeFileSync(users, 'bob:pw-two\n');
    s.child.kill('SIGHUP');
    const reloaded = await s.next('reloaded');
    expect(reloaded['users']).to.deep.equal(['bob']);
    // The connection made before the reload keeps its TLS session and its authentication.
    expect(await command(first, 'PING')).to.equal('+PONG');
    const second = await open();
    expect(second.getPeerX509Certificate()?.fingerprint256).to.equal(b.fingerprint256);
    expect(await command(second, 'AUTH', 'alice', 'pw-one')).to.match(/^-WRONGPASS/);
    expect(await command(second, 'AUTH', 'bob', 'pw-two')).to.equal('+OK');
  });

  it('beam worker: /metrics has the process metrics and a job histogram after a job', async function () {
    try {
      redis = await startRedisServer();
    } catch {
      this.skip();
    }
    worker = await spawnWorker(['--context', `redis://127.0.0.1:${redis!.port}`, '--exec', 'true', '--metrics', '127.0.0.1:0']);
    const ready = worker.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => r['msg'] === 'worker ready')!;
    const r = new Redis({ port: redis!.port, host: '127.0.0.1' });
    try {
      const id = await startJob(r, 'true');
      expect((await readJob(r, id)).status).to.equal(0);
    } finally {
      r.disconnect();
    }
    const text = await waitFor('the job in the histogram', async () => {
      const t = await (await fetch(`http://${ready['metrics'] as string}/metrics`)).text();
      return /^beamgate_beam_job_duration_seconds_count\{[^}]*\} 1$/m.test(t) ? t : undefined;
    });
    expect(text).to.match(/^process_cpu_seconds_total\{[^}]*program="beam-worker"[^}]*\} \d/m);
  });
});
