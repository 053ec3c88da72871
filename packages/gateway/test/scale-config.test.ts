import { expect } from 'chai';
import { loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { redisTarget } from '../src/scale-config.js';
import { parseCommandLine } from '../src/cli/args.js';

describe('beamgate serve: Redis context flags (--cluster, --sentinel, --worker)', () => {
  const load = (flags: Record<string, unknown>, env: Record<string, string> = {}) => loadConfig({ flags, env });

  it('a cluster seed, a Sentinel-named master, a standalone URL', () => {
    const c = load({ context: 'redis://10.0.0.1:7000', cluster: true, worker: true });
    expect(c.worker).to.equal(true);
    expect(c.context).to.deep.include({ kind: 'remote', host: '10.0.0.1', port: 7000, cluster: true });
    expect(redisTarget(c.context as never)).to.deep.equal({ kind: 'cluster', nodes: [{ host: '10.0.0.1', port: 7000 }] });
    const s = load({}, { BEAMGATE_SENTINEL: '10.0.0.2:26379,10.0.0.3:26379', BEAMGATE_MASTER: 'jobs' });
    expect(redisTarget(s.context as never)).to.deep.equal({
      kind: 'sentinel',
      sentinels: [{ host: '10.0.0.2', port: 26379 }, { host: '10.0.0.3', port: 26379 }],
      name: 'jobs',
      db: 0,
    });
    expect(redisTarget(load({ context: 'redis://h:1/2' }).context as never)).to.deep.equal({ kind: 'standalone', url: 'redis://h:1/2' });
    expect(load({}).worker).to.equal(false);
  });

  it('refuses combinations that cannot work, naming the flag', () => {
    expect(() => load({ cluster: true })).to.throw(ConfigError, /--cluster needs --context/);
    expect(() => load({ context: 'redis://h:1/3', cluster: true })).to.throw(ConfigError, /only database 0/);
    expect(() => load({ sentinel: 'h:1' })).to.throw(ConfigError, /--master/);
    expect(() => load({ master: 'm' })).to.throw(ConfigError, /--sentinel/);
    expect(() => load({ sentinel: 'nowhere', master: 'm' })).to.throw(ConfigError, /--sentinel: expected HOST:PORT/);
    expect(() => load({ worker: true })).to.throw(ConfigError, /--worker needs a Redis context/);
  });

  it('parses the flags on the command line', () => {
    const cmd = parseCommandLine(['serve', '--context', 'redis://h:1', '--cluster', '--worker']);
    expect(cmd).to.deep.equal({ command: 'serve', flags: { context: 'redis://h:1', cluster: true, worker: true } });
  });
});
