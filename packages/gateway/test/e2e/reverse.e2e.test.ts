import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Gateway } from '../../src/gateway.js';
import { testGateway } from './helpers.js';
import { cliPath, spawnNode, type Spawned } from './processes.js';

const exec = promisify(execFile);

async function redisCliAvailable(): Promise<boolean> {
  try {
    await exec('redis-cli', ['--version']);
    return true;
  } catch {
    return false;
  }
}

describe('gateway e2e: BEEP from Beam (the beep job handler) driven by redis-cli', function () {
  this.timeout(30000);
  let gw: Gateway | undefined;
  let peer: Spawned | undefined;
  let port = 0;
  let echoUri = '';

  before(async function () {
    const beepCli = cliPath('beep');
    if (!(await redisCliAvailable()) || !beepCli) this.skip();
    peer = spawnNode(beepCli!, ['listen', '--port', '0', '--profile', 'echo']);
    const l = await peer.waitFor((x) => x['msg'] === 'listening');
    port = l['port'] as number;
    // 127.0.0.1:1 is allowed so that the unreachable-peer case reaches connect().
    gw = await testGateway({ resp: { host: '127.0.0.1', port: 0 }, allowBeepTargets: [`127.0.0.1:${port}`, '127.0.0.1:1'] });
    echoUri = 'urn:beamgate:profile:test:echo';
  });
  after(async () => {
    await peer?.stop();
    await gw?.close(1000);
  });

  const cli = async (...args: string[]): Promise<string> => {
    const { stdout } = await exec('redis-cli', ['-h', '127.0.0.1', '-p', String(gw!.respAddress!.port), '--raw', ...args]);
    return stdout;
  };

  it('sends input frames as MSGs and returns the replies on stream 1', async () => {
    const id = Number((await cli('RPUSH', '/jobs', 'beep')).trim()) - 1;
    await cli('RPUSH', `/jobs/${id}/args`, 'beep', `beep://127.0.0.1:${port}`, echoUri);
    expect((await cli('SET', `/jobs/${id}`, '')).trim()).to.equal('OK');
    await cli('RPUSH', `/jobs/${id}/in`, '0:hello');
    expect(await cli('BLPOP', `/jobs/${id}/out`, '10')).to.equal(`/jobs/${id}/out\n1:hello\n`);
    await cli('RPUSH', `/jobs/${id}/in`, '0:second');
    expect(await cli('BLPOP', `/jobs/${id}/out`, '10')).to.equal(`/jobs/${id}/out\n1:second\n`);
    await cli('RPUSH', `/jobs/${id}/in`, '0:');
    expect(await cli('BLPOP', `/jobs/${id}/wait`, '10')).to.equal(`/jobs/${id}/wait\n0\n`);
  });

  it('exits 2 with a message on stream 2 when the peer cannot be reached', async () => {
    const id = Number((await cli('RPUSH', '/jobs', 'beep')).trim()) - 1;
    await cli('RPUSH', `/jobs/${id}/args`, 'beep', 'beep://127.0.0.1:1', echoUri);
    await cli('SET', `/jobs/${id}`, '');
    expect(await cli('BLPOP', `/jobs/${id}/wait`, '10')).to.equal(`/jobs/${id}/wait\n2\n`);
    const out = await cli('LRANGE', `/jobs/${id}/out`, '0', '-1');
    expect(out).to.match(/^2:beep: cannot connect to beep:\/\/127\.0\.0\.1:1: .+\n/);
  });

  it('refuses a target not in allowBeepTargets before connecting: exit 2 and a clear message', async () => {
    const id = Number((await cli('RPUSH', '/jobs', 'beep')).trim()) - 1;
    await cli('RPUSH', `/jobs/${id}/args`, 'beep', 'beep://127.0.0.1:2', echoUri);
    await cli('SET', `/jobs/${id}`, '');
    expect(await cli('BLPOP', `/jobs/${id}/wait`, '10')).to.equal(`/jobs/${id}/wait\n2\n`);
    expect(await cli('LRANGE', `/jobs/${id}/out`, '0', '-1')).to.match(/^2:beep: target 127\.0\.0\.1:2 refused: not in --allow-beep-targets\n/);
  });

  it('refuses an unknown profile at start: exit 2', async () => {
    const id = Number((await cli('RPUSH', '/jobs', 'beep')).trim()) - 1;
    await cli('RPUSH', `/jobs/${id}/args`, 'beep', `beep://127.0.0.1:${port}`, 'urn:nobody:serves:this');
    await cli('SET', `/jobs/${id}`, '');
    expect(await cli('BLPOP', `/jobs/${id}/wait`, '10')).to.equal(`/jobs/${id}/wait\n2\n`);
    expect(await cli('LRANGE', `/jobs/${id}/out`, '0', '-1')).to.match(/2:beep: cannot start urn:nobody:serves:this: /);
  });
});
