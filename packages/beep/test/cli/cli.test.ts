import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { runBeep, startListen, type ListenProcess } from './cli-helpers.js';

describe('cli: beep listen + beep connect', function () {
  this.timeout(30000);
  let proc: ListenProcess;
  let target: string;

  before(async () => {
    const l = await startListen(['--log-level', 'debug']);
    proc = l.proc;
    target = `127.0.0.1:${l.port}`;
  });

  after(async () => {
    await proc?.stop();
  });

  it('prints --help for each command', async () => {
    for (const cmd of ['listen', 'connect']) {
      const r = await runBeep([cmd, '--help']);
      expect(r.code).to.equal(0);
      expect(r.stdout.toString()).to.match(new RegExp(`^Usage: beep ${cmd}`));
    }
  });

  it('rejects bad usage with exit status 2', async () => {
    const r = await runBeep(['connect', target]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('--profile is required');
    const u = await runBeep(['connect', 'nohost', '--profile', 'echo']);
    expect(u.code).to.equal(2);
  });

  it('echo: prints the RPY body', async () => {
    const r = await runBeep(['connect', target, '--profile', 'echo', '--msg', 'hello, beep']);
    expect(r.code).to.equal(0);
    expect(r.stdout.toString()).to.equal('hello, beep');
  });

  it('ans: prints N answers of SIZE octets', async () => {
    const r = await runBeep(['connect', target, '--profile', 'ans', '--msg', '7,1000']);
    expect(r.code).to.equal(0);
    expect(r.stdout.length).to.equal(7000);
    const one = r.stdout.subarray(0, 1000);
    for (let i = 1; i < 7; i++) expect(r.stdout.subarray(i * 1000, (i + 1) * 1000).equals(one)).to.equal(true);
  });

  it('ERR: code and text on stderr, exit status 1', async () => {
    const r = await runBeep(['connect', target, '--profile', 'ans', '--msg', 'not numbers']);
    expect(r.code).to.equal(1);
    expect(r.stdout.length).to.equal(0);
    expect(r.stderr).to.match(/^ERR 501 /);
  });

  it('a refused profile is an error, exit status 1', async () => {
    const r = await runBeep(['connect', target, '--profile', 'urn:no:such:profile', '--msg', 'x']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('BEEP_PEER_ERROR');
  });

  it('echoes a 10 MiB message from stdin', async () => {
    const big = randomBytes(10 * 1024 * 1024);
    // The reply is read as a stream: the client's own reassembly cap does not apply to it.
    const r = await runBeep(['connect', target, '--profile', 'echo', '--stdin', '--max-message', '1M'], big);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.length).to.equal(big.length);
    expect(r.stdout.equals(big)).to.equal(true);
  });

  it('sink takes a message larger than the listener cap (streamed)', async () => {
    const r = await runBeep(['connect', target, '--profile', 'sink', '--stdin'], Buffer.alloc(20 * 1024 * 1024, 1));
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.length).to.equal(0);
  });

  it('--stdin refuses input past --max-stdin with exit status 2, and sends what fits', async () => {
    const over = await runBeep(['connect', target, '--profile', 'echo', '--stdin', '--max-stdin', '1k'], Buffer.alloc(4096, 0x61));
    expect(over.code).to.equal(2);
    expect(over.stdout.length).to.equal(0);
    expect(over.stderr).to.contain('exceeds --max-stdin (1024 octets)');
    const fits = await runBeep(['connect', target, '--profile', 'echo', '--stdin', '--max-stdin', '1k'], Buffer.alloc(1024, 0x62));
    expect(fits.code, fits.stderr).to.equal(0);
    expect(fits.stdout.equals(Buffer.alloc(1024, 0x62))).to.equal(true);
  });

  it('runs 100 channels on one session (--count --channels)', async () => {
    const r = await runBeep(['connect', target, '--profile', 'echo', '--count', '1000', '--size', '64', '--channels', '100', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const res = JSON.parse(r.stdout.toString()) as Record<string, number>;
    expect(res['channels']).to.equal(100);
    expect(res['messages']).to.equal(1000);
    expect(res['errors']).to.equal(0);
    expect(res['msgsPerSec']).to.be.greaterThan(0);
    // The listener saw 100 channels of the newest session.
    const opens = proc.lines.filter((l) => l.msg === 'session.open');
    const sid = opens[opens.length - 1]?.['session'];
    const chans = proc.lines.filter((l) => l.msg === 'channel.open' && l['session'] === sid);
    expect(chans.length).to.equal(100);
  });

  it('--trace prints frame headers both ways', async () => {
    const r = await runBeep(['connect', target, '--profile', 'echo', '--msg', 'abc', '--trace']);
    expect(r.code).to.equal(0);
    expect(r.stderr).to.match(/^> MSG 1 0 \. 0 5$/m);
    expect(r.stderr).to.match(/^< RPY 1 0 \. 0 5$/m);
    expect(r.stderr).to.match(/^< RPY 0 0 \. 0 \d+$/m);
  });

  it('logs session open and close with the reason', async () => {
    await runBeep(['connect', target, '--profile', 'sink', '--msg', 'x']);
    const open = proc.lines.filter((l) => l.msg === 'session.open').pop();
    const closed = await proc.waitFor((l) => l.msg === 'session.close' && l['session'] === open?.['session']);
    expect(closed['reason']).to.equal('released');
  });
});

describe('cli: beep listen shutdown', function () {
  this.timeout(20000);

  it('logs channel.open only at --log-level debug', async () => {
    const { proc, port } = await startListen(['--profile', 'echo']);
    try {
      const r = await runBeep(['connect', `127.0.0.1:${port}`, '--profile', 'echo', '--msg', 'x']);
      expect(r.code, r.stderr).to.equal(0);
      await proc.waitFor((l) => l.msg === 'session.close');
      expect(proc.lines.filter((l) => l.msg === 'channel.open')).to.have.length(0);
    } finally {
      await proc.stop();
    }
    const bad = await runBeep(['listen', '--port', '0', '--log-level', 'loud']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('--log-level');
  });

  it('exits 0 on SIGINT and logs stopped', async () => {
    const { proc } = await startListen(['--profile', 'echo']);
    const code = await proc.stop('SIGINT');
    expect(code).to.equal(0);
    expect(proc.lines.map((l) => l.msg)).to.include.members(['shutdown', 'stopped']);
  });

  it('serves on a unix socket', async function () {
    const path = `/tmp/beep-cli-test-${process.pid}.sock`;
    const { spawn } = await import('node:child_process');
    const { ListenProcess, MAIN } = await import('./cli-helpers.js');
    const proc = new ListenProcess(spawn(process.execPath, [MAIN, 'listen', '--unix', path], { stdio: ['ignore', 'ignore', 'pipe'] }));
    try {
      await proc.waitFor((l) => l.msg === 'listening');
      const r = await runBeep(['connect', '--unix', path, '--profile', 'echo', '--msg', 'over unix']);
      expect(r.stdout.toString()).to.equal('over unix');
    } finally {
      await proc.stop();
    }
  });
});
