import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BeamClient } from '@beamgate/beam';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { cliPath, spawnNode, type Spawned } from './processes.js';
import { groupMembers, pollUntil } from '@beamgate/base/testing';

/** Other processes' exits announce nothing to this process: polled, with a deadline. */
function waitGone(pgids: number[], ms: number): Promise<void> {
  return pollUntil(() => pgids.every((p) => groupMembers(p).length === 0), { what: `process groups ${pgids.join(' ')} to end`, timeoutMs: ms, intervalMs: 20 });
}

/** Reads a readable until its first line: the pid the job's shell printed (`echo $$`, its process group). */
async function firstLine(out: AsyncIterable<unknown>): Promise<number> {
  let text = '';
  for await (const chunk of out) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return Number(text.slice(0, text.indexOf('\n')));
}

describe('gateway e2e: beamgate serve ends every job process group on SIGTERM', function () {
  this.timeout(40000);
  let serve: Spawned | undefined;
  let dir = '';
  before(function () {
    if (!existsSync('/proc/self/stat')) this.skip();
    dir = mkdtempSync(join(tmpdir(), 'beamgate-pg-'));
  });
  after(async () => {
    await serve?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('jobs started over BEEP and over RESP, with grandchildren, end with the gateway within its drain time', async () => {
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ shutdownTimeoutMs: 500 }));
    serve = spawnNode(cliPath('gateway')!, ['serve', '--beep', '127.0.0.1:0', '--resp', '127.0.0.1:0', '--exec', 'sh', '--config', config]);
    const beep = (await serve.waitFor((l) => l['msg'] === 'listening' && l['component'] === 'beep'))['address'] as string;
    const resp = (await serve.waitFor((l) => l['msg'] === 'listening' && l['component'] === 'resp'))['address'] as string;
    const gw = await GatewayClient.connect({ host: '127.0.0.1', port: Number(beep.slice(beep.lastIndexOf(':') + 1)) });
    const rc = await new BeamClient({ host: '127.0.0.1', port: Number(resp.slice(resp.lastIndexOf(':') + 1)) }).connect();
    try {
      const overBeep = await firstLine((await gw.run(['sh', '-c', 'echo $$; sleep 101; echo done'])).stdout);
      const stubborn = await firstLine((await gw.run(['sh', '-c', 'trap "" TERM; echo $$; sleep 102; echo done'])).stdout);
      const overResp = await firstLine((await rc.run(['sh', '-c', 'echo $$; sleep 103; echo done'])).stdout);
      for (const p of [overBeep, stubborn, overResp]) expect(groupMembers(p), String(p)).to.have.length(2);
      const t0 = Date.now();
      const code = await serve.stop('SIGTERM');
      expect(code).to.equal(0);
      // shutdownTimeoutMs (0.5 s) + the sessions' release grace (at most 5 s) + closing.
      expect(Date.now() - t0).to.be.below(8000);
      await waitGone([overBeep, stubborn, overResp], 5000);
    } finally {
      await gw.close().catch(() => {});
      await rc.close().catch(() => {});
    }
  });
});
