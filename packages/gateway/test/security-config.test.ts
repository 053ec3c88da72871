import { expect } from 'chai';
import { parseCommandLine, RUN_HELP, SERVE_HELP } from '../src/cli/args.js';
import { loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { parseAccessSpecs } from '../src/security-config.js';

const files = (map: Record<string, string>) => (p: string) => {
  const v = map[p];
  if (v === undefined) throw new Error(`ENOENT: ${p}`);
  return v;
};

const FILE = JSON.stringify({
  tls: { certFile: '/f.crt', keyFile: '/f.key', handshakeTimeoutMs: 5000 },
  sasl: { users: ['file:pw'], allowAnonymous: true },
  require: { tls: true },
  access: { file: ['*'] },
  respTls: true,
});

describe('gateway config: TLS, SASL, require, access from flags and environment', () => {
  it('without any: no security, respTls off', () => {
    const c = loadConfig({ env: {} });
    expect(c.security).to.deep.equal({});
    expect(c.access).to.equal(undefined);
    expect(c.respTls).to.equal(false);
    expect(c.sources['tls']).to.equal('default');
  });

  it('takes the file when nothing overrides it', () => {
    const c = loadConfig({ env: {}, flags: { config: '/c.json' }, readFile: files({ '/c.json': FILE }) });
    expect(c.security).to.deep.equal({
      tls: { certFile: '/f.crt', keyFile: '/f.key', handshakeTimeoutMs: 5000 },
      sasl: { users: ['file:pw'], allowAnonymous: true },
      require: { tls: true },
    });
    expect(c.access).to.deep.equal({ file: ['*'] });
    expect(c.respTls).to.equal(true);
    expect(c.sources['tls']).to.equal('/c.json: tls');
  });

  it('flags over env over file, setting by setting', () => {
    const readFile = files({ '/c.json': FILE });
    const env = {
      BEAMGATE_CONFIG: '/c.json',
      BEAMGATE_TLS_CERT: '/e.crt',
      BEAMGATE_TLS_KEY: '/e.key',
      BEAMGATE_SASL_USERS: 'eve:1, ann:2',
      BEAMGATE_REQUIRE_SASL: 'true',
      BEAMGATE_ACCESS: 'eve=echo,cat;*=echo',
    };
    const e = loadConfig({ env, readFile });
    expect(e.security.tls).to.deep.equal({ certFile: '/e.crt', keyFile: '/e.key', handshakeTimeoutMs: 5000 });
    expect(e.security.sasl).to.deep.equal({ users: ['eve:1', 'ann:2'], allowAnonymous: true });
    expect(e.security.require).to.deep.equal({ tls: true, sasl: true });
    expect(e.access).to.deep.equal({ eve: ['echo', 'cat'], '*': ['echo'] });
    expect(e.sources).to.deep.include({ tls: 'BEAMGATE_TLS_CERT', sasl: 'BEAMGATE_SASL_USERS', access: 'BEAMGATE_ACCESS' });

    const f = loadConfig({
      env,
      readFile,
      flags: { 'tls-self-signed': true, 'sasl-user': ['bob:secret', 'al:x:y'], 'require-tls': true, 'allow-cleartext': true, access: ['bob=*', '=echo'] },
    });
    expect(f.security.tls).to.deep.equal({ selfSigned: true, handshakeTimeoutMs: 5000 });
    expect(f.security.sasl).to.deep.equal({ users: ['bob:secret', 'al:x:y'], allowCleartext: true, allowAnonymous: true });
    expect(f.security.require).to.deep.equal({ tls: true, sasl: true });
    expect(f.access).to.deep.equal({ bob: ['*'], '': ['echo'] });
    expect(f.sources).to.deep.include({ tls: '--tls-self-signed', sasl: '--sasl-user', access: '--access' });

    // An environment variable can turn a file setting off; an empty one counts as unset.
    const off = loadConfig({ env: { BEAMGATE_REQUIRE_TLS: '0', BEAMGATE_RESP_TLS: 'false', BEAMGATE_TLS_CERT: '' }, flags: { config: '/c.json' }, readFile });
    expect(off.security.require).to.deep.equal({ tls: false });
    expect(off.respTls).to.equal(false);
    expect(off.security.tls).to.deep.include({ certFile: '/f.crt' });
  });

  it('names the source of a bad or inconsistent setting', () => {
    expect(() => loadConfig({ env: {}, flags: { 'tls-cert': '/a' } })).to.throw(ConfigError, /--tls-cert and --tls-key go together/);
    expect(() => loadConfig({ env: {}, flags: { 'tls-cert': '/a', 'tls-key': '/b', 'tls-self-signed': true } })).to.throw(ConfigError, /either --tls-self-signed/);
    expect(() => loadConfig({ env: {}, flags: { 'sasl-user': ['nopass'] } })).to.throw(ConfigError, /--sasl-user: expected NAME:PASSWORD/);
    expect(() => loadConfig({ env: { BEAMGATE_SASL_USERS: 'x' } })).to.throw(ConfigError, /^BEAMGATE_SASL_USERS/);
    expect(() => loadConfig({ env: {}, flags: { 'require-tls': true } })).to.throw(ConfigError, /^--require-tls: requiring TLS needs a certificate/);
    expect(() => loadConfig({ env: { BEAMGATE_REQUIRE_SASL: '1' } })).to.throw(ConfigError, /^BEAMGATE_REQUIRE_SASL: requiring SASL needs users/);
    expect(() => loadConfig({ env: { BEAMGATE_REQUIRE_SASL: 'maybe' } })).to.throw(ConfigError, /^BEAMGATE_REQUIRE_SASL: expected 1\/true/);
    expect(() => loadConfig({ env: {}, flags: { 'allow-cleartext': true } })).to.throw(ConfigError, /--allow-cleartext: .*needs SASL users/);
    expect(() => loadConfig({ env: {}, flags: { 'resp-tls': true } })).to.throw(ConfigError, /^--resp-tls: TLS on the RESP listener needs a certificate/);
    expect(() => loadConfig({ env: {}, flags: { 'resp-tls': true, 'tls-self-signed': true, resp: 'off' } })).to.throw(ConfigError, /no RESP listener/);
    expect(() => loadConfig({ env: {}, flags: { access: ['bob'] } })).to.throw(ConfigError, /--access: expected IDENTITY=JOB/);
    expect(() => loadConfig({ env: {}, flags: { 'context-ca': '/ca.pem' } })).to.throw(ConfigError, /--context-ca: a context CA needs a rediss:\/\/ context/);
  });

  it('parses access specs', () => {
    expect(parseAccessSpecs(['a=x, y', 'a=z', '*=*'], 's')).to.deep.equal({ a: ['x', 'y', 'z'], '*': ['*'] });
    expect(() => parseAccessSpecs(['a='], 's')).to.throw(ConfigError, /no job names/);
  });

  it('rediss:// contexts use TLS, with --context-ca read as the trusted CA', () => {
    const c = loadConfig({ env: {}, flags: { context: 'rediss://db.example:7000/2' } });
    expect(c.context).to.deep.equal({ kind: 'remote', url: 'rediss://db.example:7000/2', host: 'db.example', port: 7000, db: 2, tls: true });
    const ca = loadConfig({ env: { BEAMGATE_CONTEXT_CA: '/ca.pem' }, flags: { context: 'rediss://h:1' }, readFile: files({ '/ca.pem': 'PEM' }) });
    expect(ca.context).to.deep.include({ tls: { ca: 'PEM' } });
    expect(() => loadConfig({ env: {}, flags: { context: 'rediss://h:1', 'context-ca': '/missing' }, readFile: files({}) })).to.throw(ConfigError, /--context-ca: cannot read/);
    expect(loadConfig({ env: {}, flags: { context: 'redis://h:1' } }).context).to.not.have.property('tls');
  });
});

describe('beamgate command line: security flags', () => {
  it('serve: help lists them (the names beep and beam use) and they reach the flags, under their older names too', () => {
    for (const f of ['--tls ', '--cert FILE', '--key FILE', '--user NAME:PW', '--require-tls', '--require-sasl', '--allow-cleartext', '--access', '--resp-tls', '--context-ca', 'BEAMGATE_SASL_USERS']) {
      expect(SERVE_HELP).to.include(f);
    }
    const expected = {
      command: 'serve',
      flags: { 'tls-self-signed': true, 'sasl-user': ['bob:secret', 'al:pw'], 'require-sasl': true, 'resp-tls': true, access: ['bob=*'] },
    };
    expect(parseCommandLine(['serve', '--tls', '--user', 'bob:secret', '--user', 'al:pw', '--require-sasl', '--resp-tls', '--access', 'bob=*'])).to.deep.equal(expected);
    expect(parseCommandLine(['serve', '--tls-self-signed', '--sasl-user', 'bob:secret', '--sasl-user', 'al:pw', '--require-sasl', '--resp-tls', '--access', 'bob=*'])).to.deep.equal(expected);
    expect(parseCommandLine(['serve', '--cert', '/c.pem', '--key=/k.pem'])).to.deep.equal({ command: 'serve', flags: { 'tls-cert': '/c.pem', 'tls-key': '/k.pem' } });
  });

  it('run: --tls --cacert --sni --insecure --user/--pass --sasl --mech (and --ca, --servername), and the environment', () => {
    for (const f of ['--tls ', '--cacert FILE', '--sni NAME', '--insecure', '--user NAME', '--pass PW', '--sasl NAME:PW', '--mech MECH', 'BEAMGATE_SASL']) expect(RUN_HELP).to.include(f);
    const n = parseCommandLine(['run', '--cacert', '/ca.pem', '--sni', 'gw', '--user', 'bob', '--pass', 'se:cret', '--', 'echo']);
    expect(n.command === 'run' && n.options.tls).to.deep.equal({ caFile: '/ca.pem', servername: 'gw' });
    expect(n.command === 'run' && n.options.sasl).to.deep.equal({ authcid: 'bob', password: 'se:cret' });
    const c = parseCommandLine(['run', '--tls', '--ca', '/ca.pem', '--servername', 'gw', '--sasl', 'bob:se:cret', '--mech', 'plain', '--', 'echo']);
    expect(c.command === 'run' && c.options.tls).to.deep.equal({ caFile: '/ca.pem', servername: 'gw' });
    expect(c.command === 'run' && c.options.sasl).to.deep.equal({ authcid: 'bob', password: 'se:cret', mechanism: 'PLAIN' });
    const e = parseCommandLine(['run', '--', 'echo'], { BEAMGATE_TLS: '1', BEAMGATE_CA: '/e.pem', BEAMGATE_SASL: 'eve:pw' });
    expect(e.command === 'run' && e.options.tls).to.deep.equal({ caFile: '/e.pem' });
    expect(e.command === 'run' && e.options.sasl).to.deep.equal({ authcid: 'eve', password: 'pw' });
    const plain = parseCommandLine(['run', '--', 'echo'], { BEAMGATE_CA: '/e.pem' });
    expect(plain.command === 'run' && 'tls' in plain.options).to.equal(false);
    const anon = parseCommandLine(['run', '--tls', '--insecure', '--mech', 'ANONYMOUS', '--', 'echo']);
    expect(anon.command === 'run' && anon.options).to.deep.include({ tls: { insecure: true }, sasl: { mechanism: 'ANONYMOUS' } });
    // As in beep and beam, a TLS detail implies --tls.
    const implied = parseCommandLine(['run', '--ca', '/x', '--', 'echo']);
    expect(implied.command === 'run' && implied.options.tls).to.deep.equal({ caFile: '/x' });
    expect(() => parseCommandLine(['run', '--user', 'bob', '--', 'echo'])).to.throw(ConfigError, /--user and --pass go together/);
    expect(() => parseCommandLine(['run', '--sasl', 'bob', '--', 'echo'])).to.throw(ConfigError, /--sasl: expected NAME:PASSWORD/);
    expect(() => parseCommandLine(['run', '--mech', 'MD4', '--', 'echo'])).to.throw(ConfigError, /--mech/);
    expect(() => parseCommandLine(['run', '--mech', 'PLAIN', '--', 'echo'])).to.throw(ConfigError, /--mech needs --user\/--pass/);
  });
});
