import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { cliPath, spawnNode, type Spawned } from './processes.js';

function runCli(script: string, args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

describe('gateway e2e: the beamgate CLI', function () {
  this.timeout(30000);
  const main = cliPath('gateway')!;
  let serve: Spawned | undefined;
  let beep = '';
  let metrics = '';

  before(async () => {
    serve = spawnNode(main, ['serve', '--beep', '127.0.0.1:0', '--resp', 'off', '--metrics', '127.0.0.1:0', '--log-level', 'info']);
    const l = await serve.waitFor((x) => x['msg'] === 'listening' && x['component'] === 'beep');
    beep = l['address'] as string;
    metrics = (await serve.waitFor((x) => x['msg'] === 'listening' && x['component'] === 'metrics'))['address'] as string;
  });
  after(async () => {
    await serve?.stop('SIGKILL');
  });

  it('prints help', async () => {
    const r = await runCli(main, ['--help']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/^Usage: beamgate \[options\] \[command\]/);
    for (const args of [['--version'], ['serve', '--version'], ['run', '-V']]) {
      const v = await runCli(main, args);
      expect(v.code, args.join(' ')).to.equal(0);
      expect(v.stdout).to.match(/^beamgate \d+\.\d+\.\d+\n$/);
    }
    const s = await runCli(main, ['serve', '--help']);
    expect(s.stdout).to.include('--context URL');
  });

  it('refuses bad configuration with exit 2 and names the source', async () => {
    const r = await runCli(main, ['serve', '--beep', 'nowhere']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/^beamgate: --beep: expected HOST:PORT/);
  });

  it('logs structured JSON lines', () => {
    const l = serve!.lines.find((x) => x['msg'] === 'listening')!;
    expect(l['level']).to.equal('info');
    expect(Date.parse(l['time'] as string)).to.be.greaterThan(0);
  });

  it('runs a job with `beamgate run`, relaying stdin, stdout and the exit status', async () => {
    const r = await runCli(main, ['run', '--beep', beep, '--', 'cat'], 'piped through\n');
    expect(r.stderr).to.equal('');
    expect(r.stdout).to.equal('piped through\n');
    expect(r.code).to.equal(0);
    const e = await runCli(main, ['run', '--beep', beep, '--no-input', '--', 'echo', 'hi', 'there']);
    expect(e.stdout).to.equal('hi there\n');
    const u = await runCli(main, ['run', '--beep', beep, '--no-input', '--', 'no-such-job']);
    expect(u.code).to.equal(2);
    expect(u.stderr).to.match(/550/);
    // The refusal says how to run a program: through the exec handler, allowed with --exec.
    expect(u.stderr).to.include('beamgate run -- exec no-such-job');
    expect(u.stderr).to.include('--exec no-such-job');
    const x = await runCli(main, ['run', '--beep', beep, '--no-input', '--', 'exec', 'ls']);
    expect(x.code).to.equal(2);
    expect(x.stderr).to.match(/537/);
    expect(x.stderr).to.include('start it with --exec ls');
    expect(x.stderr).to.not.match(/\bat .*\.js:\d+/);
  });

  it('logs on stderr only, and a busy port names the flag that picks another, without a stack trace', async () => {
    expect(serve!.stdout).to.equal('');
    const r = await runCli(main, ['serve', '--beep', beep, '--resp', 'off']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include('is already in use');
    expect(r.stderr).to.include('hint: pick another with --beep HOST:PORT');
    expect(r.stderr).to.not.match(/\bat .*\.js:\d+/);
  });

  it('serves Prometheus metrics', async () => {
    const res = await fetch(`http://${metrics}/metrics`);
    const text = await res.text();
    expect(text).to.match(/^beamgate_sessions_total [1-9][0-9]*$/m);
    expect(text).to.match(/^beamgate_channels_total\{profile="job"\} [1-9][0-9]*$/m);
    expect(text).to.match(/^beamgate_jobs_finished_total\{result="exited"\} [1-9][0-9]*$/m);
    expect(text).to.match(/^beamgate_errors_total\{code="550"\} 1$/m);
    expect(text).to.match(/^process_cpu_seconds_total \d/m);
    expect(text).to.match(/^beamgate_job_duration_seconds_count\{result="exited"\} [1-9][0-9]*$/m);
    expect(text).to.match(/^beamgate_session_duration_seconds_count [1-9][0-9]*$/m);
  });

  it('drains and exits 0 on SIGTERM', async () => {
    const code = await serve!.stop('SIGTERM');
    expect(code).to.equal(0);
    expect(serve!.lines.some((x) => x['msg'] === 'stopped')).to.equal(true);
  });
});
