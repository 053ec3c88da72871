import { expect } from 'chai';
import type { PropagateEvent } from '../../src/context/api.js';
import type { BeamServer } from '../../src/server/server.js';
import { RespClient, waitFor } from '../sync/helpers.js';
import { rawExchange, startServer } from './helpers.js';

/** Regressions for differences Redis' own TCL suite found (tools/redis-suite.sh); each checks Redis 7.0's behaviour. */
describe('server: behaviours from the Redis test suite', function () {
  this.timeout(10000);
  let server: BeamServer;
  let port: number;
  const clients: RespClient[] = [];

  const connect = async (): Promise<RespClient> => {
    const c = await RespClient.connect(port);
    clients.push(c);
    return c;
  };
  const raw = async (text: string, expectBytes: number): Promise<string> =>
    (await rawExchange(port, Buffer.from(text), (d) => d.length >= expectBytes, 50)).data.toString('latin1');
  const err = async (p: Promise<unknown>): Promise<string> => {
    try {
      await p;
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('expected an error reply');
  };

  beforeEach(async () => {
    ({ server, port } = await startServer());
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server.close();
  });

  it('CLIENT REPLY OFF drops replies until ON; SKIP drops the next one only', async () => {
    expect(await raw('CLIENT REPLY OFF\r\nPING a\r\nPING b\r\nCLIENT REPLY ON\r\nPING c\r\n', 12)).to.equal('+OK\r\n$1\r\nc\r\n');
    expect(await raw('CLIENT REPLY SKIP\r\nPING a\r\nPING b\r\n', 7)).to.equal('$1\r\nb\r\n');
    expect(await raw('CLIENT REPLY SKIP\r\nCLIENT REPLY ON\r\nPING\r\n', 12)).to.equal('+OK\r\n+PONG\r\n');
    expect(await raw('CLIENT REPLY MAYBE\r\n', 5)).to.match(/^-ERR syntax error/);
  });

  it('CLIENT REPLY OFF still delivers subscribe confirmations and messages', async () => {
    const pub = await connect();
    const got = rawExchange(port, Buffer.from('CLIENT REPLY OFF\r\nSUBSCRIBE ch\r\nPING\r\n'), (d) => d.includes('hello'), 20);
    await waitFor('subscribed', async () => ((await pub.call('PUBSUB', 'NUMSUB', 'ch')) as unknown[])[1] === 1);
    expect(await pub.call('PUBLISH', 'ch', 'hello')).to.equal(1);
    const text = (await got).data.toString('latin1');
    expect(text).to.equal('*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n');
  });

  it('CLIENT UNBLOCK ends a blocked pop as a timeout or with UNBLOCKED; INFO counts blocked clients', async () => {
    const a = await connect();
    const b = await connect();
    const id = Number(await a.call('CLIENT', 'ID'));
    const blocked = a.call('BLPOP', 'nokey', 0);
    await waitFor('blocked', async () => (await b.str('INFO', 'clients')).includes('blocked_clients:1\r\n'));
    expect(await b.call('CLIENT', 'UNBLOCK', id)).to.equal(1);
    expect(await blocked).to.equal(null);
    expect(await b.str('INFO', 'clients')).to.include('blocked_clients:0\r\n');
    expect(await b.call('CLIENT', 'UNBLOCK', id)).to.equal(0);
    const again = a.call('BLMOVE', 'nokey', 'dst', 'LEFT', 'RIGHT', 0);
    await waitFor('blocked', async () => (await b.str('INFO', 'clients')).includes('blocked_clients:1\r\n'));
    expect(await b.call('CLIENT', 'UNBLOCK', id, 'ERROR')).to.equal(1);
    expect(await err(again)).to.equal('UNBLOCKED client unblocked via CLIENT UNBLOCK');
    expect(await err(b.call('CLIENT', 'UNBLOCK', id, 'LATER'))).to.match(/^ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR/);
  });

  it('CLIENT KILL refuses an unknown type or user', async () => {
    const c = await connect();
    expect(await err(c.call('CLIENT', 'KILL', 'TYPE', 'wrong_type'))).to.match(/^ERR Unknown client type/);
    expect(await err(c.call('CLIENT', 'KILL', 'USER', 'wrong_user'))).to.match(/^ERR No such user/);
  });

  it('refuses no-multi commands (SHUTDOWN) inside MULTI and aborts the transaction', async () => {
    const c = await connect();
    await c.call('MULTI');
    expect(await c.str('SET', 'k', 'v')).to.equal('QUEUED');
    expect(await err(c.call('SHUTDOWN'))).to.equal('ERR Command not allowed inside a transaction');
    expect(await err(c.call('EXEC'))).to.match(/^EXECABORT/);
    expect(await c.call('EXISTS', 'k')).to.equal(0);
  });

  it('FLUSHALL, FLUSHDB and SWAPDB touch only watched keys that existed', async () => {
    const c = await connect();
    await c.call('SELECT', 1);
    const tx = async (): Promise<unknown> => {
      await c.call('MULTI');
      await c.call('PING');
      return c.call('EXEC');
    };
    await c.call('WATCH', 'x');
    await c.call('FLUSHALL');
    expect(await tx()).to.deep.equal([Buffer.from('PONG')]);
    await c.call('WATCH', 'x');
    await c.call('FLUSHDB');
    expect(await tx()).to.deep.equal([Buffer.from('PONG')]);
    await c.call('SET', 'x', '1');
    await c.call('WATCH', 'x');
    await c.call('FLUSHDB');
    expect(await tx()).to.equal(null);
    // x missing in db 1 but present in db 2: SWAPDB brings it in, so it changed.
    await c.call('SELECT', 2);
    await c.call('SET', 'x', '2');
    await c.call('SELECT', 1);
    await c.call('WATCH', 'x');
    await c.call('SWAPDB', 1, 2);
    expect(await tx()).to.equal(null);
    await c.call('WATCH', 'nothere');
    await c.call('SWAPDB', 1, 2);
    expect(await tx()).to.deep.equal([Buffer.from('PONG')]);
  });

  it('propagates a transaction of several writes wrapped in MULTI/EXEC, and PUBLISH', async () => {
    const seen: string[] = [];
    server.context!.on('propagate', (e: PropagateEvent) => seen.push(`${e.db}:${e.argv.map((b) => b.toString()).join(' ')}`));
    const c = await connect();
    await c.call('MULTI');
    await c.call('SET', 'a', '1');
    await c.call('GET', 'a');
    await c.call('SELECT', 3);
    await c.call('SET', 'b', '2');
    await c.call('EXEC');
    expect(seen.splice(0)).to.deep.equal(['0:MULTI', '0:SET a 1', '3:SET b 2', '3:EXEC']);
    await c.call('MULTI');
    await c.call('SET', 'c', '3');
    await c.call('GET', 'c');
    await c.call('EXEC');
    await c.call('MULTI');
    await c.call('GET', 'c');
    await c.call('EXEC');
    expect(seen.splice(0)).to.deep.equal(['3:SET c 3']);
    expect(await c.call('PUBLISH', 'ch', 'm')).to.equal(0);
    expect(seen.splice(0)).to.deep.equal(['3:PUBLISH ch m']);
  });

  it('INFO commandstats and errorstats count calls, rejected and failed calls, and CONFIG RESETSTAT clears them', async () => {
    const c = await connect();
    await c.call('CONFIG', 'RESETSTAT');
    await c.call('SET', 'k', 'v');
    await err(c.call('LPUSH', 'k', 'x'));
    await err(c.call('GET'));
    await err(c.call('NOSUCHCMD'));
    const cmd = await c.str('INFO', 'commandstats');
    expect(cmd).to.match(/\r\ncmdstat_set:calls=1,usec=\d+,usec_per_call=[\d.]+,rejected_calls=0,failed_calls=0\r\n/);
    expect(cmd).to.include('cmdstat_lpush:calls=1,').and.include('rejected_calls=0,failed_calls=1');
    expect(cmd).to.match(/cmdstat_get:calls=0,.*rejected_calls=1,failed_calls=0/);
    const errs = await c.str('INFO', 'errorstats');
    expect(errs).to.include('errorstat_ERR:count=2\r\n').and.include('errorstat_WRONGTYPE:count=1\r\n');
    expect(await c.str('INFO', 'stats')).to.include('total_error_replies:3\r\n');
    expect(await c.str('INFO')).to.not.include('rejected_calls');
    await c.call('CONFIG', 'RESETSTAT');
    expect(await c.str('INFO', 'errorstats')).to.not.include('errorstat_');
  });

  it('COMMAND LIST lists subcommands and filters; COMMAND GETKEYS finds key arguments', async () => {
    const c = await connect();
    const list = ((await c.call('COMMAND', 'LIST')) as Buffer[]).map(String);
    expect(list).to.include('set').and.include('client|list');
    expect(((await c.call('COMMAND', 'LIST', 'FILTERBY', 'PATTERN', 'config|*re*')) as Buffer[]).map(String))
      .to.include('config|resetstat').and.not.include('config|get');
    expect(((await c.call('COMMAND', 'LIST', 'FILTERBY', 'ACLCAT', 'list')) as Buffer[]).map(String)).to.include('blpop').and.not.include('set');
    expect(await c.call('COMMAND', 'LIST', 'FILTERBY', 'MODULE', 'nope')).to.deep.equal([]);
    expect(await err(c.call('COMMAND', 'LIST', 'FILTERBY', 'bad_arg'))).to.match(/^ERR syntax error/);
    expect(((await c.call('COMMAND', 'GETKEYS', 'MSET', 'a', '1', 'b', '2')) as Buffer[]).map(String)).to.deep.equal(['a', 'b']);
    expect(((await c.call('COMMAND', 'GETKEYS', 'BLMPOP', '0', '2', 'x', 'y', 'LEFT')) as Buffer[]).map(String)).to.deep.equal(['x', 'y']);
    expect(await err(c.call('COMMAND', 'GETKEYS', 'PING'))).to.equal('ERR The command has no key arguments');
    expect(await err(c.call('COMMAND', 'GETKEYS', 'GET'))).to.equal('ERR Invalid number of arguments specified for command');
    expect(await err(c.call('COMMAND', 'GETKEYS', 'NOPE', 'k'))).to.equal('ERR Invalid command specified');
  });

  it('CONFIG SET refuses duplicates; CONFIG GET hides hidden parameters from patterns', async () => {
    const c = await connect();
    expect(await err(c.call('CONFIG', 'SET', 'maxmemory', '1', 'maxmemory', '2'))).to.match(/duplicate parameter/);
    expect(await err(c.call('CONFIG', 'SET', 'maxmemory', '5', 'maxmemory-clients', '200%'))).to.match(/percentage argument must be less or equal to 100/);
    expect((await c.call('CONFIG', 'GET', 'maxmemory') as Buffer[]).map(String)).to.deep.equal(['maxmemory', '0']);
    const everything = ((await c.call('CONFIG', 'GET', '*')) as Buffer[]).map(String);
    expect(everything).to.not.include('key-load-delay');
    expect(((await c.call('CONFIG', 'GET', 'key-load-delay')) as Buffer[]).map(String)).to.deep.equal(['key-load-delay', '0']);
    // Setting every parameter to the value CONFIG GET shows works (Redis' CONFIG sanity); port only to that value.
    const port = ((await c.call('CONFIG', 'GET', 'port')) as Buffer[]).map(String)[1]!;
    expect(await c.str('CONFIG', 'SET', 'port', port)).to.equal('OK');
    expect(await err(c.call('CONFIG', 'SET', 'port', String(Number(port) + 1)))).to.match(/immutable/);
  });

  it('knows the CONFIG parameters the suite sets', async () => {
    const c = await connect();
    for (const [k, v] of [['list-compress-depth', '1'], ['repl-ping-replica-period', '3600'], ['min-replicas-to-write', '0']]) {
      expect(await c.str('CONFIG', 'SET', k!, v!)).to.equal('OK');
      expect((await c.call('CONFIG', 'GET', k!) as Buffer[]).map(String)).to.deep.equal([k, v]);
    }
  });

  it('accepts every Redis 7.0 parameter (encoding thresholds included) and keeps aliases in step', async () => {
    const c = await connect();
    const names = ['zset-max-ziplist-value', 'zset-max-listpack-entries', 'stream-node-max-bytes', 'activedefrag', 'hll-sparse-max-bytes',
      'tracking-table-max-keys', 'lazyfree-lazy-user-del', 'latency-tracking', 'cluster-node-timeout'];
    for (const k of names) expect((await c.call('CONFIG', 'GET', k) as Buffer[]).length, k).to.equal(2);
    expect(await c.str('CONFIG', 'SET', 'zset-max-ziplist-value', '32')).to.equal('OK');
    expect((await c.call('CONFIG', 'GET', 'zset-max-listpack-value') as Buffer[]).map(String)).to.deep.equal(['zset-max-listpack-value', '32']);
    expect(await err(c.call('CONFIG', 'SET', 'activedefrag', 'maybe'))).to.match(/yes' or 'no/);
    expect(await err(c.call('CONFIG', 'SET', 'hll-sparse-max-bytes', 'x'))).to.match(/integer/);
  });

  it("sends the 'new' keyspace event when a key is created", async () => {
    const c = await connect();
    await c.call('CONFIG', 'SET', 'notify-keyspace-events', 'En');
    const got = rawExchange(port, Buffer.from('SUBSCRIBE __keyevent@0__:new\r\n'), (d) => d.includes('fresh'), 20, 5000);
    await waitFor('subscribed', async () => ((await c.call('PUBSUB', 'NUMSUB', '__keyevent@0__:new')) as unknown[])[1] === 1, 5000);
    await c.call('SET', 'fresh', '1');
    await c.call('SET', 'fresh', '2');
    const text = (await got).data.toString('latin1');
    expect(text).to.match(/\$7\r\nmessage\r\n\$18\r\n__keyevent@0__:new\r\n\$5\r\nfresh\r\n$/);
  });

  it('CLIENT LIST shows the fd, the query buffer of the running command and tot-mem; INFO peak memory and ops/sec move', async () => {
    const c = await connect();
    const line = await c.str('CLIENT', 'INFO');
    expect(line).to.match(/ fd=\d+ /).and.match(/ qbuf=26 /).and.match(/ tot-mem=[1-9]\d* /);
    for (let i = 0; i < 500; i++) void c.call('PING');
    await c.call('PING');
    let ops = 0;
    await waitFor('instantaneous_ops_per_sec > 0', async () => {
      ops = Number(/instantaneous_ops_per_sec:(\d+)/.exec(await c.str('INFO', 'stats'))?.[1]);
      return ops > 0;
    }, 5000);
    const mem = await c.str('INFO', 'memory');
    const used = Number(/used_memory:(\d+)/.exec(mem)?.[1]);
    const peak = Number(/used_memory_peak:(\d+)/.exec(mem)?.[1]);
    expect(peak).to.be.at.least(used);
  });

  it('OBJECT IDLETIME counts from the last access; TTL, TYPE and EXISTS do not touch the key', async () => {
    const c = await connect();
    await c.call('SET', 'k', 'v');
    const e = server.context!.dbs[0]!.data.get('k')!;
    e.a -= 5000;
    await c.call('TTL', 'k');
    await c.call('TYPE', 'k');
    await c.call('EXISTS', 'k');
    expect(await c.call('OBJECT', 'IDLETIME', 'k')).to.be.within(5, 6);
    await c.call('GET', 'k');
    expect(await c.call('OBJECT', 'IDLETIME', 'k')).to.equal(0);
  });

  it('COMMAND GETKEYSANDFLAGS reports each key with its Redis key-spec flags', async () => {
    const c = await connect();
    const flat = (r: unknown): unknown => (Buffer.isBuffer(r) ? r.toString() : Array.isArray(r) ? r.map(flat) : r);
    expect(flat(await c.call('COMMAND', 'GETKEYSANDFLAGS', 'set', 'k1', 'v1'))).to.deep.equal([['k1', ['OW', 'update']]]);
    expect(flat(await c.call('COMMAND', 'GETKEYSANDFLAGS', 'LMOVE', 'k1', 'k2', 'left', 'right'))).to.deep.equal(
      [['k1', ['RW', 'access', 'delete']], ['k2', ['RW', 'insert']]]);
    expect(flat(await c.call('COMMAND', 'GETKEYSANDFLAGS', 'zunionstore', 'd', '2', 'a', 'b'))).to.deep.equal(
      [['d', ['OW', 'update']], ['a', ['RO', 'access']], ['b', ['RO', 'access']]]);
    expect(await err(c.call('COMMAND', 'GETKEYSANDFLAGS', 'ping'))).to.match(/no key arguments/);
    // Redis 7.0.15's own introspection-2 unit: SORT's STORE key, and keys of subcommands (argv[2]).
    expect(flat(await c.call('COMMAND', 'GETKEYSANDFLAGS', 'sort', 'k1', 'store', 'k2'))).to.deep.equal(
      [['k1', ['RO', 'access']], ['k2', ['OW', 'update']]]);
    expect(flat(await c.call('COMMAND', 'GETKEYS', 'memory', 'usage', 'key'))).to.deep.equal(['key']);
    expect(flat(await c.call('COMMAND', 'GETKEYSANDFLAGS', 'xgroup', 'create', 's', 'g', '$'))).to.deep.equal([['s', ['RW', 'insert']]]);
    expect(flat(await c.call('COMMAND', 'GETKEYSANDFLAGS', 'xinfo', 'stream', 's'))).to.deep.equal([['s', ['RO', 'access']]]);
    expect(flat(await c.call('COMMAND', 'GETKEYS', 'eval', 'return 1', '0'))).to.deep.equal([]);
    expect(flat(await c.call('COMMAND', 'GETKEYS', 'eval', 'return 1', '1', 'key'))).to.deep.equal(['key']);
    expect(await err(c.call('COMMAND', 'GETKEYS', 'lmpop', '0', 'a', 'left'))).to.match(/Invalid arguments specified for command/);
  });
});
