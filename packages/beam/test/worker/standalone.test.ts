import { expect } from 'chai';
import { Redis } from 'ioredis';
import { BeamWorker } from '../../src/worker/worker.js';
import { claimKey, WORKERS_KEY } from '../../src/worker/keys.js';
import { readJob, run, spawnWorker, startJob, startRedisServer, waitFor, waitForStatuses, type Server, type WorkerProcess } from './harness.js';

describe('beam worker on a real redis-server', function () {
  this.timeout(60_000);
  let redis: Server;
  let r: Redis;
  const workers: WorkerProcess[] = [];
  // Long enough to survive a starved CPU (a lease missed under load ends jobs with 255, by design).
  const LEASE = 5000;

  before(async () => {
    redis = await startRedisServer();
    r = new Redis({ port: redis.port, host: '127.0.0.1', maxRetriesPerRequest: null });
    r.on('error', () => {}); // the restart test stops the server under it
    const url = `redis://127.0.0.1:${redis.port}`;
    workers.push(...(await Promise.all([1, 2, 3].map(() => spawnWorker(['--context', url, '--lease-ms', String(LEASE), '--exec', 'true'])))));
  });

  after(async () => {
    r?.disconnect();
    await Promise.all(workers.map((w) => w.stop()));
    await redis?.stop();
  });

  const cli = (...args: string[]): Promise<string> => run('redis-cli', ['-p', String(redis.port), ...args]).then((x) => x.stdout.trim());

  it("runs the README's job example through redis-cli, unchanged", async () => {
    const id = Number(await cli('RPUSH', '/jobs', 'echo')) - 1;
    expect(await cli('RPUSH', `/jobs/${id}/args`, 'echo', 'hi', 'there')).to.equal('3');
    expect(await cli('SET', `/jobs/${id}`, '')).to.equal('OK');
    expect(await cli('BLPOP', `/jobs/${id}/out`, '0')).to.equal(`/jobs/${id}/out\n1:hi there\n`.trim());
    expect(await cli('BLPOP', `/jobs/${id}/out`, '0')).to.equal(`/jobs/${id}/out\n1:`);
    expect(await cli('BLPOP', `/jobs/${id}/out`, '0')).to.equal(`/jobs/${id}/out\n2:`);
    expect(await cli('BLPOP', `/jobs/${id}/wait`, '0')).to.equal(`/jobs/${id}/wait\n0`);
    expect(await cli('GET', `/jobs/${id}/status`)).to.equal('0');
    // The server was told to publish what the workers listen for.
    const flags = (await cli('CONFIG', 'GET', 'notify-keyspace-events')).split('\n')[1]!;
    for (const c of 'KEg$lx') expect(flags).to.include(c);
  });

  it('runs stdin through cat, with input frames pushed before and after the start', async () => {
    const id = await startJob(r, 'cat', ['cat'], ['0:abc']);
    await r.rpush(`/jobs/${id}/in`, '0:def', '0:');
    const { frames, status } = await readJob(r, id);
    expect(frames.filter((f) => f.startsWith('1:') && f.length > 2).map((f) => f.slice(2)).join('')).to.equal('abcdef');
    expect(status).to.equal(0);
  });

  it('an unknown handler exits 127 with a message on stream 2; each worker publishes its catalog', async () => {
    const id = await startJob(r, 'nosuch');
    const { frames, status } = await readJob(r, id);
    expect(status).to.equal(127);
    expect(frames.join('')).to.include('no such job handler');
    const live = await r.zrange(WORKERS_KEY, 0, -1);
    for (const w of workers) expect(live).to.include(w.wid);
    expect(await r.smembers(`/beam/worker/{${workers[0]!.wid}}/exec`)).to.deep.equal(['true']);
    expect(await r.smembers(`/beam/worker/{${workers[0]!.wid}}/handlers`)).to.include.members(['echo', 'cat', 'exec']);
  });

  it('1,000 jobs over the workers (and one in-process): each runs exactly once and gets exactly one wait entry', async () => {
    const inProc = await BeamWorker.start({ target: { kind: 'standalone', url: `redis://127.0.0.1:${redis.port}` }, leaseMs: LEASE });
    try {
      const N = 1000;
      const base = await r.llen('/jobs');
      // Created and started as a burst of pipelined clients would.
      const p = r.pipeline();
      for (let i = 0; i < N; i++) {
        p.rpush('/jobs', 'echo');
        p.rpush(`/jobs/${base + i}/args`, 'echo', `job${base + i}`);
        p.set(`/jobs/${base + i}`, '');
      }
      const res = await p.exec();
      expect(res!.every(([e]) => e === null)).to.equal(true);
      const ids = Array.from({ length: N }, (_, i) => base + i);
      await waitForStatuses(r, ids, 50_000);
      const waits = await Promise.all(ids.map((id) => r.lrange(`/jobs/${id}/wait`, 0, -1)));
      const bad = ids.filter((_, i) => !(waits[i]!.length === 1 && waits[i]![0] === '0'));
      expect(bad.map((id, i) => `${id}: ${JSON.stringify(waits[ids.indexOf(id)])}`).slice(0, 5), `${bad.length} bad`).to.deep.equal([]);
      const outs = await Promise.all(ids.map((id) => r.lrange(`/jobs/${id}/out`, 0, -1)));
      outs.forEach((o, i) => expect(o, `job ${ids[i]}`).to.deep.equal([`1:job${ids[i]}\n`, '1:', '2:']));
      const claims = await Promise.all(ids.map((id) => r.get(claimKey(id))));
      const by = new Map<string, number>();
      for (const c of claims) {
        expect(c).to.match(/^done:/);
        by.set(c!, (by.get(c!) ?? 0) + 1);
      }
      // Spread over several workers (which ones win is up to the race, but one alone would mean no sharing).
      expect(by.size).to.be.greaterThan(1);
    } finally {
      await inProc.close();
    }
  });

  it('kill -9 of a worker mid-job: the job ends with 255 and a message within lease + 2 s; the others go on', async () => {
    const id = await startJob(r, 'cat');
    const owner = await waitFor('a claim', async () => r.get(claimKey(id)));
    // A worker id is HOST-PID-RANDOM (a new RANDOM each time it registers).
    const victim = workers.find((w) => owner.startsWith('run:') && owner.includes(`-${w.proc.pid}-`))!;
    expect(victim, owner).to.not.equal(undefined);
    await r.rpush(`/jobs/${id}/in`, '0:partial');
    await waitFor('output', async () => (await r.lindex(`/jobs/${id}/out`, 0)) === '1:partial');
    const t0 = Date.now();
    victim.proc.kill('SIGKILL');
    const w = await r.blpop(`/jobs/${id}/wait`, 10);
    const elapsed = Date.now() - t0;
    expect(w?.[1]).to.equal('255');
    expect(elapsed).to.be.lessThan(LEASE + 2000);
    expect(await r.get(`/jobs/${id}/status`)).to.equal('255');
    const frames = await r.lrange(`/jobs/${id}/out`, 0, -1);
    expect(frames[0]).to.equal('1:partial');
    expect(frames.join('\n')).to.match(/2:beam: worker .* was lost/);
    expect(await r.get(claimKey(id))).to.equal(`lost:${owner.slice(4)}`);
    await waitFor('the dead worker withdrawn', async () => (await r.zscore(WORKERS_KEY, owner.slice(4))) === null);
    workers.splice(workers.indexOf(victim), 1);
    await victim.stop();
    const next = await startJob(r, 'echo', ['echo', 'still here']);
    expect(await readJob(r, next)).to.deep.equal({ frames: ['1:still here\n', '1:', '2:'], status: 0 });
  });

  it('output back-pressure: a job stops while /jobs/$id/out holds its bound, and resumes as a reader drains it', async () => {
    const FRAMES = 10;
    const w = await BeamWorker.start({
      target: { kind: 'standalone', url: `redis://127.0.0.1:${redis.port}` },
      leaseMs: LEASE,
      name: 'bp',
      limits: { maxQueuedOutputFrames: FRAMES, maxOutputFrameBytes: 1024, streamHighWaterMark: 1024 },
      handlers: {
        flood: async (job) => {
          for (let i = 0; i < 200; i++) {
            if (!job.stdout.write(`${i}:${'x'.repeat(1000)}`)) await new Promise((ok) => job.stdout.once('drain', ok));
          }
          return 0;
        },
      },
    });
    try {
      // Only this worker has 'flood': the others fail it with 127, so wait for a claim by it.
      let id = -1;
      for (let tries = 0; tries < 20 && id < 0; tries++) {
        const j = await startJob(r, 'flood');
        const c = await waitFor('claim', async () => r.get(claimKey(j)));
        if (c.startsWith(`run:${w.id}`) || c.startsWith(`done:${w.id}`)) id = j;
      }
      expect(id).to.be.at.least(0);
      // Full: FRAMES frames counting the room kept for the close frames of the two open streams (stdout, stderr).
      await waitFor('a full output list', async () => (await r.llen(`/jobs/${id}/out`)) >= FRAMES - 2);
      let data = 0;
      let maxLen = 0;
      for (;;) {
        maxLen = Math.max(maxLen, await r.llen(`/jobs/${id}/out`));
        const f = await r.lpop(`/jobs/${id}/out`);
        if (f !== null) {
          if (f.startsWith('1:')) data += f.length - 2;
          continue;
        }
        if (await r.exists(`/jobs/${id}/status`)) break;
        const x = await r.blpop(`/jobs/${id}/out`, 0.05);
        if (x && x[1].startsWith('1:')) data += x[1].length - 2;
      }
      let want = 0;
      for (let i = 0; i < 200; i++) want += `${i}:`.length + 1000;
      expect(data).to.equal(want);
      expect(maxLen).to.be.at.most(FRAMES);
      expect(await r.get(`/jobs/${id}/status`)).to.equal('0');
    } finally {
      await w.close();
    }
  });

  it('a Redis restart: workers reconnect, register again and run new jobs', async () => {
    const port = redis.port;
    await redis.kill();
    redis = await startRedisServer([], port, redis.dir);
    // No persistence: everything is gone, including the leases; each worker registers afresh.
    await waitFor('workers registered again', async () => (await r.zcard(WORKERS_KEY)) === workers.length, 20_000);
    const id = await startJob(r, 'echo', ['echo', 'after restart']);
    expect(id).to.equal(0);
    expect(await readJob(r, id)).to.deep.equal({ frames: ['1:after restart\n', '1:', '2:'], status: 0 });
  });
});
