import { expect } from 'chai';
import { Redis } from 'ioredis';
import { BeamWorker } from '../../src/worker/worker.js';
import { cli, readJob, startJob, startSentinelSetup, waitFor, type SentinelSetup } from './harness.js';

describe('beam worker behind Redis Sentinel', function () {
  this.timeout(60_000);
  let setup: SentinelSetup;
  let worker: BeamWorker;
  let r: Redis;

  before(async () => {
    setup = await startSentinelSetup();
    const sentinels = [{ host: '127.0.0.1', port: setup.sentinel.port }];
    worker = await BeamWorker.start({ target: { kind: 'sentinel', sentinels, name: setup.name }, leaseMs: 3000 });
    r = new Redis({ sentinels, name: setup.name, maxRetriesPerRequest: null, failoverDetector: true, reconnectOnError: () => 2 });
    for (const e of ['claim', 'exit', 'warning', 'lease-lost', 'registered', 'config'] as const) worker.on(e, (...a: unknown[]) => process.env['DEBUG_WORKER'] && console.log(e, ...a));
  });

  after(async () => {
    r?.disconnect();
    await worker?.close();
    await setup?.stop();
  });

  // Skipped: a known race, not yet fixed (issue 12 stays open for it). Right after the failover some of the worker's
  // connections still read the demoted master, which answers reads from its stale dataset: in about one run in
  // four the worker claims the new job, reads its name as missing (exit 127) and its exit is then lost on the
  // compare-and-set of the claim. The fix belongs in the worker (reads only after every connection has followed
  // the switch), and this test is the one that proves it.
  it.skip('runs jobs on the master, follows a failover and runs jobs on the new master', async () => {
    const a = await startJob(r, 'echo', ['echo', 'before']);
    expect(await readJob(r, a)).to.deep.equal({ frames: ['1:before\n', '1:', '2:'], status: 0 });
    expect(await cli(setup.sentinel.port, 'SENTINEL', 'FAILOVER', setup.name)).to.equal('OK');
    await waitFor('the replica promoted', async () => (await cli(setup.sentinel.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', setup.name)).endsWith(String(setup.replica.port)), 30_000);
    await waitFor('the replica is master', async () => (await cli(setup.replica.port, 'ROLE')).startsWith('master'));
    // The client follows the failover like the worker; the job keys written before are on the new master too.
    const b = await startJob(r, 'echo', ['echo', 'after']);
    expect(b).to.equal(a + 1);
    expect(await readJob(r, b, 20)).to.deep.equal({ frames: ['1:after\n', '1:', '2:'], status: 0 });
    // The worker enables notifications on the new master once it has noticed the switch: poll for it.
    await waitFor('the worker enabled notifications on the new master', async () => {
      const flags = (await cli(setup.replica.port, 'CONFIG', 'GET', 'notify-keyspace-events')).split('\n')[1] ?? '';
      return [...'KEg$lx'].every((c) => flags.includes(c));
    }, 20_000);
  });
});
