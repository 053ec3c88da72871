/** Operations of the beep CLI: --version, /metrics of `beep listen`, SIGHUP reload without dropping sessions. */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../src/api/connect.js';
import type { Session } from '../../src/session/session.js';
import { TEST_PROFILE_URIS } from '../../src/testing/test-profiles.js';
import { runBeep, startListen, type ListenProcess } from './cli-helpers.js';

describe('cli: beep operations (--version, --metrics, SIGHUP)', function () {
  this.timeout(60000);
  let proc: ListenProcess | undefined;
  let session: Session | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'beep-ops-'));
  after(async () => {
    session?.destroy();
    await proc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the version on the program and on every command, exit 0', async () => {
    for (const args of [['--version'], ['-V'], ['listen', '--version'], ['connect', '--version']]) {
      const r = await runBeep(args);
      expect(r.code, args.join(' ')).to.equal(0);
      expect(r.stdout.toString()).to.match(/^beep \d+\.\d+\.\d+\n$/);
    }
  });

  it('serves /metrics with process metrics and a message histogram after traffic; SIGHUP swaps the users, open sessions stay', async () => {
    const users = join(dir, 'users');
    writeFileSync(users, 'alice:first-secret\n');
    const started = await startListen(['--profile', 'echo', '--users-file', users, '--metrics', '127.0.0.1:0']);
    proc = started.proc;
    const listening = await proc.waitFor((l) => l.msg === 'listening');
    expect(listening).to.include.keys('time', 'level', 'name', 'msg');
    expect(listening['name']).to.equal('beep');
    const target = `127.0.0.1:${started.port}`;

    // A session authenticated as alice stays open across the reload.
    const sock = net.connect(started.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    session = await connect(sock, { sasl: { authcid: 'alice', password: 'first-secret', mechanism: 'SCRAM-SHA-256' } });
    const ch = await session.startChannel(TEST_PROFILE_URIS.echo);
    expect((await ch.request('before')).text()).to.equal('before');

    const res = await fetch(`http://${listening['metrics'] as string}/metrics`);
    const text = await res.text();
    expect(text).to.match(/^process_cpu_seconds_total\{program="beep"\} \d/m);
    // prom-client puts the default label anywhere in the braces.
    expect(text).to.match(/^beamgate_beep_message_duration_seconds_count\{[^}]*profile="urn:beamgate:profile:test:echo"[^}]*\} [1-9]/m);
    expect(text).to.match(/^beamgate_beep_sessions\{program="beep"\} 1$/m);

    writeFileSync(users, 'bob:second-secret\n');
    proc.child.kill('SIGHUP');
    await proc.waitFor((l) => l.msg === 'reloaded');
    expect((await ch.request('after')).text()).to.equal('after');
    const bob = await runBeep(['connect', target, '--profile', 'echo', '--msg', 'hi', '--user', 'bob', '--pass', 'second-secret', '--mech', 'SCRAM-SHA-256']);
    expect(bob.stderr).to.equal('');
    expect(bob.stdout.toString()).to.equal('hi');
    const alice = await runBeep(['connect', target, '--profile', 'echo', '--msg', 'hi', '--user', 'alice', '--pass', 'first-secret', '--mech', 'SCRAM-SHA-256']);
    expect(alice.code).to.equal(2);
    expect(alice.stderr).to.match(/535/);
    const failures = await (await fetch(`http://${listening['metrics'] as string}/metrics`)).text();
    expect(failures).to.match(/^beamgate_auth_failures_total\{[^}]*listener="beep"[^}]*\} 1$/m);
    await session.close();
    session = undefined;
  });

  it('a busy port is a usage error that names --port, without a stack trace', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await runBeep(['listen', '--port', String(port)]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.equal(`beep: 127.0.0.1:${port} is already in use (another process listens there)\nbeep: hint: pick another with --port (0 picks a free port)\n`);
    } finally {
      blocker.close();
    }
  });
});
