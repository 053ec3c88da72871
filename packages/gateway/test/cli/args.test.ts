import { expect } from 'chai';
import { MAIN_HELP, parseCommandLine, RUN_HELP, SERVE_HELP } from '../../src/cli/args.js';
import { ConfigError } from '../../src/errors.js';

describe('beamgate command line', () => {
  it('gives help and version', () => {
    expect(parseCommandLine([])).to.deep.equal({ command: 'help', text: MAIN_HELP });
    expect(parseCommandLine(['--help'])).to.deep.equal({ command: 'help', text: MAIN_HELP });
    expect(parseCommandLine(['serve', '--help'])).to.deep.equal({ command: 'help', text: SERVE_HELP });
    expect(parseCommandLine(['run', '-h'])).to.deep.equal({ command: 'help', text: RUN_HELP });
    expect(parseCommandLine(['-V'])).to.deep.equal({ command: 'version' });
    for (const flag of ['--beep', '--resp', '--context', '--exec', '--config', '--metrics', '--log-level']) expect(SERVE_HELP).to.include(flag);
  });

  it('parses serve flags', () => {
    expect(parseCommandLine(['serve', '--beep', '127.0.0.1:0', '--log-level=debug', '--exec', 'ls,wc'])).to.deep.equal({
      command: 'serve',
      flags: { beep: '127.0.0.1:0', 'log-level': 'debug', exec: 'ls,wc' },
    });
    expect(() => parseCommandLine(['serve', '--bogus'])).to.throw(ConfigError, /beamgate serve/);
    expect(() => parseCommandLine(['serve', 'extra'])).to.throw(ConfigError);
    expect(() => parseCommandLine(['launch'])).to.throw(ConfigError, /unknown command 'launch'/);
  });

  it('parses run: argv after --, env pairs, detach and no-input', () => {
    const c = parseCommandLine(['run', '--beep', '127.0.0.1:9', '--env', 'A=1', '--env', 'B=x=y', '--no-input', '--', 'ls', '-l', '--help']);
    expect(c).to.deep.equal({
      command: 'run',
      options: { beep: { host: '127.0.0.1', port: 9 }, name: 'ls', args: ['-l', '--help'], env: [['A', '1'], ['B', 'x=y']], detach: false, input: false },
    });
    const d = parseCommandLine(['run', '--detach', '--', 'cat'], { BEAMGATE_BEEP: '127.0.0.1:5' });
    expect(d.command === 'run' && d.options.beep.port).to.equal(5);
    expect(d.command === 'run' && d.options.detach).to.equal(true);
    expect(() => parseCommandLine(['run', '--'])).to.throw(ConfigError, /missing job NAME/);
    expect(() => parseCommandLine(['run', '--env', 'novalue', '--', 'x'])).to.throw(ConfigError, /K=V/);
    expect(() => parseCommandLine(['run', '--beep', 'x', '--', 'x'])).to.throw(ConfigError, /--beep/);
  });
});
