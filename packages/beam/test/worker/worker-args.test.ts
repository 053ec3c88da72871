import { expect } from 'chai';
import { parseWorkerArgs } from '../../src/cli/worker.js';
import { UsageError } from '../../src/cli/serve.js';
import { RedisTargetError } from '../../src/worker/target.js';
import { mergeNotifyFlags, missingNotifyFlags } from '../../src/worker/keys.js';

describe('beam worker: flags and notification flags', () => {
  it('parses standalone, cluster and Sentinel targets and the engine flags of beam serve', () => {
    const a = parseWorkerArgs(['--context', 'redis://h:1/2', '--exec', 'ls,wc', '--max-jobs', '8', '--lease-ms', '3000']);
    expect(a.help).to.equal(false);
    if (a.help) return;
    expect(a.options).to.deep.include({ target: { kind: 'standalone', url: 'redis://h:1/2' }, exec: ['ls', 'wc'], leaseMs: 3000 });
    expect(a.options).to.have.nested.property('limits.maxJobs', 8);
    const c = parseWorkerArgs(['--cluster', '--context', 'redis://a:1', '--context', 'redis://b:2']);
    expect(!c.help && c.options.target).to.deep.equal({ kind: 'cluster', nodes: [{ host: 'a', port: 1 }, { host: 'b', port: 2 }] });
    const s = parseWorkerArgs(['--sentinel', 's:26379', '--master', 'm', '--db', '3']);
    expect(!s.help && s.options.target).to.deep.equal({ kind: 'sentinel', sentinels: [{ host: 's', port: 26379 }], name: 'm', db: 3 });
    expect(parseWorkerArgs(['-h']).help).to.equal(true);
  });

  it('refuses bad usage with a clear error', () => {
    expect(() => parseWorkerArgs([])).to.throw(UsageError, /--context/);
    expect(() => parseWorkerArgs(['--context', 'redis://a:1', '--context', 'redis://b:1'])).to.throw(UsageError, /--cluster/);
    expect(() => parseWorkerArgs(['--sentinel', 's:1'])).to.throw(UsageError, /--master/);
    expect(() => parseWorkerArgs(['--sentinel', 'nope', '--master', 'm'])).to.throw(RedisTargetError, /HOST:PORT/);
    expect(() => parseWorkerArgs(['--context', 'redis://a:1', '--lease-ms', '10'])).to.throw(UsageError, /--lease-ms/);
    expect(() => parseWorkerArgs(['--context', 'redis://a:1', '--max-jobs', '0'])).to.throw(UsageError, /--max-jobs/);
  });

  it('adds the notification classes a worker needs to what the server has', () => {
    expect(missingNotifyFlags('', 'KEg$lx')).to.equal('KEg$lx');
    expect(missingNotifyFlags('KEA', 'KEg$lx')).to.equal('');
    expect(missingNotifyFlags('Kl', 'KEg$lx')).to.equal('Eg$x');
    expect(mergeNotifyFlags('Kh', 'KEg$lx').split('').sort().join('')).to.equal('$EKghlx');
    expect(mergeNotifyFlags('AK', 'KEg$lx')).to.not.include('A');
  });
});
