import { expect } from 'chai';
import { failure } from '@beamgate/base/testing';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@beamgate/beep';
import { BeamgateError, documentedErrorCodes, readErrorsDoc } from '@beamgate/base';
import {
  ConfigError, GatewayClient, GatewayError, buildExit, encodeStreamData, loadConfig, parseBeepUrl, parseJobRequest,
  startGateway, type Gateway,
} from '../src/index.js';


describe('gateway: every error of the public API is a GatewayError (or the shared ConfigError) with a code listed in docs/errors.md', () => {
  const codes = documentedErrorCodes(readErrorsDoc(path.dirname(fileURLToPath(import.meta.url))), 'gateway');
  let gw: Gateway;
  const clients: GatewayClient[] = [];

  before(async () => {
    gw = await startGateway({ beep: { host: '127.0.0.1', port: 0 }, resp: null });
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await gw.close();
  });

  const client = async (): Promise<GatewayClient> => {
    const c = new GatewayClient(await connect({ host: '127.0.0.1', port: gw.beepAddress.port }));
    clients.push(c);
    return c;
  };

  const cases: Array<[string, () => unknown]> = [
    ['a bad flag value', () => loadConfig({ flags: { beep: 'nohost' } })],
    ['a bad environment value', () => loadConfig({ env: { BEAMGATE_LOG_LEVEL: 'loud' } })],
    ['job XML that is not well-formed', () => parseJobRequest('<job name="x"')],
    ['an exit status out of range', () => buildExit(-1)],
    ['a stream number out of range', () => encodeStreamData(-1)],
    ['a BEEP URL that cannot be parsed', () => parseBeepUrl('http://x')],
    ['a listener address in use', async () => {
      const busy = net.createServer();
      await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
      try {
        await startGateway({ beep: { host: '127.0.0.1', port: (busy.address() as net.AddressInfo).port }, resp: null });
      } finally {
        busy.close();
      }
    }],
    ['a job without a name', async () => (await client()).run([])],
    ['a job no handler runs', async () => {
      const job = await (await client()).run(['no-such-handler-here']);
      await job.exit;
    }],
  ];

  for (const [what, fn] of cases) {
    it(what, async () => {
      const e = await failure(fn);
      expect(e, String(e)).to.be.instanceOf(BeamgateError);
      const err = e as BeamgateError;
      expect(err instanceof GatewayError || err instanceof ConfigError, `${err.name} is a GatewayError or the ConfigError`).to.equal(true);
      expect([...codes], `code ${err.code} of ${err.name}`).to.include(err.code);
    });
  }
});
