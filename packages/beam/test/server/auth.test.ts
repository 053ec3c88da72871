import net from 'node:net';
import diagnostics_channel from 'node:diagnostics_channel';
import { expect } from 'chai';
import { AUTH_FAILURE_CHANNEL, isLocalAddress, isLoopbackBind, PROTECTED_MODE_DENIED, type AuthFailure } from '../../src/server/auth.js';
import { AuthThrottle } from '../../src/server/auth-throttle.js';
import type { BeamServer, BeamServerOptions } from '../../src/server/server.js';
import { RespClient } from '../sync/helpers.js';
import { startServer } from './helpers.js';

const E_DEBUG = 'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a '
  + 'local connection, otherwise you need to set this option in the configuration file, and then restart the server.';

async function err(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error reply');
}

/** Connects from a given local address (127.0.0.2 is not "local" to Redis) and reads until the server closes. */
function readFrom(port: number, localAddress: string, send = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    let data = '';
    s.on('connect', () => send && s.write(send));
    s.on('data', (d: Buffer) => (data += d.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => resolve(data));
  });
}

describe('server: authentication, protected mode and protected actions', function () {
  this.timeout(15000);
  let server: BeamServer | undefined;
  let port = 0;
  const clients: RespClient[] = [];

  const start = async (opts: BeamServerOptions = {}): Promise<void> => {
    ({ server, port } = await startServer(opts));
  };
  const connect = async (): Promise<RespClient> => {
    const c = await RespClient.connect(port);
    clients.push(c);
    return c;
  };

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server?.close();
    server = undefined;
  });

  it('named users: NOAUTH before AUTH, AUTH user pass, HELLO 3 AUTH, ACL WHOAMI, CLIENT LIST user=', async () => {
    await start({ users: { alice: 'wonder', bob: 'secret' }, authThrottle: false });
    const c = await connect();
    expect(await err(c.call('GET', 'k'))).to.equal('NOAUTH Authentication required.');
    expect(await err(c.call('AUTH', 'alice', 'nope'))).to.equal('WRONGPASS invalid username-password pair or user is disabled.');
    // The default user is off when named users exist and no requirepass is set.
    expect(await err(c.call('AUTH', 'default', 'x'))).to.match(/^WRONGPASS/);
    expect(await err(c.call('AUTH', 'x'))).to.match(/^ERR AUTH <password> called without any password configured/);
    expect(await c.str('AUTH', 'alice', 'wonder')).to.equal('OK');
    expect(await c.str('ACL', 'WHOAMI')).to.equal('alice');
    expect(await c.str('CLIENT', 'INFO')).to.match(/ user=alice /);
    expect((await c.call('ACL', 'USERS') as Buffer[]).map(String)).to.deep.equal(['alice', 'bob', 'default']);
    const hello = await readFrom(port, '127.0.0.1', 'GET k\r\nHELLO 3 AUTH bob bad\r\nHELLO 3 AUTH bob secret\r\nACL WHOAMI\r\nQUIT\r\n');
    expect(hello).to.match(/^-NOAUTH Authentication required\.\r\n-WRONGPASS invalid username-password pair or user is disabled\.\r\n%7\r\n/);
    expect(hello).to.match(/\$3\r\nbob\r\n\+OK\r\n$/);
  });

  it('requirepass keeps the default user, and named users work next to it', async () => {
    await start({ requirepass: 'pw', users: { carol: 'c' }, authThrottle: false });
    const c = await connect();
    expect(await err(c.call('PING'))).to.equal('NOAUTH Authentication required.');
    expect(await c.str('AUTH', 'pw')).to.equal('OK');
    expect(await c.str('ACL', 'WHOAMI')).to.equal('default');
    expect(await c.str('AUTH', 'carol', 'c')).to.equal('OK');
    expect(await c.str('ACL', 'WHOAMI')).to.equal('carol');
  });

  it('requireAuth without any password refuses everything but AUTH/HELLO/QUIT', async () => {
    await start({ requireAuth: true });
    const c = await connect();
    expect(await err(c.call('SET', 'k', 'v'))).to.equal('NOAUTH Authentication required.');
    expect(await err(c.call('AUTH', 'default', 'anything'))).to.match(/^WRONGPASS/);
    expect(await c.str('QUIT')).to.equal('OK');
  });

  it('throttles AUTH per address and per user, logs each failure, and refuses without checking while locked', async () => {
    const seen: AuthFailure[] = [];
    const onMessage = (m: unknown): void => void seen.push(m as AuthFailure);
    diagnostics_channel.subscribe(AUTH_FAILURE_CHANNEL, onMessage);
    try {
      await start({ users: { alice: 'wonder' }, authThrottle: { freeFailures: 3, baseLockoutMs: 60_000 } });
      const events: AuthFailure[] = [];
      server!.on('authFailure', (f: AuthFailure) => events.push(f));
      const c = await connect();
      for (let i = 0; i < 3; i++) expect(await err(c.call('AUTH', 'alice', `guess${i}`))).to.match(/^WRONGPASS/);
      // The fourth failure starts a lockout; from then on even the right password is refused unchecked.
      expect(await err(c.call('AUTH', 'alice', 'guess3'))).to.match(/^WRONGPASS/);
      expect(await err(c.call('AUTH', 'alice', 'wonder'))).to.match(/^ERR too many failed authentication attempts .* retry in 60 s$/);
      // A fresh connection from the same address is locked out too (per address, not per connection).
      const d = await connect();
      expect(await err(d.call('AUTH', 'other', 'x'))).to.match(/^ERR too many failed authentication attempts/);
      expect(events.map((e) => e.reason)).to.deep.equal(['wrongpass', 'wrongpass', 'wrongpass', 'wrongpass', 'locked', 'locked']);
      expect(events[0]).to.include({ address: '127.0.0.1', user: 'alice', lockoutMs: 0 });
      expect(events[3]!.lockoutMs).to.equal(60_000);
      expect(seen.filter((e) => e.user === 'alice' || e.user === 'other')).to.have.length(6);
    } finally {
      diagnostics_channel.unsubscribe(AUTH_FAILURE_CHANNEL, onMessage);
    }
  });

  it('brute force over fresh connections is held to the lockout schedule (measured rate)', async () => {
    await start({ users: { alice: 'wonder' }, authThrottle: { freeFailures: 5, baseLockoutMs: 1000 } });
    let checked = 0;
    let refused = 0;
    server!.on('authFailure', (f: AuthFailure) => (f.reason === 'wrongpass' ? checked++ : refused++));
    const t0 = Date.now();
    let attempts = 0;
    while (Date.now() - t0 < 2500) {
      const c = await connect();
      await err(c.call('AUTH', 'alice', `guess${attempts++}`));
      c.close();
      clients.pop();
    }
    const seconds = (Date.now() - t0) / 1000;
    // 5 free failures, then lockouts of 1 s and 2 s: at most 7 guesses are checked in 2.5 s, whatever the attempt rate.
    expect(checked, `${attempts} attempts in ${seconds}s`).to.be.within(5, 7);
    expect(refused).to.equal(attempts - checked);
  });

  it('AuthThrottle: free failures, doubling lockouts capped, per-user reset on success, decay, bounded state', () => {
    let now = 0;
    const t = new AuthThrottle({ freeFailures: 2, baseLockoutMs: 100, maxLockoutMs: 350, forgetAfterMs: 10_000, maxEntries: 3, now: () => now });
    expect(t.failure('1.1.1.1', 'u')).to.equal(0);
    expect(t.failure('::ffff:1.1.1.1', 'u')).to.equal(0);
    expect(t.failure('1.1.1.1', 'v')).to.equal(100);
    expect(t.retryAfter('1.1.1.1', undefined)).to.equal(100);
    expect(t.retryAfter('2.2.2.2', 'u')).to.equal(0);
    expect(t.failure('1.1.1.1', 'w')).to.equal(200);
    expect(t.failure('1.1.1.1', 'w')).to.equal(350);
    now += 400;
    expect(t.retryAfter('1.1.1.1', 'u')).to.equal(0);
    t.failure('9.9.9.9', 'z');
    t.failure('9.9.9.9', 'z');
    expect(t.failure('9.9.9.9', 'z')).to.equal(100);
    expect(t.retryAfter('8.8.8.8', 'z')).to.equal(100);
    t.success('z');
    expect(t.retryAfter('8.8.8.8', 'z')).to.equal(0);
    expect(t.retryAfter('9.9.9.9', undefined)).to.equal(100);
    now += 20_000;
    expect(t.retryAfter('1.1.1.1', undefined)).to.equal(0);
    for (let i = 0; i < 10; i++) t.failure(`10.0.0.${i}`, `user${i}`);
    expect(t.size).to.be.at.most(6);
  });

  it('protected mode decision: exactly 127.0.0.1, ::1 and unix sockets are local (as Redis islocalClient)', () => {
    expect(isLocalAddress('127.0.0.1')).to.equal(true);
    expect(isLocalAddress('::ffff:127.0.0.1')).to.equal(true);
    expect(isLocalAddress('::1')).to.equal(true);
    expect(isLocalAddress(undefined)).to.equal(true);
    expect(isLocalAddress('127.0.0.2')).to.equal(false);
    expect(isLocalAddress('10.0.0.1')).to.equal(false);
    expect(isLocalAddress('fe80::1')).to.equal(false);
    expect(isLoopbackBind('127.0.0.1')).to.equal(true);
    expect(isLoopbackBind('127.1.2.3')).to.equal(true);
    expect(isLoopbackBind('localhost')).to.equal(true);
    expect(isLoopbackBind('0.0.0.0')).to.equal(false);
    expect(isLoopbackBind('::')).to.equal(false);
  });

  it('protected mode refuses a non-local client with Redis\' -DENIED text, and not with a password or when off', async () => {
    await start();
    expect(server!.protectedMode).to.equal(true);
    const denied = new Promise<string>((resolve) => server!.once('denied', resolve));
    expect(await readFrom(port, '127.0.0.2', 'PING\r\n')).to.equal(PROTECTED_MODE_DENIED);
    expect(await denied).to.equal('127.0.0.2');
    expect(PROTECTED_MODE_DENIED).to.match(/^-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user\. /);
    // 127.0.0.1 is served.
    const c = await connect();
    expect(await c.str('PING')).to.equal('PONG');
    // CONFIG SET protected-mode no (from the loopback interface) opens it.
    expect(await c.str('CONFIG', 'SET', 'protected-mode', 'no')).to.equal('OK');
    expect(await readFrom(port, '127.0.0.2', 'PING\r\nQUIT\r\n')).to.equal('+PONG\r\n+OK\r\n');
    await server!.close();
    // With a password protected mode does not apply: the client gets NOAUTH, not DENIED.
    await start({ requirepass: 'pw' });
    expect(await readFrom(port, '127.0.0.2', 'PING\r\nQUIT\r\n')).to.equal('-NOAUTH Authentication required.\r\n+OK\r\n');
  });

  it('DEBUG is refused unless enable-debug-command allows it (yes, or local for local clients); it is immutable', async () => {
    await start();
    const c = await connect();
    expect(await err(c.call('DEBUG', 'SLEEP', '0'))).to.equal(E_DEBUG);
    expect(await err(c.call('CONFIG', 'SET', 'enable-debug-command', 'yes'))).to.match(/can't set immutable config$/);
    await server!.close();
    await start({ config: { 'enable-debug-command': 'local', 'protected-mode': 'no' } });
    const local = await connect();
    expect(await local.str('DEBUG', 'SLEEP', '0')).to.equal('OK');
    expect(await readFrom(port, '127.0.0.2', 'DEBUG SLEEP 0\r\nQUIT\r\n')).to.equal(`-${E_DEBUG}\r\n+OK\r\n`);
    await server!.close();
    await start({ config: { 'enable-debug-command': 'yes', 'protected-mode': 'no' } });
    expect(await readFrom(port, '127.0.0.2', 'DEBUG SLEEP 0\r\nQUIT\r\n')).to.equal('+OK\r\n+OK\r\n');
    expect(() => new (server!.config.constructor as new (o: Record<string, string>) => unknown)({ 'enable-debug-command': 'maybe' })).to.throw(/one of the following: no, yes, local/);
  });

  it('CONFIG SET dir/dbfilename only as enable-protected-configs allows', async () => {
    await start();
    const c = await connect();
    expect(await err(c.call('CONFIG', 'SET', 'dbfilename', 'x.rdb'))).to.equal("ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config");
    await server!.close();
    await start({ config: { 'enable-protected-configs': 'local', 'protected-mode': 'no' } });
    const local = await connect();
    expect(await local.str('CONFIG', 'SET', 'dbfilename', 'x.rdb')).to.equal('OK');
    expect(await readFrom(port, '127.0.0.2', 'CONFIG SET dbfilename y.rdb\r\nQUIT\r\n')).to.match(/^-ERR CONFIG SET failed \(possibly related to argument 'dbfilename'\) - can't set protected config\r\n\+OK\r\n$/);
  });
});
