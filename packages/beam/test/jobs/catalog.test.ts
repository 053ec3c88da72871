import { expect } from 'chai';
import { checkJob, type JobCatalog } from '../../src/jobs/catalog.js';
import { EXEC_KEY, HANDLERS_KEY } from '../../src/jobs/keys.js';
import { RespSet } from '../../src/wire/reply.js';
import { Context } from '../../src/context/context.js';
import { attachJobs } from '../../src/jobs/engine.js';
import type { Reply } from '../../src/wire/reply.js';
import { errorText, Harness, plain, tick, until } from './harness.js';

/** A catalog from plain sets, as a remote client would build it from the published keys. */
function catalog(handlers: string[], allow: string[]): JobCatalog {
  return {
    hasHandler: (n) => handlers.includes(n),
    isExecBuiltin: (n) => n === 'exec' && handlers.includes('exec'),
    execAllowed: (p) => allow.includes(p),
  };
}

describe('jobs: the published catalog', function () {
  this.timeout(10000);
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const members = async (key: string): Promise<string[]> => {
    const r = await h!.cmd('SMEMBERS', key);
    const items = r instanceof RespSet ? r.items : (r as unknown[]);
    return items.map((x) => (Buffer.isBuffer(x) ? x.toString() : String(x))).sort();
  };

  it('checkJob: handlers, exec rules and programs named directly', () => {
    const c = catalog(['cat', 'echo', 'exec'], ['ls']);
    expect(checkJob(c, 'echo', ['echo', 'x'])).to.equal('ok');
    expect(checkJob(c, 'nosuch')).to.equal('unknown');
    expect(checkJob(c, 'ls', ['ls', '-l'])).to.equal('ok');
    expect(checkJob(c, 'exec', ['exec', 'ls'])).to.equal('ok');
    expect(checkJob(c, 'exec', ['exec', 'rm', '-rf'])).to.equal('forbidden');
    expect(checkJob(c, 'exec', ['exec'])).to.equal('ok');
    // Without the exec built-in, `exec` is just a name.
    expect(checkJob(catalog(['cat'], ['ls']), 'exec', ['exec', 'ls'])).to.equal('unknown');
  });

  it('publishes handler names and the allow-list in database 0; clients read them but cannot write them', async () => {
    h = new Harness({ exec: ['printf', 'ls'], handlers: { upper: () => 0 } });
    expect(await members(HANDLERS_KEY)).to.deep.equal(['cat', 'echo', 'exec', 'upper']);
    expect(await members(EXEC_KEY)).to.deep.equal(['ls', 'printf']);
    expect(await h.cmd('SISMEMBER', HANDLERS_KEY, 'upper')).to.equal(1);
    expect(errorText(await h.cmd('SADD', HANDLERS_KEY, 'fake'))).to.match(/reserved/);
    expect(await members(HANDLERS_KEY)).to.not.include('fake');
  });

  it('keeps the catalog out of the user keyspace: DBSIZE, KEYS, SCAN, RANDOMKEY, FLUSHALL, DEL of a mix', async () => {
    h = new Harness({ exec: ['ls'] });
    expect(await members(EXEC_KEY)).to.deep.equal(['ls']);
    expect(await h.cmd('DBSIZE')).to.equal(0);
    expect(await h.cmd('KEYS', '*')).to.deep.equal([]);
    expect(await h.cmd('RANDOMKEY')).to.equal(null);
    expect(await h.cmd('SET', 'a', '1')).to.not.be.instanceOf(Error);
    expect(await h.cmd('SET', 'b', '1')).to.not.be.instanceOf(Error);
    const scan = (await h.cmd('SCAN', '0', 'COUNT', '100')) as [Buffer, Buffer[]];
    expect(scan[1].map(String).sort()).to.deep.equal(['a', 'b']);
    // Beam's keys count as absent for DEL; the user's keys go as in Redis.
    expect(await h.cmd('DEL', 'a', EXEC_KEY, 'nosuch')).to.equal(1);
    expect(await h.cmd('EXISTS', 'a')).to.equal(0);
    expect(await h.cmd('DEL', EXEC_KEY)).to.equal(0);
    expect(await members(EXEC_KEY)).to.deep.equal(['ls']);
    await h.cmd('FLUSHALL');
    expect(await h.cmd('DBSIZE')).to.equal(0);
    // Republished right after the flush, and still readable by name.
    await until(async () => (await members(EXEC_KEY)).length === 1);
    expect(await h.cmd('DBSIZE')).to.equal(0);
  });

  it('follows registerHandler/unregisterHandler, and an empty allow-list publishes no exec key', async () => {
    h = new Harness();
    expect(await h.cmd('EXISTS', EXEC_KEY)).to.equal(0);
    h.engine.registerHandler('later', () => 0);
    expect(await h.cmd('SISMEMBER', HANDLERS_KEY, 'later')).to.equal(1);
    h.engine.registry.register('direct', () => 0);
    expect(await h.cmd('SISMEMBER', HANDLERS_KEY, 'direct')).to.equal(1);
    expect(h.engine.unregisterHandler('later')).to.equal(true);
    expect(h.engine.unregisterHandler('later')).to.equal(false);
    expect(await members(HANDLERS_KEY)).to.deep.equal(['cat', 'direct', 'echo', 'exec']);
  });

  for (const flush of ['FLUSHDB', 'FLUSHALL']) {
    it(`is published again after ${flush}`, async () => {
      h = new Harness({ exec: ['ls'] });
      expect(await h.cmd(flush)).to.equal('OK');
      await tick();
      expect(await members(HANDLERS_KEY)).to.deep.equal(['cat', 'echo', 'exec']);
      expect(await members(EXEC_KEY)).to.deep.equal(['ls']);
    });
  }

  it('replaces stale content at attach and is withdrawn when the engine closes', async () => {
    const ctx = new Context();
    const internal = ctx.createInternalClient();
    const B = (x: string): Buffer => Buffer.from(x);
    ctx.call(internal, [B('SADD'), B(HANDLERS_KEY), B('stale')]);
    ctx.call(internal, [B('SADD'), B(EXEC_KEY), B('rm')]);
    const engine = attachJobs(ctx, { exec: ['ls'] });
    try {
      expect(plain(ctx.call(internal, [B('SISMEMBER'), B(HANDLERS_KEY), B('stale')]) as Reply)).to.equal(0);
      expect(plain(ctx.call(internal, [B('SISMEMBER'), B(HANDLERS_KEY), B('echo')]) as Reply)).to.equal(1);
      expect(plain(ctx.call(internal, [B('SISMEMBER'), B(EXEC_KEY), B('rm')]) as Reply)).to.equal(0);
      await engine.close();
      expect(plain(ctx.call(internal, [B('EXISTS'), B(HANDLERS_KEY), B(EXEC_KEY)]) as Reply)).to.equal(0);
    } finally {
      await engine.close();
      ctx.close();
    }
  });

  it('engine.check agrees with checkJob over the published sets', async () => {
    h = new Harness({ exec: ['printf'], handlers: { upper: () => 0 } });
    const published = catalog(await members(HANDLERS_KEY), await members(EXEC_KEY));
    const cases: Array<[string, string[]]> = [
      ['upper', ['upper']], ['nosuch', ['nosuch']], ['printf', ['printf', 'x']], ['exec', ['exec', 'printf']],
      ['exec', ['exec', 'ls']], ['ls', ['ls']],
    ];
    for (const [name, args] of cases) expect(checkJob(published, name, args), name).to.equal(h.engine.check(name, args));
  });
});
