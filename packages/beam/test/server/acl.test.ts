import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { hasRedisServer, RespConn, startRedis, words, type Parsed } from '../context/helpers.js';
import { startServer } from './helpers.js';
import type { BeamServer } from '../../src/server/server.js';

/**
 * ACL: the same command lines to `beam serve` and to a real redis-server 7 must get the same replies. A line runs on
 * the sequence's first connection, or on its second with a `B:` prefix (another client, e.g. an admin changing a
 * user while the first one is in MULTI).
 */
const SEQUENCES: string[][] = [
  // ---- users and rules
  ['ACL SETUSER bob on >123 +@scripting +set ~x*', 'ACL GETUSER bob', 'ACL LIST', 'ACL USERS',
    'ACL SETUSER alice on nopass %R~r* %W~w* &ch* +@read -get +client|list "(+get ~g*)"', 'ACL GETUSER alice',
    'ACL SETUSER carol +@all -@dangerous -flushall +select|0', 'ACL LIST', 'ACL SETUSER carol reset', 'ACL GETUSER carol',
    'ACL SETUSER bad +nosuch', 'ACL SETUSER bad +@nosuch', 'ACL SETUSER bad ~* ~x', 'ACL SETUSER bad &* &x', 'ACL SETUSER bad #abc',
    'ACL SETUSER bob <nope', 'ACL SETUSER bad "(+get"', 'ACL SETUSER bad +client|list|x', 'ACL SETUSER bad +select|', 'ACL SETUSER bad foo',
    'ACL SETUSER "a b"', 'ACL USERS', 'ACL GETUSER nosuch', 'ACL DELUSER bob nosuch', 'ACL DELUSER default', 'ACL USERS'],
  ['ACL SETUSER alice on nopass %R~r* %W~w* &ch* +@read -get +client|list "(+get ~g*)"',
    'ACL DRYRUN alice get r1', 'ACL DRYRUN alice get g1', 'ACL DRYRUN alice set w1 x', 'ACL DRYRUN alice client list',
    'ACL DRYRUN alice publish ch1 x', 'ACL DRYRUN alice exists r1', 'ACL DRYRUN nosuch get x', 'ACL DRYRUN alice nosuchcmd', 'ACL DRYRUN alice get',
    'ACL SETUSER alice +publish +subscribe', 'ACL DRYRUN alice publish ch1 x', 'ACL DRYRUN alice publish other x', 'ACL DRYRUN alice subscribe ch1 ch2 x',
    'ACL CAT', 'ACL CAT nosuch', 'ACL GENPASS 0', 'ACL GENPASS x', 'ACL LOG RESET', 'ACL WHOAMI', 'ACL LOAD', 'ACL SAVE',
    'CONFIG SET requirepass secret', 'ACL GETUSER default', 'CONFIG SET requirepass ""', 'ACL GETUSER default'],
  // ---- enforcement
  ['ACL SETUSER u on >pw ~k* %R~ro* &news.* +@all -debug -flushall', 'AUTH u wrong', 'AUTH u pw', 'ACL WHOAMI', 'SET k1 v', 'SET other v', 'GET ro1',
    'SET ro1 v', 'FLUSHALL', 'PUBLISH news.x m', 'PUBLISH other m', 'MULTI', 'SET other v', 'SET k2 v', 'EXEC',
    'EVAL "return redis.call(\'set\',\'other\',\'v\')" 0', 'EVAL "return redis.pcall(\'flushall\')" 0',
    'EVAL "return redis.acl_check_cmd(\'set\',\'k2\',\'v\')" 0', 'EVAL "return redis.acl_check_cmd(\'set\',\'zz\',\'v\')" 0',
    'EVAL "return redis.acl_check_cmd(\'nosuch\')" 0', 'ACL SETUSER u -@all +acl +auth +multi +exec', 'SET k1 v', 'ACL DRYRUN u set k1 v',
    'AUTH default whatever', 'ACL WHOAMI'],
  ['ACL SETUSER v on >pw ~* +@all', 'AUTH v pw', 'MULTI', 'SET k v', 'B:ACL SETUSER v -set', 'EXEC', 'GET k',
    'B:ACL DELUSER v', 'B:ACL USERS'],
];

/**
 * Redis emits the single-command rules after the categories in its command dict's order, which is seeded per
 * process: runs of `+cmd` / `-cmd` words are compared sorted.
 */
function normalize(p: Parsed): Parsed {
  if (Array.isArray(p)) return p.map(normalize);
  if (typeof p !== 'string' || !p.includes('@all')) return p;
  const out: string[] = [];
  let run: string[] = [];
  for (const w of p.split(' ')) {
    if (/^[+-][a-z]/.test(w)) {
      run.push(w);
      continue;
    }
    out.push(...run.sort(), w);
    run = [];
  }
  return [...out, ...run.sort()].join(' ');
}

const hash = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('server: ACL, differential vs real redis-server', function () {
  this.timeout(60000);
  let redis: { proc: ChildProcess; port: number } | undefined;
  let server: BeamServer | undefined;
  let port = 0;
  const open: RespConn[] = [];

  before(async function () {
    if (!hasRedisServer()) {
      this.skip(); // redis-server is not installed: nothing to compare against
      return;
    }
    redis = await startRedis();
    ({ server, port } = await startServer());
  });

  after(async () => {
    for (const c of open.splice(0)) c.close();
    redis?.proc.kill();
    await server?.close();
  });

  async function pair(p: number): Promise<[RespConn, RespConn]> {
    const a = await RespConn.connect(p);
    const b = await RespConn.connect(p);
    open.push(a, b);
    return [a, b];
  }

  SEQUENCES.forEach((seq, n) => {
    it(`sequence ${n}: ${seq[0]!.slice(0, 60)} ...`, async () => {
      const [theirA, theirB] = await pair(redis!.port);
      const [ourA, ourB] = await pair(port);
      for (const c of [theirB, ourB]) {
        await c.send(words('ACL DELUSER bob alice carol u v bad'));
        await c.send(words('FLUSHALL'));
      }
      for (const raw of seq) {
        const second = raw.startsWith('B:');
        const argv = words(second ? raw.slice(2) : raw);
        const a: Parsed = await (second ? theirB : theirA).send(argv);
        const b: Parsed = await (second ? ourB : ourA).send(argv);
        expect(normalize(b), raw).to.deep.equal(normalize(a));
      }
    });
  });
});

describe('server: ACL log, users from options, and the default user', function () {
  this.timeout(30000);
  let server: BeamServer | undefined;
  const open: RespConn[] = [];
  afterEach(async () => {
    for (const c of open.splice(0)) c.close();
    await server?.close();
    server = undefined;
  });

  it('logs denied commands, keys, channels and failed AUTHs with their context, grouping repeats', async () => {
    let port: number;
    ({ server, port } = await startServer());
    const admin = await RespConn.connect(port);
    const c = await RespConn.connect(port);
    open.push(admin, c);
    await admin.send(words('ACL SETUSER w on >pw ~a* &c* +get +set +publish +multi +discard +eval'));
    expect(await c.send(words('AUTH w nope'))).to.deep.equal({ err: 'WRONGPASS invalid username-password pair or user is disabled.' });
    await c.send(words('AUTH w pw'));
    await c.send(words('GET b'));
    await c.send(words('GET b'));
    await c.send(words('PUBLISH d m'));
    await c.send(words('MULTI'));
    expect(await c.send(words('DEL a'))).to.deep.equal({ err: "NOPERM this user has no permissions to run the 'del' command" });
    await c.send(words('DISCARD'));
    await c.send(words('EVAL "return redis.pcall(\'set\',\'zz\',\'1\')" 0'));
    const log = (await admin.send(words('ACL LOG'))) as Parsed[][];
    const fields = log.map((e) => {
      const m = new Map<string, Parsed>();
      for (let i = 0; i < e.length; i += 2) m.set(e[i] as string, e[i + 1]!);
      return [m.get('count'), m.get('reason'), m.get('context'), m.get('object'), m.get('username')];
    });
    expect(fields).to.deep.equal([
      [1, 'key', 'lua', 'zz', 'w'],
      [1, 'command', 'multi', 'del', 'w'],
      [1, 'channel', 'toplevel', 'd', 'w'],
      [2, 'key', 'toplevel', 'b', 'w'],
      [1, 'auth', 'toplevel', 'AUTH', 'w'],
    ]);
    expect(String((log[0] as Parsed[])[13])).to.match(/ cmd=eval user=w /);
    expect(await admin.send(words('ACL LOG 1'))).to.have.length(1);
    expect(await admin.send(words('ACL LOG RESET'))).to.deep.equal({ simple: 'OK' });
    expect(await admin.send(words('ACL LOG'))).to.deep.equal([]);
  });

  it('makes --user and requirepass ACL users: one user store for AUTH, ACL LIST and DELUSER', async () => {
    let port: number;
    ({ server, port } = await startServer({ users: { alice: 'wonder' }, requirepass: 'pw', authThrottle: false }));
    const c = await RespConn.connect(port);
    open.push(c);
    expect(await c.send(words('AUTH alice wonder'))).to.deep.equal({ simple: 'OK' });
    expect(await c.send(words('ACL LIST'))).to.deep.equal([
      `user alice on #${hash('wonder')} ~* &* +@all`,
      `user default on #${hash('pw')} ~* &* +@all`,
    ]);
    expect(await c.send(words('CONFIG SET requirepass other'))).to.deep.equal({ simple: 'OK' });
    expect((await c.send(words('ACL GETUSER default')) as Parsed[])[3]).to.deep.equal([hash('other')]);
    const d = await RespConn.connect(port);
    open.push(d);
    expect(await d.send(words('AUTH pw'))).to.deep.equal({ err: 'WRONGPASS invalid username-password pair or user is disabled.' });
    expect(await d.send(words('AUTH other'))).to.deep.equal({ simple: 'OK' });
    // Deleting a user closes its connections (ACLFreeUserAndKillClients).
    expect(await d.send(words('ACL DELUSER alice'))).to.equal(1);
    expect(await d.send(words('ACL USERS'))).to.deep.equal(['default']);
  });
});
