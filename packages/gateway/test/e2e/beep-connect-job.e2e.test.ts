/** `beep connect --profile job` drives a gateway job end to end against `beamgate serve` (issue 16, Deliver 5). */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { cliPath, spawnNode, type Spawned } from './processes.js';

function beep(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath('beep')!, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('gateway e2e: beep connect runs a gateway job', function () {
  this.timeout(60000);
  let serve: Spawned | undefined;
  let target = '';

  before(async () => {
    serve = spawnNode(cliPath('gateway')!, ['serve', '--beep', '127.0.0.1:0', '--resp', 'off', '--exec', 'sh']);
    target = `beep://${(await serve.waitFor((x) => x['msg'] === 'listening' && x['component'] === 'beep'))['address'] as string}`;
  });
  after(async () => {
    await serve?.stop('SIGKILL');
  });

  it('relays stdin as the job input and the output as it comes; exits 0', async () => {
    const r = await beep(['connect', target, '--profile', 'job', '--start-content', "<job name='cat'><arg>cat</arg></job>", '--stdin'], 'one\ntwo\n');
    expect(r.stdout).to.equal('one\ntwo\n');
    expect(r.code).to.equal(0);
  });

  it('splits stdout and stderr, sends several messages in order, and exits with the job status', async () => {
    const job = "<job name='exec'><arg>exec</arg><arg>sh</arg><arg>-c</arg><arg>echo out; echo err &gt;&amp;2; exit 3</arg></job>";
    const r = await beep(['connect', target, '--profile', 'job', '--content', job, '--msg', '<run/>', '--msg', '<status/>']);
    expect(r.stdout).to.match(/^out\n<status id='\d+' state='exited' exit='3'\/>\n$/);
    expect(r.stderr).to.include('err\n');
    expect(r.code).to.equal(3);
  });

  it('a refused start exits 1 with the reply code', async () => {
    const r = await beep(['connect', target, '--profile', 'job', '--content', "<job name='nope'/>"]);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.match(/550/);
  });
});
