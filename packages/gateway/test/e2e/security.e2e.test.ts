import { expect } from 'chai';
import { GatewayClient } from '../../src/client/gateway-client.js';
import type { Gateway } from '../../src/gateway.js';
import { PeerReplyError } from '../../src/errors.js';
import { collect, testGateway } from './helpers.js';

describe('gateway e2e: TLS, SASL and job access', function () {
  this.timeout(30000);
  let gw: Gateway;
  before(async () => {
    gw = await testGateway({
      security: { tls: { selfSigned: true }, sasl: { users: ['alice:wonderland', 'bob:builder'] }, require: { sasl: true } },
      access: { alice: ['*'], '*': ['echo'] },
    });
  });
  after(async () => {
    await gw?.close(1000);
  });
  const tls = { rejectUnauthorized: false } as const;
  const port = (): number => gw.beepAddress.port;

  it('refuses jobs before authentication with 530', async () => {
    const c = await GatewayClient.connect({ host: '127.0.0.1', port: port() });
    try {
      const e = await c.run(['echo', 'x']).then(() => undefined, (x: unknown) => x);
      expect(e).to.be.instanceOf(PeerReplyError);
      expect((e as PeerReplyError).replyCode).to.equal(530);
    } finally {
      await c.close().catch(() => c.session.destroy());
    }
  });

  it('runs jobs over TLS for an authorized identity', async () => {
    const c = await GatewayClient.connect({ host: '127.0.0.1', port: port() }, { tls, sasl: { authcid: 'alice', password: 'wonderland' } });
    try {
      expect(c.session.authenticatedIdentity).to.equal('alice');
      const job = await c.run(['cat'], { stdin: 'secret\n' });
      expect((await collect(job.stdout)).toString()).to.equal('secret\n');
      expect(await job.exit).to.equal(0);
    } finally {
      await c.close().catch(() => c.session.destroy());
    }
  });

  it('refuses a job the identity may not run with 537', async () => {
    const c = await GatewayClient.connect({ host: '127.0.0.1', port: port() }, { tls, sasl: { authcid: 'bob', password: 'builder' } });
    try {
      const ok = await c.run(['echo', 'hi']);
      expect(await ok.exit).to.equal(0);
      const e = await c.run(['cat'], { stdin: 'x' }).then(() => undefined, (x: unknown) => x);
      expect((e as PeerReplyError).replyCode).to.equal(537);
    } finally {
      await c.close().catch(() => c.session.destroy());
    }
  });
});
