/** `beamgate serve` reloads users and access rules on SIGHUP without dropping sessions (issue 16, Deliver 7). */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { collect } from './helpers.js';
import { cliPath, spawnNode, type Spawned } from './processes.js';

describe('gateway e2e: SIGHUP reloads users and access rules', function () {
  this.timeout(60000);
  const dir = mkdtempSync(join(tmpdir(), 'beamgate-reload-'));
  const config = join(dir, 'beamgate.json');
  let serve: Spawned | undefined;
  const clients: GatewayClient[] = [];
  after(async () => {
    for (const c of clients) c.session.destroy();
    await serve?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const connect = async (port: number, user: string, password: string): Promise<GatewayClient> => {
    const c = await GatewayClient.connect({ host: '127.0.0.1', port }, { sasl: { authcid: user, password, mechanism: 'SCRAM-SHA-256' }, signal: AbortSignal.timeout(20000) });
    clients.push(c);
    return c;
  };
  const echo = async (c: GatewayClient, text: string): Promise<string> => {
    const job = await c.run(['echo', text], { stdin: undefined });
    const [out] = await Promise.all([collect(job.stdout), job.exit]);
    return out.toString();
  };

  it('an open session survives the reload; new sessions see the new users and rules', async () => {
    writeFileSync(config, JSON.stringify({ sasl: { users: ['alice:pw-one'] }, require: { sasl: true }, access: { alice: ['echo'] } }));
    serve = spawnNode(cliPath('gateway')!, ['serve', '--beep', '127.0.0.1:0', '--resp', 'off', '--config', config]);
    const address = (await serve.waitFor((x) => x['msg'] === 'listening' && x['component'] === 'beep'))['address'] as string;
    const port = Number(address.slice(address.lastIndexOf(':') + 1));
    const alice = await connect(port, 'alice', 'pw-one');
    expect(await echo(alice, 'before')).to.equal('before\n');

    writeFileSync(config, JSON.stringify({ sasl: { users: ['bob:pw-two'] }, require: { sasl: true }, access: { bob: ['echo'] } }));
    serve.child.kill('SIGHUP');
    await serve.waitFor((x) => x['msg'] === 'reloaded');
    // alice's session was authenticated before: it stays open and keeps working.
    expect(alice.session.closed).to.equal(false);
    const bob = await connect(port, 'bob', 'pw-two');
    expect(await echo(bob, 'after')).to.equal('after\n');
    let refused: unknown;
    try {
      await connect(port, 'alice', 'pw-one');
    } catch (e) {
      refused = e;
    }
    expect(String((refused as Error)?.message)).to.match(/invalid-proof|535/);
    // The access rules are the new ones for every job created from now on, on the old session too.
    let denied: unknown;
    try {
      await echo(alice, 'again');
    } catch (e) {
      denied = e;
    }
    expect(denied).to.have.property('replyCode', 537);
    expect(alice.session.closed).to.equal(false);
  });
});
