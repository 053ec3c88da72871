import { expect } from 'chai';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { startServer } from '../client/server-harness.js';

const run = promisify(execFile);

function hasRedisCli(): boolean {
  try {
    execFileSync('redis-cli', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('cli: the seed pseudo-code verbatim with redis-cli', function () {
  this.timeout(20000);
  let srv: Awaited<ReturnType<typeof startServer>>;
  before(async function () {
    if (!hasRedisCli()) this.skip();
    srv = await startServer();
  });
  after(async () => {
    await srv?.close();
  });

  const cli = async (...args: string[]): Promise<string> => (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(srv.port), ...args])).stdout;

  it('RPUSH /jobs echo; RPUSH args; SET; BLPOP out; GET status', async () => {
    expect(await cli('RPUSH', '/jobs', 'echo')).to.equal('1\n');
    expect(await cli('RPUSH', '/jobs/0/args', 'echo', 'hello')).to.equal('2\n');
    expect(await cli('SET', '/jobs/0', '')).to.equal('OK\n');
    expect(await cli('BLPOP', '/jobs/0/out', '0')).to.equal('/jobs/0/out\n1:hello\n\n');
    expect(await cli('BLPOP', '/jobs/0/out', '0')).to.equal('/jobs/0/out\n1:\n');
    expect(await cli('BLPOP', '/jobs/0/out', '0')).to.equal('/jobs/0/out\n2:\n');
    expect(await cli('BLPOP', '/jobs/0/wait', '0')).to.equal('/jobs/0/wait\n0\n');
    expect(await cli('GET', '/jobs/0/status')).to.equal('0\n');
    expect(await cli('SET', '/jobs/0', '')).to.match(/^ERR .*already started/);
  });

  it('cat with input frames', async () => {
    const id = Number(await cli('RPUSH', '/jobs', 'cat')) - 1;
    await cli('SET', `/jobs/${id}`, '');
    expect(await cli('RPUSH', `/jobs/${id}/in`, '0:data')).to.match(/^\d+\n$/);
    expect(await cli('BLPOP', `/jobs/${id}/out`, '0')).to.equal(`/jobs/${id}/out\n1:data\n`);
    await cli('RPUSH', `/jobs/${id}/in`, '0:');
    expect(await cli('BLPOP', `/jobs/${id}/out`, '0')).to.equal(`/jobs/${id}/out\n1:\n`);
    expect(await cli('BLPOP', `/jobs/${id}/out`, '0')).to.equal(`/jobs/${id}/out\n2:\n`);
    expect(await cli('BLPOP', `/jobs/${id}/wait`, '0')).to.equal(`/jobs/${id}/wait\n0\n`);
    expect(await cli('RPUSH', `/jobs/${id}/in`, 'oops')).to.match(/^ERR /);
  });
});
