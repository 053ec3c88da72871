import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSelfSigned } from '../../src/profiles/tls/self-signed.js';
import { runBeep, startListen, type ListenProcess } from '../cli/cli-helpers.js';

describe('tuning: mutual TLS from the CLI (beep listen --tls-client-ca, beep connect --client-cert, --mech EXTERNAL)', function () {
  this.timeout(60000);
  let proc: ListenProcess;
  let target: string;
  let dir: string;
  const file = (name: string): string => join(dir, name);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'beep-mtls-'));
    const server = generateSelfSigned();
    const bob = generateSelfSigned({ commonName: 'bob', clientAuth: true });
    const eve = generateSelfSigned({ commonName: 'eve', clientAuth: true });
    for (const [n, v] of [['server.crt', server.cert], ['server.key', server.key], ['bob.crt', bob.cert], ['bob.key', bob.key], ['eve.crt', eve.cert], ['eve.key', eve.key]]) {
      writeFileSync(file(n as string), v as string);
    }
    // The listener trusts bob's (self-signed) certificate as its client CA; eve's is unknown to it.
    const r = await startListen(['--profile', 'echo', '--tls-cert', file('server.crt'), '--tls-key', file('server.key'), '--tls-client-ca', file('bob.crt'), '--require-sasl']);
    proc = r.proc;
    target = `127.0.0.1:${r.port}`;
  });

  after(async () => {
    await proc?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const tls = (who: string): string[] => ['--tls', '--ca', file('server.crt'), '--servername', 'localhost', '--client-cert', file(`${who}.crt`), '--client-key', file(`${who}.key`)];

  it('a trusted client certificate authenticates with EXTERNAL: the identity is its subject', async () => {
    const r = await runBeep(['connect', target, '--profile', 'echo', '--msg', 'mutual', ...tls('bob'), '--mech', 'EXTERNAL']);
    expect(r.stderr).to.equal('');
    expect(r.code).to.equal(0);
    expect(r.stdout.toString()).to.equal('mutual');
    const auth = await proc.waitFor((l) => l.msg === 'session.auth');
    expect(auth['identity']).to.equal('CN=bob');
    expect(auth['mechanism']).to.equal('EXTERNAL');
  });

  it('an untrusted client certificate fails the handshake; without EXTERNAL the profile is refused (530)', async () => {
    const eve = await runBeep(['connect', target, '--profile', 'echo', '--msg', 'x', ...tls('eve'), '--mech', 'EXTERNAL']);
    expect(eve.code).to.equal(2);
    expect(eve.stderr, eve.stderr).to.match(/BEEP_TLS|closed/);
    const noAuth = await runBeep(['connect', target, '--profile', 'echo', '--msg', 'x', ...tls('bob')]);
    expect(noAuth.code).to.equal(1);
    expect(noAuth.stderr).to.contain('530');
  });

  it('--tls-client-ca needs a server certificate', async () => {
    expect((await runBeep(['listen', '--port', '0', '--tls-client-ca', file('bob.crt')])).code).to.equal(2);
  });
});
