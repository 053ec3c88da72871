import { expect } from 'chai';
import { errorText, Harness, turn, until } from './harness.js';
import type { JobHandler } from '../../src/jobs/handler.js';

describe('jobs: engine', function () {
  this.timeout(10000);
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  it('runs the seed example: echo hello', async () => {
    h = new Harness();
    expect(await h.cmd('RPUSH', '/jobs', 'echo')).to.equal(1);
    expect(await h.cmd('RPUSH', '/jobs/0/args', 'echo', 'hello', 'world')).to.equal(3);
    expect(await h.cmd('SET', '/jobs/0', '')).to.equal('OK');
    const r = await h.collect(0);
    expect(r.frames).to.deep.equal(['1:hello world\n', '1:', '2:']);
    expect(r.status).to.equal(0);
    expect(await h.cmd('GET', '/jobs/0/status')).to.equal('0');
  });

  it('status is absent while running and set on exit; /jobs/$id/wait holds it once', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    h = new Harness({ handlers: { gate: async () => (await gate, 7) } });
    const id = await h.start('gate');
    await h.running(id);
    expect(await h.cmd('GET', `/jobs/${id}/status`)).to.equal(null);
    expect(h.engine.activeJobs()).to.deep.equal([id]);
    release();
    const r = await h.collect(id);
    expect(r.status).to.equal(7);
    expect(await h.cmd('GET', `/jobs/${id}/status`)).to.equal('7');
    expect(await h.cmd('LLEN', `/jobs/${id}/wait`)).to.equal(0);
  });

  it('defaults argv to [NAME] when no args were pushed', async () => {
    let seen: string[] = [];
    h = new Harness({ handlers: { show: (job) => ((seen = job.args), 0) } });
    const n = (await h.cmd('RPUSH', '/jobs', 'show')) as number;
    await h.cmd('SET', `/jobs/${n - 1}`, '');
    await h.collect(n - 1);
    expect(seen).to.deep.equal(['show']);
  });

  it('passes env to the handler', async () => {
    let env: Record<string, string> = {};
    h = new Harness({ handlers: { env: (job) => ((env = { ...job.env }), 0) } });
    await h.cmd('RPUSH', '/jobs', 'env');
    expect(await h.cmd('HSET', '/jobs/0/env', 'A', '1', 'B', 'two')).to.equal(2);
    await h.cmd('SET', '/jobs/0', '');
    await h.collect(0);
    expect(env).to.deep.equal({ A: '1', B: 'two' });
  });

  it('cat copies stream 0 to stream 1, with input pushed before and after the start', async () => {
    h = new Harness();
    const id = await h.start('cat', ['cat'], ['0:abc']);
    const reading = h.collect(id);
    await until(async () => (await h.cmd('LLEN', `/jobs/${id}/in`)) === 0); // the job took 'abc'
    expect(await h.cmd('RPUSH', `/jobs/${id}/in`, '0:def', '0:')).to.be.a('number');
    const r = await reading;
    expect(r.stdout).to.equal('abcdef');
    expect(r.status).to.equal(0);
    expect(r.frames.slice(-2)).to.deep.equal(['1:', '2:']);
  });

  it('a job with no handler exits 127 with a message on stream 2', async () => {
    h = new Harness();
    const id = await h.start('nosuch');
    const r = await h.collect(id);
    expect(r.status).to.equal(127);
    expect(r.stderr).to.match(/nosuch: no such job handler/);
    expect(h.engine.check('nosuch')).to.equal('unknown');
    expect(h.engine.check('echo')).to.equal('ok');
  });

  it('a throwing handler exits 1 with its message on stream 2', async () => {
    h = new Harness({
      handlers: {
        boom: () => {
          throw new Error('kaboom');
        },
      },
    });
    const r = await h.collect(await h.start('boom'));
    expect(r.status).to.equal(1);
    expect(r.stderr).to.contain('kaboom');
  });

  it('extra output streams get their frames and a close frame', async () => {
    h = new Harness({
      handlers: {
        three: async (job) => {
          job.output(3).write('x');
          job.output(3).end();
          return 0;
        },
      },
    });
    const r = await h.collect(await h.start('three'));
    expect(r.streams[3]).to.equal('x');
    expect(r.frames).to.include('3:');
  });

  it('50 concurrent creations get 50 distinct ids', async () => {
    h = new Harness();
    const clients = Array.from({ length: 50 }, () => h.newClient());
    const replies = (await Promise.all(clients.map((c) => h.on(c, 'RPUSH', '/jobs', 'echo')))) as number[];
    expect(new Set(replies).size).to.equal(50);
    expect(Math.min(...replies)).to.equal(1);
    expect(Math.max(...replies)).to.equal(50);
  });

  it('runs many jobs at once', async () => {
    h = new Harness();
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => h.start('echo', ['echo', `job${i}`])));
    const outs = await Promise.all(ids.map((id) => h.collect(id)));
    outs.forEach((o, i) => expect(o.stdout).to.equal(`job${i}\n`));
  });

  it('jobs in other databases are ordinary keys', async () => {
    h = new Harness();
    h.client.db = 1;
    expect(await h.cmd('RPUSH', '/jobs', 'echo')).to.equal(1);
    expect(await h.cmd('SET', '/jobs/0', 'anything')).to.equal('OK');
    await turn(); // the engine reacts to keyspace events in microtasks
    expect(await h.cmd('EXISTS', '/jobs/0/out')).to.equal(0);
    h.client.db = 0;
    expect(await h.cmd('EXISTS', '/jobs/0/out')).to.equal(0);
    expect(h.engine.activeJobs()).to.deep.equal([]);
  });

  it('maxJobs refuses a start beyond the limit, and the start works later', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    h = new Harness({ handlers: { gate: async () => (await gate, 0) }, limits: { maxJobs: 1 } });
    const a = await h.start('gate');
    await h.cmd('RPUSH', '/jobs', 'echo');
    expect(errorText(await h.cmd('SET', '/jobs/1', ''))).to.match(/too many running jobs/);
    release();
    await h.collect(a);
    expect(await h.cmd('SET', '/jobs/1', '')).to.equal('OK');
    expect((await h.collect(1)).status).to.equal(0);
  });

  it('FLUSHDB drops running jobs and ids restart at 0', async () => {
    h = new Harness({ handlers: { forever: () => new Promise<number>(() => {}) } });
    await h.start('forever');
    expect(h.engine.activeJobs()).to.deep.equal([0]);
    await h.cmd('FLUSHDB');
    await turn();
    expect(h.engine.activeJobs()).to.deep.equal([]);
    const id = await h.start('echo', ['echo', 'again']);
    expect(id).to.equal(0);
    expect((await h.collect(id)).stdout).to.equal('again\n');
  });

  it('finished jobs expire after retainFinishedMs', async () => {
    h = new Harness({ retainFinishedMs: 50 });
    const id = await h.start('echo', ['echo', 'x']);
    await until(async () => (await h.cmd('GET', `/jobs/${id}/status`)) === '0');
    expect(await h.cmd('PTTL', `/jobs/${id}/status`)).to.be.within(1, 50);
    await until(async () => (await h.cmd('EXISTS', `/jobs/${id}`, `/jobs/${id}/args`, `/jobs/${id}/out`, `/jobs/${id}/status`, `/jobs/${id}/wait`)) === 0);
    // Still started: it cannot run again.
    expect(errorText(await h.cmd('SET', `/jobs/${id}`, ''))).to.match(/already started/);
  });

  it('keeps finished jobs forever with retainFinishedMs 0', async () => {
    h = new Harness({ retainFinishedMs: 0 });
    const id = await h.start('echo');
    await h.collect(id);
    expect(await h.cmd('PTTL', `/jobs/${id}/status`)).to.equal(-1);
  });
});

describe('jobs: signals', function () {
  this.timeout(10000);
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  const sleeper: JobHandler = (job) =>
    new Promise<number>((_resolve, reject) => {
      job.signal.addEventListener('abort', () => reject(job.signal.reason as Error));
    });
  const stubborn: JobHandler = () => new Promise<number>(() => {});

  it('TERM aborts the handler signal; the job exits 143', async () => {
    let reason: unknown;
    h = new Harness({
      handlers: {
        sleep: (job) => {
          job.signal.addEventListener('abort', () => (reason = job.signal.reason));
          return sleeper(job);
        },
      },
    });
    const id = await h.start('sleep');
    await h.running(id);
    expect(await h.cmd('RPUSH', `/jobs/${id}/signal`, 'TERM')).to.equal(1);
    const r = await h.collect(id);
    expect(r.status).to.equal(143);
    expect((reason as { signal: string }).signal).to.equal('TERM');
  });

  it('KILL ends a job that ignores signals: 137', async () => {
    h = new Harness({ handlers: { stubborn } });
    const id = await h.start('stubborn');
    await h.running(id);
    await h.cmd('RPUSH', `/jobs/${id}/signal`, 'KILL');
    const r = await h.collect(id);
    expect(r.status).to.equal(137);
    expect(r.frames).to.deep.equal(['1:', '2:']);
  });

  it('a job ignoring TERM is killed after killGraceMs', async () => {
    h = new Harness({ handlers: { stubborn }, killGraceMs: 30 });
    const id = await h.start('stubborn');
    await h.running(id);
    await h.cmd('RPUSH', `/jobs/${id}/signal`, 'SIGTERM');
    expect((await h.collect(id)).status).to.equal(137);
  });

  it('cat stops on INT: 130', async () => {
    h = new Harness();
    const id = await h.start('cat');
    await h.cmd('RPUSH', `/jobs/${id}/in`, '0:partial');
    await until(async () => (await h.cmd('LLEN', `/jobs/${id}/out`)) === 1); // cat copied it
    await h.cmd('RPUSH', `/jobs/${id}/signal`, 'INT');
    const r = await h.collect(id);
    expect(r.status).to.equal(130);
    expect(r.stdout).to.equal('partial');
  });

  it('refuses signals to jobs not started or exited, and unknown signals', async () => {
    h = new Harness({ handlers: { stubborn } });
    await h.cmd('RPUSH', '/jobs', 'echo');
    expect(errorText(await h.cmd('RPUSH', '/jobs/0/signal', 'TERM'))).to.match(/has not started/);
    await h.cmd('SET', '/jobs/0', '');
    await h.collect(0);
    expect(errorText(await h.cmd('RPUSH', '/jobs/0/signal', 'TERM'))).to.match(/has exited/);
    const id = await h.start('stubborn');
    expect(errorText(await h.cmd('RPUSH', `/jobs/${id}/signal`, 'BOGUS'))).to.match(/unknown signal/);
    expect(h.engine.kill(id, 'KILL')).to.equal(true);
    expect((await h.collect(id)).status).to.equal(137);
  });
});
