import { expect } from 'chai';
import { Redis } from 'ioredis';
import { BeamWorker } from '../../src/worker/worker.js';
import { cli, readJob, startJob, startSentinelSetup, waitFor, type SentinelSetup } from './harness.js';

/** The port of the server a client's connection reaches (CLIENT INFO's laddr), or 0. */
async function serverPort(r: Redis): Promise<number> {
  const info = String(await r.call('CLIENT', 'INFO'));
  return Number(/laddr=[^ ]*:([0-9]+)/.exec(info)?.[1] ?? 0);
}

describe('beam worker behind Redis Sentinel', function () {
  this.timeout(60_000);
  let setup: SentinelSetup;
  let worker: BeamWorker;
  let r: Redis;
  const switches: [string, string][] = [];

  before(async () => {
    setup = await startSentinelSetup();
    const sentinels = [{ host: '127.0.0.1', port: setup.sentinel.port }];
    worker = BeamWorker.create({ target: { kind: 'sentinel', sentinels, name: setup.name }, leaseMs: 3000 });
    worker.on('switched', (before: string, now: string) => switches.push([before, now]));
    for (const e of ['claim', 'exit', 'warning', 'lease-lost', 'registered', 'config', 'paused', 'resumed', 'switched'] as const) {
      worker.on(e, (...a: unknown[]) => process.env['DEBUG_WORKER'] && console.log(Date.now() % 100000, e, ...a));
    }
    await worker.run();
    r = new Redis({ sentinels, name: setup.name, maxRetriesPerRequest: null, failoverDetector: true, reconnectOnError: () => 2 });
  });

  after(async () => {
    r?.disconnect();
    await worker?.close();
    await setup?.stop();
  });

  it('runs jobs on the master, follows a failover (a job in flight carries on) and runs jobs on the new master', async () => {
    const a = await startJob(r, 'echo', ['echo', 'before']);
    expect(await readJob(r, a)).to.deep.equal({ frames: ['1:before\n', '1:', '2:'], status: 0 });
    // A job in flight across the failover: cat has echoed its first input when the master changes.
    const c = await startJob(r, 'cat', ['cat'], ['0:one\n']);
    await waitFor('cat echoed its first input', async () => (await r.lindex(`/jobs/${c}/out`, 0)) === '1:one\n');
    // What the client wrote is on the replica before the switch (as a client that cares uses WAIT).
    expect(await r.call('WAIT', '1', '5000')).to.equal(1);

    expect(await cli(setup.sentinel.port, 'SENTINEL', 'FAILOVER', setup.name)).to.equal('OK');
    await waitFor('the replica promoted', async () => (await cli(setup.sentinel.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', setup.name)).endsWith(String(setup.replica.port)), 30_000);
    // The demoted master answers as a master for seconds more: the client writes only once it has followed.
    await waitFor('the client on the new master', async () => (await serverPort(r)) === setup.replica.port, 20_000);

    await r.rpush(`/jobs/${c}/in`, '0:two\n', '0:');
    const cat = await readJob(r, c, 30);
    expect(cat.status).to.equal(0);
    expect(cat.frames).to.deep.equal(['1:one\n', '1:two\n', '1:', '2:']);
    expect(await r.lrange(`/jobs/${c}/wait`, 0, -1)).to.deep.equal([]);
    expect(await r.get(`/beam/claim/${c}`)).to.equal(`done:${worker.id}`);

    // A burst right after the switch, while the worker may still be moving its connections: every job runs once,
    // none is read from the demoted master (no 127 for a name not found there).
    const after = await Promise.all(Array.from({ length: 10 }, (_, i) => startJob(r, 'echo', ['echo', `after ${i}`])));
    expect([...after].sort((x, y) => x - y)).to.deep.equal(Array.from({ length: 10 }, (_, i) => c + 1 + i));
    const results = await Promise.all(after.map((id) => readJob(r, id, 30)));
    results.forEach((res, i) => expect(res).to.deep.equal({ frames: [`1:after ${i}\n`, '1:', '2:'], status: 0 }));
    for (const id of after) {
      expect(await r.llen(`/jobs/${id}/wait`)).to.equal(0);
      expect(await r.get(`/jobs/${id}/status`)).to.equal('0');
    }
    // The worker saw the master change (its gate re-checked its jobs there) and enabled notifications on it.
    await waitFor('the worker noticed the switch', async () => switches.length > 0, 20_000);
    await waitFor('the worker enabled notifications on the new master', async () => {
      const flags = (await cli(setup.replica.port, 'CONFIG', 'GET', 'notify-keyspace-events')).split('\n')[1] ?? '';
      return [...'KEg$lx'].every((ch) => flags.includes(ch));
    }, 20_000);
  });
});
