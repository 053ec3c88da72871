import { expect } from 'chai';
import { runBeep, startListen, type ListenProcess } from '../cli/cli-helpers.js';

describe('tuning: beep listen/connect security flags', function () {
  this.timeout(30000);
  let proc: ListenProcess;
  let target: string;

  before(async () => {
    const r = await startListen(['--profile', 'echo', '--tls-self-signed', '--sasl-user', 'bob:secret']);
    proc = r.proc;
    target = `127.0.0.1:${r.port}`;
    const listening = proc.lines.find((l) => l.msg === 'listening');
    expect(listening?.['fingerprint256']).to.match(/^[0-9A-F:]+$/);
  });

  after(async () => {
    await proc?.stop();
  });

  it('TLS, new greeting, PLAIN, then echo', async () => {
    const r = await runBeep(['connect', target, '--profile', 'echo', '--msg', 'secured', '--tls', '--insecure', '--sasl', 'bob:secret', '--mech', 'PLAIN']);
    expect(r.stderr).to.equal('');
    expect(r.code).to.equal(0);
    expect(r.stdout.toString()).to.equal('secured');
    const auth = await proc.waitFor((l) => l.msg === 'session.auth');
    expect(auth['identity']).to.equal('bob');
    expect(auth['mechanism']).to.equal('PLAIN');
  });

  it('a wrong password gets 535', async () => {
    const r = await runBeep(['connect', target, '--profile', 'echo', '--msg', 'x', '--tls', '--insecure', '--sasl', 'bob:nope', '--mech', 'PLAIN']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/BEEP_SASL_AUTH_FAILED: 535/);
  });

  it('PLAIN in the clear is refused (538), SCRAM-SHA-256 in the clear works', async () => {
    const r = await runBeep(['connect', target, '--profile', 'echo', '--msg', 'x', '--sasl', 'bob:secret', '--mech', 'PLAIN']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/538/);
    const ok = await runBeep(['connect', target, '--profile', 'echo', '--msg', 'scram', '--sasl', 'bob:secret']);
    expect(ok.code).to.equal(0);
    expect(ok.stdout.toString()).to.equal('scram');
  });

  it('verifies the certificate by default', async () => {
    const r = await runBeep(['connect', target, '--profile', 'echo', '--msg', 'x', '--tls']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/BEEP_TLS_HANDSHAKE_FAILED/);
  });

  it('refuses inconsistent flags with a usage error', async () => {
    expect((await runBeep(['listen', '--port', '0', '--require-tls'])).code).to.equal(2);
    expect((await runBeep(['connect', target, '--profile', 'echo', '--ca', 'x.pem'])).code).to.equal(2);
  });
});
