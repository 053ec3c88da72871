import { expect } from 'chai';
import { Queue, QueueEvents, Worker, type Job } from 'bullmq';
import { startServer } from './helpers.js';
import type { BeamServer } from '../../src/server/server.js';

/**
 * BullMQ (Lua scripts through EVALSHA, streams for its events, BZPOPMIN for its marker) against a Beam server:
 * a queue, a worker and QueueEvents as BullMQ's own examples use them.
 */
describe('BullMQ queue + worker + QueueEvents on beam serve', function () {
  this.timeout(120000);
  let server: BeamServer;
  let connection: { host: string; port: number; maxRetriesPerRequest: null };
  const closers: Array<() => Promise<unknown>> = [];

  beforeEach(async () => {
    const s = await startServer({ contextOptions: { activeExpireInterval: 100 } });
    server = s.server;
    connection = { host: '127.0.0.1', port: s.port, maxRetriesPerRequest: null };
  });

  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
    await server.close();
  });

  function track<T extends { close(): Promise<unknown> }>(x: T): T {
    closers.push(() => x.close());
    return x;
  }

  it('a worker processes 1,000 jobs added in bulk, and QueueEvents reports them completed', async () => {
    const name = 'bulk';
    const queue = track(new Queue(name, { connection }));
    const events = track(new QueueEvents(name, { connection }));
    await events.waitUntilReady();
    const completedEvents = new Set<string>();
    events.on('completed', ({ jobId }) => completedEvents.add(jobId));
    const seen: number[] = [];
    const worker = track(new Worker(name, async (job: Job<{ n: number }>) => {
      seen.push(job.data.n);
      return job.data.n * 2;
    }, { connection, concurrency: 20 }));
    // Re-checked on every completion the worker or QueueEvents reports (the test's timeout bounds the wait).
    const allDone = new Promise<void>((resolve) => {
      const check = (): void => {
        if (seen.length >= 1000 && completedEvents.size >= 1000) resolve();
      };
      events.on('completed', check);
      worker.on('completed', check);
    });
    await worker.waitUntilReady();
    const jobs = await queue.addBulk(Array.from({ length: 1000 }, (_, n) => ({ name: 'double', data: { n } })));
    expect(jobs).to.have.length(1000);
    await allDone;
    expect(new Set(seen).size).to.equal(1000);
    const counts = await queue.getJobCounts('completed', 'failed', 'waiting', 'active');
    expect(counts).to.deep.equal({ completed: 1000, failed: 0, waiting: 0, active: 0 });
    const job = await queue.getJob(jobs[10]!.id!);
    expect(job?.returnvalue).to.equal(20);
  });

  it('retries a failing job with backoff until it succeeds, and fails one that runs out of attempts', async () => {
    const name = 'retry';
    const queue = track(new Queue(name, { connection }));
    const events = track(new QueueEvents(name, { connection }));
    await events.waitUntilReady();
    const attempts = new Map<string, number>();
    const worker = track(new Worker(name, async (job: Job<{ failTimes: number }>) => {
      const n = (attempts.get(job.id!) ?? 0) + 1;
      attempts.set(job.id!, n);
      if (n <= job.data.failTimes) throw new Error(`attempt ${n} fails`);
      return `ok after ${n}`;
    }, { connection }));
    await worker.waitUntilReady();
    const failedEvents: string[] = [];
    events.on('failed', ({ jobId, failedReason }) => failedEvents.push(`${jobId}:${failedReason}`));
    const good = await queue.add('flaky', { failTimes: 2 }, { attempts: 3, backoff: { type: 'fixed', delay: 50 } });
    const bad = await queue.add('broken', { failTimes: 10 }, { attempts: 2, backoff: { type: 'fixed', delay: 50 } });
    const done = await good.waitUntilFinished(events, 30000);
    expect(done).to.equal('ok after 3');
    let failure: unknown;
    try {
      await bad.waitUntilFinished(events, 30000);
    } catch (e) {
      failure = e;
    }
    expect(String(failure)).to.include('attempt 2 fails');
    const finalBad = await queue.getJob(bad.id!);
    expect(finalBad?.attemptsMade).to.equal(2);
    expect(await finalBad?.getState()).to.equal('failed');
    expect(failedEvents.some((e) => e.startsWith(`${bad.id}:`))).to.equal(true);
  });

  it('runs a delayed job no earlier than its delay', async () => {
    const name = 'delayed';
    const queue = track(new Queue(name, { connection }));
    const events = track(new QueueEvents(name, { connection }));
    await events.waitUntilReady();
    let ranAt = 0;
    const worker = track(new Worker(name, async () => {
      ranAt = Date.now();
      return 'late';
    }, { connection }));
    await worker.waitUntilReady();
    const added = Date.now();
    const job = await queue.add('later', {}, { delay: 400 });
    expect(await job.getState()).to.equal('delayed');
    expect(await job.waitUntilFinished(events, 30000)).to.equal('late');
    expect(ranAt - added).to.be.at.least(400);
  });
});
