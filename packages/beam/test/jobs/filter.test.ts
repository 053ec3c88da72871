import { expect } from 'chai';
import { errorText, Harness, until } from './harness.js';

describe('jobs: protocol errors (command filter)', function () {
  this.timeout(10000);
  let h: Harness;
  beforeEach(async () => {
    h = new Harness({ handlers: { forever: () => new Promise<number>(() => {}) } });
    await h.cmd('RPUSH', '/jobs', 'cat');
  });
  afterEach(async () => {
    await h.close();
  });

  it('refuses a second start and changes nothing', async () => {
    expect(await h.cmd('SET', '/jobs/0', '')).to.equal('OK');
    expect(errorText(await h.cmd('SET', '/jobs/0', ''))).to.match(/^ERR .*job 0 already started/);
    expect(h.engine.activeJobs()).to.deep.equal([0]);
  });

  it('refuses starting a job that does not exist', async () => {
    expect(errorText(await h.cmd('SET', '/jobs/5', ''))).to.match(/no such job 5/);
    expect(await h.cmd('EXISTS', '/jobs/5')).to.equal(0);
  });

  it('refuses a start with a value or options', async () => {
    expect(errorText(await h.cmd('SET', '/jobs/0', 'go'))).to.match(/SET \/jobs\/0 ""/);
    expect(errorText(await h.cmd('SET', '/jobs/0', '', 'EX', '10'))).to.match(/no options/);
    expect(await h.cmd('EXISTS', '/jobs/0')).to.equal(0);
  });

  it('refuses keys written with the wrong type', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['SET', '/jobs/0/args', 'x'], /args is a list of arguments/],
      [['HSET', '/jobs/0/args', 'a', 'b'], /args is a list of arguments/],
      [['RPUSH', '/jobs/0/env', 'a'], /env is a hash/],
      [['SET', '/jobs/0/in', '0:x'], /in is a list of input frames/],
      [['LPUSH', '/jobs/0/in', '0:x'], /in is a list of input frames/],
      [['RPUSH', '/jobs/0/out', '1:x'], /written by the job engine only/],
      [['SET', '/jobs/0/status', '0'], /written by the job engine only/],
      [['RPUSH', '/jobs/0/wait', '0'], /written by the job engine only/],
      [['SET', '/jobs/0/other', 'x'], /not a key of the job protocol/],
      [['SET', '/jobs/abc', ''], /not a key of the job protocol/],
      [['SET', '/jobs/01', ''], /not a key of the job protocol/],
      [['DEL', '/jobs'], /append-only/],
      [['LPOP', '/jobs'], /append-only/],
      [['LSET', '/jobs', '0', 'x'], /append-only/],
      [['RPUSH', '/jobs', ''], /must not be empty/],
      [['RPOPLPUSH', 'elsewhere', '/jobs/0/in'], /in is a list of input frames/],
      [['EXPIRE', '/jobs/0/args', '10'], /args is a list/],
      [['RENAME', 'elsewhere', '/jobs/0/args'], /args is a list/],
    ];
    await h.cmd('RPUSH', 'elsewhere', 'x');
    for (const [argv, re] of cases) {
      const r = await h.cmd(...argv);
      expect(errorText(r), argv.join(' ')).to.match(re);
    }
    expect(await h.cmd('EXISTS', '/jobs/0/args', '/jobs/0/env', '/jobs/0/in', '/jobs/0/out', '/jobs/0/status', '/jobs/0/wait', '/jobs/0/other')).to.equal(0);
    expect(await h.cmd('LRANGE', '/jobs', 0, -1)).to.deep.equal(['cat']);
  });

  it('refuses bad input frames and input after close', async () => {
    expect(errorText(await h.cmd('RPUSH', '/jobs/0/in', '0:ok', 'no-prefix'))).to.match(/bad input frame "no-prefix"/);
    expect(errorText(await h.cmd('RPUSH', '/jobs/0/in', 'x:1'))).to.match(/bad input frame/);
    expect(errorText(await h.cmd('RPUSH', '/jobs/0/in', '999:x'))).to.match(/bad input frame/);
    expect(await h.cmd('EXISTS', '/jobs/0/in')).to.equal(0);
    expect(await h.cmd('RPUSH', '/jobs/0/in', '0:a', '0:')).to.equal(2);
    expect(errorText(await h.cmd('RPUSH', '/jobs/0/in', '0:late'))).to.match(/input stream 0 is closed/);
    expect(errorText(await h.cmd('RPUSH', '/jobs/0/in', '3:a', '3:', '3:b'))).to.match(/input stream 3 is closed/);
    expect(await h.cmd('LLEN', '/jobs/0/in')).to.equal(2);
  });

  it('refuses args and env changes after the start', async () => {
    await h.cmd('SET', '/jobs/0', '');
    expect(errorText(await h.cmd('RPUSH', '/jobs/0/args', 'x'))).to.match(/already started/);
    expect(errorText(await h.cmd('HSET', '/jobs/0/env', 'A', '1'))).to.match(/already started/);
  });

  it('refuses bad env names', async () => {
    expect(errorText(await h.cmd('HSET', '/jobs/0/env', 'A=B', '1'))).to.match(/bad variable name/);
    expect(errorText(await h.cmd('HSET', '/jobs/0/env', '', '1'))).to.match(/bad variable name/);
  });

  it('refuses input to a job that has exited', async () => {
    await h.cmd('RPUSH', '/jobs/0/in', '0:');
    await h.cmd('SET', '/jobs/0', '');
    await h.collect(0);
    expect(errorText(await h.cmd('RPUSH', '/jobs/0/in', '0:x'))).to.match(/has exited/);
  });

  it('lets readers consume out and wait with any pop command', async () => {
    await h.cmd('RPUSH', '/jobs/0/in', '0:hello', '0:');
    await h.cmd('SET', '/jobs/0', '');
    await until(async () => (await h.cmd('LLEN', '/jobs/0/wait')) === 1);
    expect(await h.cmd('LPOP', '/jobs/0/out')).to.equal('1:hello');
    expect(await h.cmd('RPOP', '/jobs/0/out')).to.equal('2:');
    expect(await h.cmd('LMOVE', '/jobs/0/out', 'mine', 'LEFT', 'RIGHT')).to.equal('1:');
    expect(await h.cmd('DEL', '/jobs/0/wait')).to.equal(1);
  });

  it('enforces argument limits', async () => {
    await h.close();
    h = new Harness({ limits: { maxArgs: 3, maxArgsBytes: 10 } });
    await h.cmd('RPUSH', '/jobs', 'echo');
    expect(errorText(await h.cmd('RPUSH', '/jobs/0/args', 'a', 'b', 'c', 'd'))).to.match(/too many arguments/);
    expect(errorText(await h.cmd('RPUSH', '/jobs/0/args', '12345678901'))).to.match(/too large/);
    expect(await h.cmd('RPUSH', '/jobs/0/args', 'echo', 'ok')).to.equal(2);
  });

  it('refuses SWAPDB with database 0 and moving /jobs keys into it', async () => {
    expect(errorText(await h.cmd('SWAPDB', '0', '1'))).to.match(/job namespace/);
    h.client.db = 2;
    await h.cmd('RPUSH', '/jobs/0/in', '0:x');
    expect(errorText(await h.cmd('MOVE', '/jobs/0/in', '0'))).to.match(/not allowed/);
  });
});
