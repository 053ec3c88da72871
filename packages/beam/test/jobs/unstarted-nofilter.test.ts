import { expect } from 'chai';
import { Context } from '../../src/context/context.js';
import { JobEngine } from '../../src/jobs/engine.js';
import { SimpleString } from '../../src/wire/reply.js';
import { turn, until } from './harness.js';

/** Without a dispatcher there is no filter to refuse a late start: the engine itself must not run the job. */
describe('jobs: start of a reclaimed job without the filter', function () {
  this.timeout(5000);

  it('does not run the job, deletes /jobs/N and leaves no status or output', async () => {
    const context = new Context({ activeExpireInterval: 10 });
    const engine = new JobEngine(context, { unstartedTtlMs: 30 });
    const starts: number[] = [];
    engine.on('start', (id: number) => starts.push(id));
    const c = context.createInternalClient();
    const call = (...a: string[]): unknown => context.call(c, a.map((s) => Buffer.from(s)));
    try {
      expect(await call('RPUSH', '/jobs', 'echo')).to.equal(1);
      await turn();
      expect(await call('RPUSH', '/jobs/0/args', 'echo', 'late')).to.equal(2);
      await until(async () => (await call('EXISTS', '/jobs/0/args')) === 0);
      // The unfiltered SET itself succeeds (nothing refuses it) ...
      expect(await call('SET', '/jobs/0', '')).to.be.instanceOf(SimpleString).with.property('value', 'OK');
      // ... but the engine ignores the start and removes the key again.
      await until(async () => (await call('EXISTS', '/jobs/0')) === 0);
      await turn();
      expect(starts).to.deep.equal([]);
      expect(engine.activeJobs()).to.deep.equal([]);
      expect(await call('EXISTS', '/jobs/0/status', '/jobs/0/out', '/jobs/0/wait')).to.equal(0);
      // A fresh job still starts normally.
      expect(await call('RPUSH', '/jobs', 'echo')).to.equal(2);
      await turn();
      expect(await call('RPUSH', '/jobs/1/args', 'echo', 'fresh')).to.equal(2);
      expect(await call('SET', '/jobs/1', '')).to.be.instanceOf(SimpleString).with.property('value', 'OK');
      await until(() => starts.length === 1);
      expect(starts).to.deep.equal([1]);
    } finally {
      await engine.close();
      context.close();
    }
  });
});
