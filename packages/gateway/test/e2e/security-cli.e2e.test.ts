import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from '@beamgate/beep';
import { GatewayClient } from '../../src/client/gateway-client.js';
import type { Gateway } from '../../src/gateway.js';
import { RESP_PROFILE_URI } from '../../src/wire/job-xml.js';
import { collect, testGateway } from './helpers.js';
import { cliPath, spawnNode, type Spawned } from './processes.js';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(script: string, args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end();
  });
}

function redisCli(args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile('redis-cli', args, { timeout: 10000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('gateway e2e: beamgate serve/run with TLS and SASL flags', function () {
  this.timeout(30000);
  const main = cliPath('gateway')!;
  let serve: Spawned | undefined;
  let beep = '';
  let respPort = 0;
  let cert = '';

  before(async () => {
    serve = spawnNode(main, ['serve', '--beep', '127.0.0.1:0', '--resp', '127.0.0.1:0', '--tls-self-signed', '--sasl-user', 'bob:secret', '--require-sasl', '--resp-tls']);
    const l = await serve.waitFor((x) => x['msg'] === 'listening' && x['component'] === 'beep');
    beep = l['address'] as string;
    cert = l['certFile'] as string;
    const r = await serve.waitFor((x) => x['msg'] === 'listening' && x['component'] === 'resp');
    respPort = Number((r['address'] as string).split(':')[1]);
  });
  after(async () => {
    await serve?.stop('SIGKILL');
  });

  it('logs TLS, the certificate path and fingerprint, SASL users and the policy', () => {
    const l = serve!.lines.find((x) => x['msg'] === 'listening' && x['component'] === 'beep')!;
    expect(l).to.deep.include({ tls: true, sasl: ['bob'], require: { tls: false, sasl: true } });
    expect(l['fingerprint256']).to.match(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(readFileSync(cert, 'utf8')).to.match(/^-----BEGIN CERTIFICATE-----/);
    expect(serve!.lines.find((x) => x['component'] === 'resp')).to.deep.include({ tls: true, certFile: cert });
  });

  it('run --tls --ca CERT --sasl bob:secret prints the job output', async () => {
    const r = await runCli(main, ['run', '--beep', beep, '--tls', '--ca', cert, '--sasl', 'bob:secret', '--', 'echo', 'hi']);
    expect(r).to.deep.include({ code: 0, stdout: 'hi\n' });
    const insecure = await runCli(main, ['run', '--beep', beep, '--tls', '--insecure', '--sasl', 'bob:secret', '--mech', 'PLAIN', '--no-input', '--', 'echo', 'plain']);
    expect(insecure).to.deep.include({ code: 0, stdout: 'plain\n' });
  });

  it('takes BEAMGATE_TLS, BEAMGATE_CA and BEAMGATE_SASL from the environment', async () => {
    const r = await runCli(main, ['run', '--beep', beep, '--', 'echo', 'from', 'env'], { BEAMGATE_TLS: '1', BEAMGATE_CA: cert, BEAMGATE_SASL: 'bob:secret' });
    expect(r).to.deep.include({ code: 0, stdout: 'from env\n' });
  });

  it('fails with 535 and exit 2 for a wrong password, 530 without SASL, and without the CA', async () => {
    const wrong = await runCli(main, ['run', '--beep', beep, '--tls', '--ca', cert, '--sasl', 'bob:wrong', '--', 'echo', 'hi']);
    expect(wrong.code).to.equal(2);
    expect(wrong.stdout).to.equal('');
    expect(wrong.stderr).to.match(/535/);
    const anonymous = await runCli(main, ['run', '--beep', beep, '--tls', '--ca', cert, '--', 'echo', 'hi']);
    expect(anonymous.code).to.equal(2);
    expect(anonymous.stderr).to.match(/530/);
    const noCa = await runCli(main, ['run', '--beep', beep, '--tls', '--sasl', 'bob:secret', '--', 'echo', 'hi']);
    expect(noCa.code).to.equal(2);
    expect(noCa.stderr).to.match(/self[- ]signed/);
  });

  it('--resp-tls: redis-cli --tls --cacert CERT reaches the RESP listener', async function () {
    const r = await redisCli(['--tls', '--cacert', cert, '-h', '127.0.0.1', '-p', String(respPort), '--user', 'bob', '--pass', 'secret', 'PING']);
    if (r.code !== 0 && /not found|ENOENT|unrecognized/i.test(r.stderr)) this.skip();
    expect(r.stdout).to.equal('PONG\n');
    // The SASL users are the RESP listener's users: without AUTH nothing runs.
    const noAuth = await redisCli(['--tls', '--cacert', cert, '-h', '127.0.0.1', '-p', String(respPort), 'PING']);
    expect(noAuth.stdout).to.match(/^NOAUTH Authentication required\./);
    const plain = await redisCli(['-h', '127.0.0.1', '-p', String(respPort), 'PING']);
    expect(plain.stdout).to.not.include('PONG');
  });

  it('removes the generated certificate at shutdown', async () => {
    const code = await serve!.stop('SIGTERM');
    expect(code).to.equal(0);
    expect(existsSync(cert)).to.equal(false);
  });

  it('serve --help lists the flags; bad combinations exit 2 naming the flag', async () => {
    const h = await runCli(main, ['serve', '--help']);
    for (const f of ['--tls ', '--cert FILE', '--key FILE', '--user NAME:PW', '--require-tls', '--require-sasl', '--allow-cleartext', '--resp-tls']) expect(h.stdout).to.include(f);
    const r = await runCli(main, ['run', '--help']);
    for (const f of ['--tls ', '--cacert FILE', '--sni NAME', '--insecure', '--user NAME', '--pass PW', '--sasl NAME:PW', '--mech MECH']) expect(r.stdout).to.include(f);
    const bad = await runCli(main, ['serve', '--beep', '127.0.0.1:0', '--require-tls']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/^beamgate: --require-tls: requiring TLS needs a certificate \(--tls, or --cert\/--key\)/);
  });
});

describe('gateway e2e: remote context over rediss://', function () {
  this.timeout(30000);
  let beam: Spawned | undefined;
  let gw: Gateway | undefined;
  let beamPort = 0;
  let ca = '';
  let caFile = '';

  before(async function () {
    const beamCli = cliPath('beam');
    if (!beamCli) this.skip();
    beam = spawnNode(beamCli!, ['serve', '--port', '0', '--tls-self-signed']);
    const l = await beam.waitFor((x) => x['msg'] === 'listening');
    beamPort = l['port'] as number;
    caFile = l['certFile'] as string;
    ca = readFileSync(caFile, 'utf8');
    gw = await testGateway({ context: { kind: 'remote', url: `rediss://127.0.0.1:${beamPort}`, host: '127.0.0.1', port: beamPort, db: 0, tls: { ca } } });
  });
  after(async () => {
    await gw?.close(1000);
    await beam?.stop();
  });

  it('runs jobs and relays the RESP profile over TLS to the context', async () => {
    const client = await GatewayClient.connect({ host: '127.0.0.1', port: gw!.beepAddress.port });
    try {
      const job = await client.run(['cat'], { stdin: 'via rediss\n' });
      const [out, status] = await Promise.all([collect(job.stdout), job.exit]);
      expect(out.toString()).to.equal('via rediss\n');
      expect(status).to.equal(0);
    } finally {
      await client.close().catch(() => client.session.destroy());
    }
    const s = await connect({ host: '127.0.0.1', port: gw!.beepAddress.port });
    try {
      const ch = await s.startChannel(RESP_PROFILE_URI);
      expect((await ch.request('SET tls:k v\r\nGET tls:k\r\n')).payload.toString()).to.equal('+OK\r\n$1\r\nv\r\n');
    } finally {
      await s.close().catch(() => s.destroy());
    }
  });

  it('beamgate serve --context rediss://... --context-ca FILE; without the CA the start fails', async () => {
    const main = cliPath('gateway')!;
    const gwp = spawnNode(main, ['serve', '--beep', '127.0.0.1:0', '--context', `rediss://127.0.0.1:${beamPort}`, '--context-ca', caFile]);
    try {
      const l = await gwp.waitFor((x) => x['msg'] === 'listening' && x['component'] === 'beep');
      const r = await runCli(main, ['run', '--beep', l['address'] as string, '--', 'echo', 'remote', 'tls']);
      expect(r).to.deep.include({ code: 0, stdout: 'remote tls\n' });
    } finally {
      await gwp.stop('SIGKILL');
    }
    const noCa = await runCli(main, ['serve', '--beep', '127.0.0.1:0', '--context', `rediss://127.0.0.1:${beamPort}`]);
    expect(noCa.code).to.not.equal(0);
    expect(noCa.stderr).to.match(/self[- ]signed/);
  });
});
