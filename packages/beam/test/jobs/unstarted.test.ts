import { expect } from 'chai';
import { Context } from '../../src/context/context.js';
import { JobEngine } from '../../src/jobs/engine.js';
import { ErrorReply } from '../../src/wire/reply.js';
import { errorText, Harness, turn, until } from './harness.js';
import { BeamOptionError } from '../../src/errors.js';

describe('jobs: unstarted jobs (unstartedTtlMs, maxUnstartedJobs)', function () {
  this.timeout(10000);
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  const keysOf = (id: number): string[] => [`/jobs/${id}/args`, `/jobs/${id}/env`, `/jobs/${id}/in`];

  it('reclaims a never-started job: its args/env/in are deleted and a late start is refused', async () => {
    h = new Harness({ unstartedTtlMs: 60 });
    expect(await h.cmd('RPUSH', '/jobs', 'echo')).to.equal(1);
    expect(await h.cmd('RPUSH', '/jobs/0/args', 'echo', 'late')).to.equal(2);
    expect(await h.cmd('HSET', '/jobs/0/env', 'A', '1')).to.equal(1);
    expect(await h.cmd('RPUSH', '/jobs/0/in', '0:x')).to.equal(1);
    expect(await h.cmd('EXISTS', ...keysOf(0))).to.equal(3);
    const records = (h.engine as unknown as { records: Map<number, unknown> }).records;
    expect(records.has(0)).to.equal(true);
    await until(async () => (await h.cmd('EXISTS', ...keysOf(0))) === 0);
    expect(records.has(0)).to.equal(false);
    expect(errorText(await h.cmd('SET', '/jobs/0', ''))).to.equal(
      'ERR /jobs/0: job 0 expired before it was started (unstartedTtlMs); create a new job',
    );
    expect(await h.cmd('EXISTS', '/jobs/0')).to.equal(0);
    expect(errorText(await h.cmd('RPUSH', '/jobs/0/args', 'x'))).to.match(/job 0 expired before it was started/);
    expect(errorText(await h.cmd('HSET', '/jobs/0/env', 'B', '2'))).to.match(/job 0 expired before it was started/);
    expect(errorText(await h.cmd('RPUSH', '/jobs/0/in', '0:y'))).to.match(/job 0 expired before it was started/);
    expect(errorText(await h.cmd('RPUSH', '/jobs/0/signal', 'TERM'))).to.match(/job 0 expired before it was started/);
    expect(await h.cmd('EXISTS', ...keysOf(0))).to.equal(0);
    // A new job still works, with the next id.
    const id = await h.start('echo', ['echo', 'fresh']);
    expect(id).to.equal(1);
    expect((await h.collect(id)).stdout).to.equal('fresh\n');
  });

  it('does not touch jobs started before the deadline, running or finished', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    h = new Harness({ unstartedTtlMs: 50, retainFinishedMs: 0, handlers: { gate: async () => (await gate, 3) } });
    const running = await h.start('gate', ['gate', 'a']);
    const done = await h.start('echo', ['echo', 'b']);
    await h.collect(done);
    // A witness created after both: once it is reclaimed, their deadline has passed too.
    const witness = ((await h.cmd('RPUSH', '/jobs', 'echo')) as number) - 1;
    await h.cmd('RPUSH', `/jobs/${witness}/args`, 'echo', 'w');
    await until(async () => (await h.cmd('EXISTS', `/jobs/${witness}/args`)) === 0);
    expect(await h.cmd('EXISTS', `/jobs/${running}/args`, `/jobs/${done}/args`)).to.equal(2);
    expect(h.engine.activeJobs()).to.deep.equal([running]);
    release();
    expect((await h.collect(running)).status).to.equal(3);
    expect(errorText(await h.cmd('SET', `/jobs/${done}`, ''))).to.match(/already started/);
  });

  it('a job started within the ttl runs; its siblings of the same RPUSH are reclaimed', async () => {
    h = new Harness({ unstartedTtlMs: 80 });
    expect(await h.cmd('RPUSH', '/jobs', 'echo', 'echo', 'echo')).to.equal(3);
    for (const id of [0, 1, 2]) expect(await h.cmd('RPUSH', `/jobs/${id}/args`, 'echo', `j${id}`)).to.equal(2);
    expect(await h.cmd('SET', '/jobs/1', '')).to.equal('OK');
    await until(async () => (await h.cmd('EXISTS', '/jobs/0/args', '/jobs/2/args')) === 0);
    expect(await h.cmd('EXISTS', '/jobs/1/args')).to.equal(1);
    expect((await h.collect(1)).stdout).to.equal('j1\n');
    expect(errorText(await h.cmd('SET', '/jobs/2', ''))).to.match(/expired before it was started/);
  });

  it('unstartedTtlMs 0 keeps unstarted jobs', async () => {
    h = new Harness({ unstartedTtlMs: 0 });
    await h.cmd('RPUSH', '/jobs', 'echo');
    await h.cmd('RPUSH', '/jobs/0/args', 'echo', 'kept');
    // A witness engine with a 50 ms ttl: once its job is reclaimed, 50 ms have passed and timers have run.
    const w = new Harness({ unstartedTtlMs: 50 });
    try {
      await w.cmd('RPUSH', '/jobs', 'echo');
      await w.cmd('RPUSH', '/jobs/0/args', 'echo', 'w');
      await until(async () => (await w.cmd('EXISTS', '/jobs/0/args')) === 0);
    } finally {
      await w.close();
    }
    expect(await h.cmd('EXISTS', '/jobs/0/args')).to.equal(1);
    expect(await h.cmd('SET', '/jobs/0', '')).to.equal('OK');
    expect((await h.collect(0)).stdout).to.equal('kept\n');
  });

  it('maxUnstartedJobs refuses creations beyond the cap; starting or expiry makes room', async () => {
    h = new Harness({ unstartedTtlMs: 100, limits: { maxUnstartedJobs: 2 } });
    expect(await h.cmd('RPUSH', '/jobs', 'echo')).to.equal(1);
    expect(errorText(await h.cmd('RPUSH', '/jobs', 'echo', 'echo'))).to.equal(
      'ERR /jobs: too many jobs created and not started (maxUnstartedJobs 2); start or let some expire, then try again',
    );
    expect(await h.cmd('LLEN', '/jobs')).to.equal(1);
    expect(await h.cmd('RPUSH', '/jobs', 'echo')).to.equal(2);
    expect(errorText(await h.cmd('RPUSH', '/jobs', 'echo'))).to.match(/maxUnstartedJobs 2/);
    // Starting one makes room.
    expect(await h.cmd('SET', '/jobs/0', '')).to.equal('OK');
    expect(await h.cmd('RPUSH', '/jobs', 'echo')).to.equal(3);
    expect(errorText(await h.cmd('RPUSH', '/jobs', 'echo'))).to.match(/maxUnstartedJobs 2/);
    // Expiry makes room too.
    await until(async () => !((await h.cmd('RPUSH', '/jobs', 'echo', 'echo')) instanceof ErrorReply));
    expect(await h.cmd('LLEN', '/jobs')).to.equal(5);
  });

  it('maxUnstartedJobs counts pipelined creations the engine has not seen yet', async () => {
    h = new Harness({ unstartedTtlMs: 0, limits: { maxUnstartedJobs: 3 } });
    const replies = await Promise.all([1, 2, 3, 4, 5].map(() => h.cmd('RPUSH', '/jobs', 'echo')));
    expect(replies.filter((r) => typeof r === 'number')).to.have.length(3);
    expect(await h.cmd('LLEN', '/jobs')).to.equal(3);
  });

  it('FLUSHDB resets the count and the expiry', async () => {
    h = new Harness({ unstartedTtlMs: 60, limits: { maxUnstartedJobs: 1 } });
    await h.cmd('RPUSH', '/jobs', 'echo');
    await h.cmd('FLUSHDB');
    await turn();
    expect(await h.cmd('RPUSH', '/jobs', 'echo')).to.equal(1);
    expect(await h.cmd('RPUSH', '/jobs/0/args', 'echo', 'after flush')).to.equal(2);
    expect(await h.cmd('SET', '/jobs/0', '')).to.equal('OK');
    expect((await h.collect(0)).stdout).to.equal('after flush\n');
  });

  it('rejects a negative unstartedTtlMs and a maxUnstartedJobs below 1', async () => {
    h = new Harness();
    expect(() => new JobEngine(h.context, { unstartedTtlMs: -1 })).to.throw(BeamOptionError, /unstartedTtlMs/);
    expect(() => new JobEngine(h.context, { limits: { maxUnstartedJobs: 0 } })).to.throw(BeamOptionError, /maxUnstartedJobs/);
  });

  it('does not track jobs already in /jobs when the engine attaches', async () => {
    const context = new Context({ activeExpireInterval: 10 });
    try {
      const c = context.createInternalClient();
      await context.call(c, ['RPUSH', '/jobs', 'echo', 'echo'].map((s) => Buffer.from(s)));
      await context.call(c, ['RPUSH', '/jobs/0/args', 'echo', 'old'].map((s) => Buffer.from(s)));
      const engine = new JobEngine(context, { unstartedTtlMs: 20, limits: { maxUnstartedJobs: 1 } });
      // A job created after the attach is tracked: once it is reclaimed, the old ones would have been too.
      await context.call(c, ['RPUSH', '/jobs', 'echo'].map((s) => Buffer.from(s)));
      await turn();
      await context.call(c, ['RPUSH', '/jobs/2/args', 'echo', 'new'].map((s) => Buffer.from(s)));
      await until(async () => (await context.call(c, ['EXISTS', '/jobs/2/args'].map((s) => Buffer.from(s)))) === 0);
      expect(await context.call(c, ['EXISTS', '/jobs/0/args'].map((s) => Buffer.from(s)))).to.equal(1);
      await engine.close();
    } finally {
      context.close();
    }
  });
});
