import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSelfSigned } from '@beamgate/base';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { loadConfig } from '../../src/config.js';
import type { Gateway } from '../../src/gateway.js';
import { ConfigError, PeerReplyError } from '../../src/errors.js';
import { collect, testGateway } from './helpers.js';

describe('gateway e2e: client certificates (--cacert) and SASL EXTERNAL', function () {
  this.timeout(30000);
  let gw: Gateway;
  let dir: string;
  const bob = generateSelfSigned({ commonName: 'bob', clientAuth: true });
  const eve = generateSelfSigned({ commonName: 'eve', clientAuth: true });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gw-mtls-'));
    writeFileSync(join(dir, 'bob.crt'), bob.cert);
    // The client CA is bob's own (self-signed) certificate: only bob's certificate verifies.
    gw = await testGateway({
      security: { tls: { selfSigned: true, clientCaFile: join(dir, 'bob.crt') }, require: { sasl: true } },
      access: { 'CN=bob': ['echo'] },
    });
  });
  after(async () => {
    await gw?.close(1000);
    rmSync(dir, { recursive: true, force: true });
  });
  const port = (): number => gw.beepAddress.port;

  it('a trusted client certificate authenticates with EXTERNAL; the access rules see its subject', async () => {
    const c = await GatewayClient.connect({ host: '127.0.0.1', port: port() }, {
      tls: { rejectUnauthorized: false, cert: bob.cert, key: bob.key },
      sasl: { mechanism: 'EXTERNAL' },
    });
    try {
      // Only the identity CN=bob may run echo (the access rules list nobody else), so the gateway saw the subject.
      const job = await c.run(['echo', 'mutual']);
      expect((await collect(job.stdout)).toString()).to.equal('mutual\n');
      expect(await job.exit).to.equal(0);
      const e = await c.run(['cat'], { stdin: 'x' }).then(() => undefined, (x: unknown) => x);
      expect((e as PeerReplyError).replyCode).to.equal(537);
    } finally {
      await c.close().catch(() => c.session.destroy());
    }
  });

  it('an untrusted certificate does not get through the TLS handshake', async () => {
    const e = await GatewayClient.connect({ host: '127.0.0.1', port: port() }, {
      tls: { rejectUnauthorized: false, cert: eve.cert, key: eve.key },
      sasl: { mechanism: 'EXTERNAL' },
    }).then((c) => c.session.destroy(), (x: unknown) => x);
    expect(e).to.be.instanceOf(Error);
  });

  it('--cacert is a flag of beamgate serve (BEAMGATE_TLS_CLIENT_CA, tls.clientCaFile) and needs TLS', () => {
    const file = join(dir, 'bob.crt');
    const viaFlag = loadConfig({ flags: { 'tls-self-signed': true, 'tls-client-ca': file } });
    expect(viaFlag.security.tls).to.deep.include({ selfSigned: true, clientCaFile: file });
    const viaEnv = loadConfig({ env: { BEAMGATE_TLS_SELF_SIGNED: '1', BEAMGATE_TLS_CLIENT_CA: file } });
    expect(viaEnv.security.tls).to.deep.include({ clientCaFile: file });
    expect(() => loadConfig({ env: { BEAMGATE_TLS_CLIENT_CA: file } })).to.throw(ConfigError, /needs TLS/);
  });
});
