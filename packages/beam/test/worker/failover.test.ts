import { expect } from 'chai';
import { Redis } from 'ioredis';
import { BeamWorker } from '../../src/worker/worker.js';
import { reassertClaims, RecentExits, republishExits } from '../../src/worker/failover.js';
import { readJob, startJob, startRedisServer, waitFor, type Server } from './harness.js';

// A server that comes back with less than it acknowledged (here: a restart from a snapshot taken before the last
// writes; after a Sentinel failover, writes the replica had not got): the worker's gate sees a new run_id and,
// before job traffic resumes, re-asserts its running jobs' claims and publishes again the exits the server lost.
describe('beam worker: a server that lost its last writes', function () {
  this.timeout(60_000);
  let redis: Server;
  let r: Redis;
  let worker: BeamWorker;
  const switched: { givenUp: number[]; republished: number[] }[] = [];

  before(async () => {
    redis = await startRedisServer();
    r = new Redis({ port: redis.port, host: '127.0.0.1', maxRetriesPerRequest: null });
    r.on('error', () => {});
    worker = await BeamWorker.start({ target: { kind: 'standalone', url: `redis://127.0.0.1:${redis.port}` }, leaseMs: 20_000 });
    worker.on('switched', (_b: string, _n: string, what: { givenUp: number[]; republished: number[] }) => switched.push(what));
    worker.on('warning', () => {});
  });

  after(async () => {
    r?.disconnect();
    await worker?.close();
    await redis?.stop();
  });

  it('keeps the claim of a running job and publishes again an exit the restarted server lacks', async () => {
    const a = await startJob(r, 'cat', ['cat'], ['0:x\n']);
    const b = await startJob(r, 'cat', ['cat']);
    await waitFor('both jobs running', async () => worker.running().length === 2 && (await r.lindex(`/jobs/${a}/out`, 0)) === '1:x\n');
    expect(await r.save()).to.equal('OK');
    // b ends after the snapshot: its claim swap, status and wait entry exist only in memory.
    await r.rpush(`/jobs/${b}/in`, '0:');
    await waitFor('b published', async () => (await r.get(`/jobs/${b}/status`)) === '0');
    expect(await r.lpop(`/jobs/${b}/wait`)).to.equal('0');
    const runId = /run_id:(\w+)/.exec(await r.info('server'))![1];

    await redis.kill();
    redis = await startRedisServer([], redis.port, redis.dir);
    await waitFor('the server reloaded its snapshot', async () => (await r.get(`/beam/claim/${b}`)) !== null && /run_id:(\w+)/.exec(await r.info('server'))![1] !== runId);

    await waitFor('the worker re-checked its jobs', async () => switched.length > 0, 30_000);
    expect(switched[0]).to.deep.equal({ givenUp: [], republished: [b] });
    expect(await r.get(`/jobs/${b}/status`)).to.equal('0');
    expect(await r.lrange(`/jobs/${b}/wait`, 0, -1)).to.deep.equal(['0']);
    expect(await r.get(`/beam/claim/${b}`)).to.equal(`done:${worker.id}`);

    // The running job kept its claim and carries on on the restarted server.
    expect(await r.get(`/beam/claim/${a}`)).to.equal(`run:${worker.id}`);
    await r.rpush(`/jobs/${a}/in`, '0:y\n', '0:');
    const res = await readJob(r, a, 30);
    expect(res.status).to.equal(0);
    expect(res.frames).to.deep.equal(['1:x\n', '1:y\n', '1:', '2:']);
    expect(await r.get(`/beam/claim/${a}`)).to.equal(`done:${worker.id}`);
  });

  it('pauses while its connections are dropped and resumes on the same server without re-checking its jobs', async () => {
    const events: string[] = [];
    const onPaused = (): number => events.push('paused');
    const onResumed = (): number => events.push('resumed');
    worker.on('paused', onPaused).on('resumed', onResumed);
    try {
      const before = switched.length;
      const id = await startJob(r, 'cat', ['cat'], ['0:p\n']);
      await waitFor('cat running', async () => (await r.lindex(`/jobs/${id}/out`, 0)) === '1:p\n');
      // The server drops every connection of its clients (as Sentinel does to a demoted master's).
      expect(Number(await r.call('CLIENT', 'KILL', 'TYPE', 'pubsub'))).to.be.greaterThan(0);
      await r.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      await waitFor('paused and resumed', async () => events.includes('paused') && events.lastIndexOf('resumed') > events.indexOf('paused'));
      await r.rpush(`/jobs/${id}/in`, '0:q\n', '0:');
      const res = await readJob(r, id, 30);
      expect(res).to.deep.equal({ frames: ['1:p\n', '1:q\n', '1:', '2:'], status: 0 });
      expect(switched.length).to.equal(before);
    } finally {
      worker.off('paused', onPaused).off('resumed', onResumed);
    }
  });

  it('gives up a running job whose claim another worker holds on the server it came back to', async () => {
    const c = await startJob(r, 'cat', ['cat']);
    await waitFor('c running', async () => worker.running().includes(c));
    // The snapshot holds the claim as someone else's (e.g. a worker that claimed it on a new master).
    const mine = await r.getset(`/beam/claim/${c}`, 'run:someone-else');
    expect(await r.save()).to.equal('OK');
    await r.set(`/beam/claim/${c}`, mine!);
    await redis.kill();
    redis = await startRedisServer([], redis.port, redis.dir);
    await waitFor('the worker gave the job up', async () => switched.some((s) => s.givenUp.includes(c)), 30_000);
    await waitFor('c no longer runs here', async () => !worker.running().includes(c));
    // Nothing is published for it by this worker: the other one owns its exit.
    expect(await r.get(`/jobs/${c}/status`)).to.equal(null);
    expect(await r.llen(`/jobs/${c}/wait`)).to.equal(0);
  });
  it('never takes a job without its claim for its own: a server emptied by a restart reuses the ids', async () => {
    // The server restarted without persistence: job 900 is a new job with the id of one this worker ran before.
    await r.set('/jobs/900', '');
    const recent = new RecentExits(30_000, 100);
    recent.add(900, 'w-old', 'run-before', 0);
    expect(await republishExits(r, recent.before('run-now'), 0, 0)).to.deep.equal([]);
    expect(await r.exists('/jobs/900/status')).to.equal(0);
    expect(await r.get('/beam/claim/900')).to.equal(null);
    // A running job whose claim the server does not hold is given up, not claimed again.
    expect(await reassertClaims(r, new Map([[900, 'w-old']]))).to.deep.equal([900]);
    expect(await r.get('/beam/claim/900')).to.equal(null);
    // With its claim there (the data came over), the exit is published again.
    await r.set('/beam/claim/900', 'run:w-old');
    expect(await republishExits(r, recent.before('run-now'), 0, 0)).to.deep.equal([900]);
    expect(await r.get('/jobs/900/status')).to.equal('0');
    await r.del('/jobs/900', '/jobs/900/status', '/jobs/900/wait', '/beam/claim/900');
  });
});
