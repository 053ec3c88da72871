import { expect } from 'chai';
import { bindError, clientTlsFrom, formatError, parseTarget, renameFlags, secondsFlag, UsageError } from '../src/index.js';

describe('base: CLI plumbing', () => {
  it('parses URL and HOST:PORT targets', () => {
    expect(parseTarget('beeps://gw.example:10288')).to.deep.equal({ kind: 'tcp', scheme: 'beeps', host: 'gw.example', port: 10288, tls: true });
    expect(parseTarget('redis://u:p%40ss@127.0.0.1:6390/2')).to.deep.include({ host: '127.0.0.1', port: 6390, user: 'u', pass: 'p@ss', db: 2, tls: false });
    expect(parseTarget('beep://[::1]', { defaultPort: 10288 })).to.deep.include({ host: '::1', port: 10288 });
    expect(parseTarget('unix:/run/x.sock')).to.deep.equal({ kind: 'unix', path: '/run/x.sock' });
    expect(parseTarget(':7000')).to.deep.include({ host: '127.0.0.1', port: 7000, scheme: undefined });
    expect(() => parseTarget('http://x:1')).to.throw(UsageError, /unsupported scheme/);
    expect(() => parseTarget('x:99999')).to.throw(UsageError, /bad port/);
  });

  it('renames deprecated flags up to --', () => {
    expect(renameFlags(['--ca', 'f', '--servername=n', '--', '--ca'], { ca: 'cacert', servername: 'sni' })).to.deep.equal(['--cacert', 'f', '--sni=n', '--', '--ca']);
  });

  it('reads client TLS flags and names the flag of an unreadable file', () => {
    expect(clientTlsFrom({})).to.equal(undefined);
    expect(clientTlsFrom({ sni: 'x', insecure: true })).to.deep.equal({ servername: 'x', rejectUnauthorized: false });
    expect(() => clientTlsFrom({ cacert: '/nonexistent/ca.pem' })).to.throw(UsageError, /--cacert: cannot read/);
    expect(() => clientTlsFrom({ cert: 'a' })).to.throw(UsageError, /--cert and --key/);
  });

  it('prints errors with their fix and a stack only in debug', () => {
    const busy = bindError(Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE', address: '127.0.0.1', port: 10288 }), '--port');
    const text = formatError('beep', busy, false);
    expect(text).to.equal('beep: 127.0.0.1:10288 is already in use (another process listens there)\nbeep: hint: pick another with --port (0 picks a free port)\n');
    expect(formatError('beep', new Error('x'), true)).to.match(/at /);
  });
});

describe('base: secondsFlag', () => {
  it('reads seconds (decimals allowed) as milliseconds, undefined when absent', () => {
    expect(secondsFlag('timeout', undefined)).to.equal(undefined);
    expect(secondsFlag('timeout', '2')).to.equal(2000);
    expect(secondsFlag('timeout', '0.25')).to.equal(250);
    expect(secondsFlag('timeout', '600', { max: 600 })).to.equal(600_000);
  });

  it('refuses what is not a number of seconds in range, naming the flag', () => {
    for (const bad of ['', 'abc', '-1', '0', '1e3', '2s', '0.0001']) {
      expect(() => secondsFlag('timeout', bad), bad).to.throw(UsageError, /^--timeout expects seconds/);
    }
    expect(() => secondsFlag('wait', '601', { max: 600 })).to.throw(UsageError, /--wait expects seconds in 0.001..600/);
  });
});
