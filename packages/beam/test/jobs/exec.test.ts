import { expect } from 'chai';
import { Harness } from './harness.js';

describe('jobs: exec', function () {
  this.timeout(10000);
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  it('runs nothing by default: exec exits 126 with a message', async () => {
    h = new Harness();
    expect(h.engine.check('exec', ['exec', 'printf'])).to.equal('forbidden');
    expect(h.engine.check('printf')).to.equal('unknown');
    const r = await h.collect(await h.start('exec', ['exec', 'printf', 'x']));
    expect(r.status).to.equal(126);
    expect(r.stderr).to.match(/printf: not allowed/);
    expect(r.stdout).to.equal('');
  });

  it('runs an allowed program via exec (no shell) and as a job named after it', async () => {
    h = new Harness({ exec: ['printf'] });
    expect(h.engine.check('exec', ['exec', 'printf'])).to.equal('ok');
    expect(h.engine.check('printf')).to.equal('ok');
    const a = await h.collect(await h.start('exec', ['exec', 'printf', '%s;', '$HOME', 'a b'])); // no shell expansion
    expect(a).to.deep.include({ status: 0, stdout: '$HOME;a b;' });
    const b = await h.collect(await h.start('printf', ['printf', 'direct']));
    expect(b).to.deep.include({ status: 0, stdout: 'direct' });
  });

  it('passes the job env and only a safe part of the server env', async () => {
    process.env.BEAM_TEST_SECRET = 'leak';
    h = new Harness({ exec: ['printenv'] });
    await h.cmd('RPUSH', '/jobs', 'printenv');
    await h.cmd('RPUSH', '/jobs/0/args', 'printenv', 'FOO', 'BEAM_TEST_SECRET');
    await h.cmd('HSET', '/jobs/0/env', 'FOO', 'bar');
    await h.cmd('SET', '/jobs/0', '');
    const r = await h.collect(0);
    delete process.env.BEAM_TEST_SECRET;
    expect(r.stdout).to.equal('bar\n');
    expect(r.status).to.equal(1); // printenv: one variable missing
  });

  it('feeds stream 0 to the program and reports a missing program as 127', async () => {
    h = new Harness({ exec: ['cat', 'no-such-program-xyz'] });
    await h.cmd('RPUSH', '/jobs', 'exec');
    await h.cmd('RPUSH', '/jobs/0/args', 'exec', 'cat');
    await h.cmd('RPUSH', '/jobs/0/in', '0:piped ', '0:through', '0:');
    await h.cmd('SET', '/jobs/0', '');
    expect(await h.collect(0)).to.deep.include({ status: 0, stdout: 'piped through' });
    const r = await h.collect(await h.start('exec', ['exec', 'no-such-program-xyz']));
    expect(r.status).to.equal(127);
    expect(r.stderr).to.match(/ENOENT/);
  });

  it('signals reach the child: TERM -> 143', async () => {
    h = new Harness({ exec: ['sleep'] });
    const id = await h.start('exec', ['exec', 'sleep', '30']);
    await h.cmd('RPUSH', `/jobs/${id}/signal`, 'TERM');
    expect((await h.collect(id)).status).to.equal(143);
  });
});
