import { expect } from 'chai';
import { DEFAULT_LIMITS, loadConfig, parseAddress, parseContext } from '../src/config.js';
import { ConfigError } from '../src/errors.js';

const files = (map: Record<string, string>) => (p: string) => {
  const v = map[p];
  if (v === undefined) throw new Error(`ENOENT: ${p}`);
  return v;
};

describe('gateway config', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({ env: {} });
    expect(c.beep).to.deep.equal({ host: '127.0.0.1', port: 10288 });
    expect(c.resp).to.deep.equal({ host: '127.0.0.1', port: 6381 });
    expect(c.context).to.deep.equal({ kind: 'embedded' });
    expect(c.exec).to.deep.equal([]);
    expect(c.metrics).to.equal(null);
    expect(c.logLevel).to.equal('info');
    expect(c.shutdownTimeoutMs).to.equal(10000);
    expect(c.limits).to.deep.equal(DEFAULT_LIMITS);
  });

  it('takes flags over env over file', () => {
    const readFile = files({ '/c.json': JSON.stringify({ beep: '10.0.0.1:1', resp: '10.0.0.1:2', exec: ['ls'], logLevel: 'debug', metrics: '127.0.0.1:9464' }) });
    const env = { BEAMGATE_CONFIG: '/c.json', BEAMGATE_BEEP: '127.0.0.1:2000', BEAMGATE_EXEC: 'wc, ls ,wc', BEAMGATE_RESP: '' };
    const c = loadConfig({ flags: { beep: '127.0.0.1:3000' }, env, readFile });
    expect(c.beep.port).to.equal(3000);
    expect(c.sources['beep']).to.equal('--beep');
    expect(c.exec).to.deep.equal(['wc', 'ls']);
    expect(c.sources['exec']).to.equal('BEAMGATE_EXEC');
    expect(c.resp).to.deep.equal({ host: '10.0.0.1', port: 2 }); // empty env counts as unset
    expect(c.logLevel).to.equal('debug');
    expect(c.metrics).to.deep.equal({ host: '127.0.0.1', port: 9464 });
    const c2 = loadConfig({ env: {}, flags: { config: '/c.json', 'log-level': 'warn', metrics: 'off' }, readFile });
    expect(c2.beep.port).to.equal(1);
    expect(c2.logLevel).to.equal('warn');
    expect(c2.metrics).to.equal(null);
  });

  it('handles remote contexts: no RESP listener by default, refused if asked', () => {
    const c = loadConfig({ env: { BEAMGATE_CONTEXT: 'redis://db.example:7000/3' } });
    expect(c.context).to.deep.include({ kind: 'remote', host: 'db.example', port: 7000, db: 3 });
    expect(c.resp).to.equal(null);
    expect(() => loadConfig({ env: {}, flags: { context: 'redis://h:1', resp: '127.0.0.1:6380' } })).to.throw(ConfigError, /--resp/);
    expect(loadConfig({ env: {}, flags: { context: 'redis://h:1', resp: 'off' } }).resp).to.equal(null);
    expect(parseContext('redis://[::1]', 'x')).to.deep.include({ host: '::1', port: 6379, db: 0 });
  });

  it('names the source of a bad value', () => {
    expect(() => loadConfig({ env: { BEAMGATE_BEEP: 'nope' } })).to.throw(ConfigError, /^BEAMGATE_BEEP: expected HOST:PORT/);
    expect(() => loadConfig({ env: {}, flags: { beep: 'h:70000' } })).to.throw(ConfigError, /--beep: port 70000/);
    expect(() => loadConfig({ env: {}, flags: { context: 'http://x' } })).to.throw(ConfigError, /--context: unsupported/);
    expect(() => loadConfig({ env: {}, flags: { context: 'redis://h/99' } })).to.throw(ConfigError, /database/);
    expect(() => loadConfig({ env: {}, flags: { exec: 'ls,rm -rf' } })).to.throw(ConfigError, /--exec: bad program/);
    expect(() => loadConfig({ env: { BEAMGATE_LOG_LEVEL: 'loud' } })).to.throw(ConfigError, /BEAMGATE_LOG_LEVEL/);
    const readFile = files({ '/bad.json': '{"beep": 1}', '/unknown.json': '{"bep": "x"}', '/syntax.json': '{', '/lim.json': '{"limits":{"maxArgs":-1}}', '/lim2.json': '{"limits":{"nope":1}}', '/arr.json': '[]' });
    expect(() => loadConfig({ env: {}, flags: { config: '/bad.json' }, readFile })).to.throw(ConfigError, /\/bad.json: beep must be a string/);
    expect(() => loadConfig({ env: {}, flags: { config: '/unknown.json' }, readFile })).to.throw(ConfigError, /unknown key 'bep'/);
    expect(() => loadConfig({ env: {}, flags: { config: '/syntax.json' }, readFile })).to.throw(ConfigError, /not valid JSON/);
    expect(() => loadConfig({ env: {}, flags: { config: '/lim.json' }, readFile })).to.throw(ConfigError, /limits.maxArgs/);
    expect(() => loadConfig({ env: {}, flags: { config: '/lim2.json' }, readFile })).to.throw(ConfigError, /unknown limit/);
    expect(() => loadConfig({ env: {}, flags: { config: '/arr.json' }, readFile })).to.throw(ConfigError, /JSON object/);
    expect(() => loadConfig({ env: { BEAMGATE_CONFIG: '/missing.json' }, readFile })).to.throw(ConfigError, /BEAMGATE_CONFIG: cannot read/);
  });

  it('reports a config file the real filesystem cannot read', () => {
    expect(() => loadConfig({ env: {}, flags: { config: '/' } })).to.throw(ConfigError, /^--config: cannot read \/: .*EISDIR/);
  });

  it('reads limits from the file', () => {
    const readFile = files({ '/l.json': '{"limits":{"outputHighWater":1024},"shutdownTimeoutMs":5}' });
    const c = loadConfig({ env: {}, flags: { config: '/l.json' }, readFile });
    expect(c.limits.outputHighWater).to.equal(1024);
    expect(c.limits.maxArgs).to.equal(DEFAULT_LIMITS.maxArgs);
    expect(c.shutdownTimeoutMs).to.equal(5);
  });

  it('reads tls, sasl, require and access from the file, with checks', () => {
    const good = JSON.stringify({
      tls: { selfSigned: true }, sasl: { users: ['a:b'], allowCleartext: false }, require: { sasl: true }, access: { a: ['*'], '': ['echo'] },
    });
    const readFile = files({
      '/s.json': good,
      '/t.json': '{"tls":{"certFile":"c.pem"}}',
      '/u.json': '{"sasl":{"users":["nopassword"]}}',
      '/r.json': '{"require":{"tls":true}}',
      '/a.json': '{"access":{"x":"echo"}}',
      '/k.json': '{"tls":{"selfSigned":true,"port":1}}',
    });
    const c = loadConfig({ env: {}, flags: { config: '/s.json' }, readFile });
    expect(c.security).to.deep.equal({ tls: { selfSigned: true }, sasl: { users: ['a:b'], allowCleartext: false }, require: { sasl: true } });
    expect(c.access).to.deep.equal({ a: ['*'], '': ['echo'] });
    expect(loadConfig({ env: {} }).security).to.deep.equal({});
    expect(() => loadConfig({ env: {}, flags: { config: '/t.json' }, readFile })).to.throw(ConfigError, /certFile and keyFile/);
    expect(() => loadConfig({ env: {}, flags: { config: '/u.json' }, readFile })).to.throw(ConfigError, /user:password/);
    expect(() => loadConfig({ env: {}, flags: { config: '/r.json' }, readFile })).to.throw(ConfigError, /require.tls needs tls/);
    expect(() => loadConfig({ env: {}, flags: { config: '/a.json' }, readFile })).to.throw(ConfigError, /access.x/);
    expect(() => loadConfig({ env: {}, flags: { config: '/k.json' }, readFile })).to.throw(ConfigError, /tls.port: unknown key/);
  });

  it('parses addresses', () => {
    expect(parseAddress('[::1]:0', 'x')).to.deep.equal({ host: '::1', port: 0 });
    expect(parseAddress('localhost:80', 'x')).to.deep.equal({ host: 'localhost', port: 80 });
    expect(() => parseAddress('::1:80', 'x')).to.throw(ConfigError);
    expect(() => parseAddress('host', 'x')).to.throw(ConfigError);
  });
});

describe('gateway config: security of the RESP listener and the beep handler', () => {
  it('--allow-beep-targets over BEAMGATE_ALLOW_BEEP_TARGETS over the file; default none', () => {
    expect(loadConfig({ env: {} }).allowBeepTargets).to.deep.equal([]);
    const readFile = files({ '/c.json': JSON.stringify({ allowBeepTargets: ['a.example:10288', '[::1]:7'], authThrottle: { freeFailures: 3, maxLockoutMs: 5000 } }) });
    const file = loadConfig({ env: { BEAMGATE_CONFIG: '/c.json' }, readFile });
    expect(file.allowBeepTargets).to.deep.equal(['a.example:10288', '[::1]:7']);
    expect(file.authThrottle).to.deep.equal({ freeFailures: 3, maxLockoutMs: 5000 });
    const env = loadConfig({ env: { BEAMGATE_CONFIG: '/c.json', BEAMGATE_ALLOW_BEEP_TARGETS: 'h:1, h:2' }, readFile });
    expect(env.allowBeepTargets).to.deep.equal(['h:1', 'h:2']);
    const flag = loadConfig({ flags: { 'allow-beep-targets': ['x:1,y:2', '*'] }, env: { BEAMGATE_ALLOW_BEEP_TARGETS: 'h:1' } });
    expect(flag.allowBeepTargets).to.deep.equal(['x:1', 'y:2', '*']);
    expect(flag.sources['allowBeepTargets']).to.equal('--allow-beep-targets');
  });

  it('refuses malformed targets and throttle settings, naming the source', () => {
    expect(() => loadConfig({ flags: { 'allow-beep-targets': ['nohost'] }, env: {} })).to.throw(ConfigError, /^--allow-beep-targets: expected HOST:PORT or \*, got 'nohost'/);
    expect(() => loadConfig({ flags: { 'allow-beep-targets': ['h:99999'] }, env: {} })).to.throw(ConfigError, /port out of range/);
    const bad = (v: unknown): (() => unknown) => () => loadConfig({ env: { BEAMGATE_CONFIG: '/c.json' }, readFile: files({ '/c.json': JSON.stringify({ authThrottle: v }) }) });
    expect(bad({ lockout: 1 })).to.throw(ConfigError, /authThrottle\.lockout: unknown key/);
    expect(bad({ baseLockoutMs: 0 })).to.throw(ConfigError, /authThrottle\.baseLockoutMs: must be at least 1/);
    expect(bad(true)).to.throw(ConfigError, /authThrottle: expected false or an object/);
    expect(loadConfig({ env: { BEAMGATE_CONFIG: '/c.json' }, readFile: files({ '/c.json': '{"authThrottle":false}' }) }).authThrottle).to.equal(false);
  });
});
