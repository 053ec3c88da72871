import { expect } from 'chai';
import { parseServeArgs, SERVE_HELP, UsageError } from '../../src/cli/serve.js';

describe('cli: beam serve flags', () => {
  it('documents every job-engine flag in --help', () => {
    for (const flag of ['--max-jobs N', '--retain-finished-ms MS', '--unstarted-ttl-ms MS', '--max-unstarted-jobs N', '--kill-grace-ms MS']) {
      expect(SERVE_HELP, flag).to.include(flag);
    }
    expect(SERVE_HELP).to.match(/--unstarted-ttl-ms MS .*default 600000; 0 = never/);
    expect(SERVE_HELP).to.match(/--max-unstarted-jobs N .*default 10000/);
  });

  it('passes only the given job options to the engine', () => {
    expect(parseServeArgs([]).jobs).to.deep.equal({});
    const p = parseServeArgs(['--port', '0', '--max-jobs', '3', '--max-unstarted-jobs', '7', '--unstarted-ttl-ms', '0', '--retain-finished-ms', '5']);
    expect(p.port).to.equal(0);
    expect(p.jobs).to.deep.equal({ limits: { maxJobs: 3, maxUnstartedJobs: 7 }, retainFinishedMs: 5, unstartedTtlMs: 0 });
    expect(parseServeArgs(['--unstarted-ttl-ms', '1500']).jobs).to.deep.equal({ unstartedTtlMs: 1500 });
    expect(parseServeArgs(['--kill-grace-ms', '0']).jobs).to.deep.equal({ killGraceMs: 0 });
    expect(parseServeArgs(['--max-unstarted-jobs', '1']).jobs).to.deep.equal({ limits: { maxUnstartedJobs: 1 } });
  });

  it('refuses bad values with a UsageError naming the flag; --help wins', () => {
    const bad: Array<[string, string[]]> = [
      ['--max-unstarted-jobs', ['--max-unstarted-jobs', '0']],
      ['--max-unstarted-jobs', ['--max-unstarted-jobs', 'x']],
      ['--unstarted-ttl-ms', ['--unstarted-ttl-ms=-1']],
      ['--unstarted-ttl-ms', ['--unstarted-ttl-ms', '1.5']],
      ['--kill-grace-ms', ['--kill-grace-ms=1.5']],
    ];
    for (const [flag, argv] of bad) {
      expect(() => parseServeArgs(argv), argv.join(' ')).to.throw(UsageError, new RegExp(`^${flag} must be an integer`));
    }
    expect(() => parseServeArgs(['--unstarted-ttl-ms'])).to.throw(TypeError);
    expect(parseServeArgs(['--help', '--max-unstarted-jobs', '0']).values.help).to.equal(true);
  });
});

describe('cli: beam serve security flags', () => {
  it('parses users, protected mode, the protected-action gates and the AUTH throttle', () => {
    const p = parseServeArgs(['--user', 'alice:w:x', '--user', 'bob:s', '--protected-mode', 'no', '--enable-debug-command', 'local',
      '--enable-protected-configs', 'YES', '--auth-free-failures', '3', '--auth-lockout-ms', '500', '--auth-max-lockout-ms', '9000']);
    expect(p.users).to.deep.equal([['alice', 'w:x'], ['bob', 's']]);
    expect(p.config).to.deep.equal({ 'protected-mode': 'no', 'enable-debug-command': 'local', 'enable-protected-configs': 'yes' });
    expect(p.authThrottle).to.deep.equal({ freeFailures: 3, baseLockoutMs: 500, maxLockoutMs: 9000 });
    expect(parseServeArgs([]).config).to.deep.equal({});
    for (const flag of ['--user NAME:PASSWORD', '--protected-mode yes|no', '--enable-debug-command', '--enable-protected-configs', '--auth-free-failures N']) {
      expect(SERVE_HELP, flag).to.include(flag);
    }
  });

  it('refuses malformed users and gate values', () => {
    expect(() => parseServeArgs(['--user', 'nopassword'])).to.throw(UsageError, /--user expects NAME:PASSWORD/);
    expect(() => parseServeArgs(['--user', ':pw'])).to.throw(UsageError, /--user expects NAME:PASSWORD/);
    expect(() => parseServeArgs(['--enable-debug-command', 'maybe'])).to.throw(UsageError, /--enable-debug-command must be one of no, yes, local/);
    expect(() => parseServeArgs(['--protected-mode', 'local'])).to.throw(UsageError, /--protected-mode must be one of yes, no/);
  });
});
