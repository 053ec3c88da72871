import { expect } from 'chai';
import { syncMirror, type BeamMirror } from '../../src/client/sync-client.js';
import type { BeamServer } from '../../src/server/server.js';
import { startServer } from '../server/helpers.js';
import { freePort, RespClient, startRedis, waitFor, which, type RedisProcess } from './helpers.js';

async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    const v = await p;
    return `no error: ${String(v)}`;
  } catch (e) {
    return (e as Error).message;
  }
}

const str = (v: unknown): string => (Buffer.isBuffer(v) ? v.toString('latin1') : String(v));

function infoField(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)\\r?$`, 'm').exec(info)?.[1]?.trim();
}

describe('sync: REPLICAOF / SLAVEOF in beam serve', function () {
  this.timeout(60000);
  let server: BeamServer;
  let port = 0;
  const clients: RespClient[] = [];
  const connect = async (): Promise<RespClient> => {
    const c = await RespClient.connect(port);
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    ({ server, port } = await startServer({ replication: { pingPeriodMs: 500 } }));
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server.close();
  });

  describe('against a real redis-server master', () => {
    let master: RedisProcess | null = null;
    before(async function () {
      if (!(await which('redis-server')) || !(await which('redis-cli'))) {
        console.warn('redis-server/redis-cli not installed: skipping');
        this.skip();
      }
    });
    afterEach(async () => {
      await master?.stop();
      master = null;
    });

    it('syncs the dataset and the stream, refuses writes with READONLY, and REPLICAOF NO ONE restores writes', async () => {
      master = await startRedis();
      const m = await RespClient.connect(master.port);
      clients.push(m);
      await m.call('SET', 'greeting', 'hello');
      await m.call('RPUSH', 'list', 'a', 'b', 'c');
      await m.call('HSET', 'hash', 'f1', 'v1', 'f2', 'v2');
      await m.call('ZADD', 'zset', 1, 'one', 2, 'two');
      await m.call('SET', 'ttl', 'x', 'EX', 1000);
      const b = await connect();
      await b.call('SET', 'local-only', 'gone after the full sync');
      expect(str(await b.call('REPLICAOF', '127.0.0.1', master.port))).to.equal('OK');
      await waitFor('master_link_status:up', async () => infoField(str(await b.call('INFO', 'replication')), 'master_link_status') === 'up');
      expect(str(await b.call('GET', 'greeting'))).to.equal('hello');
      expect((await b.call('LRANGE', 'list', 0, -1) as Buffer[]).map(str)).to.deep.equal(['a', 'b', 'c']);
      expect(str(await b.call('HGET', 'hash', 'f2'))).to.equal('v2');
      expect(str(await b.call('ZSCORE', 'zset', 'two'))).to.equal('2');
      expect(Number(await b.call('TTL', 'ttl'))).to.be.within(990, 1000);
      expect(await b.call('EXISTS', 'local-only')).to.equal(0);
      // The command stream after the snapshot.
      await m.call('INCR', 'counter');
      await m.call('SELECT', 3);
      await m.call('SET', 'in-db3', 'yes');
      await waitFor('the streamed writes', async () => str(await b.call('GET', 'counter')) === '1');
      await b.call('SELECT', 3);
      await waitFor('the write in db 3', async () => str(await b.call('GET', 'in-db3')) === 'yes');
      await b.call('SELECT', 0);

      expect(await errorOf(b.call('SET', 'greeting', 'mine'))).to.equal("READONLY You can't write against a read only replica.");
      expect(await errorOf(b.call('SLAVEOF', '127.0.0.1', 'nope'))).to.equal('ERR Invalid master port');
      expect(str(await b.call('REPLICAOF', '127.0.0.1', master.port))).to.equal('OK Already connected to specified master');
      const role = (await b.call('ROLE')) as unknown[];
      expect(role.slice(0, 4).map(str)).to.deep.equal(['slave', '127.0.0.1', String(master.port), 'connected']);
      expect(role[4]).to.be.a('number').that.is.greaterThan(0);
      const info = str(await b.call('INFO', 'replication'));
      expect(infoField(info, 'role')).to.equal('slave');
      expect(infoField(info, 'master_host')).to.equal('127.0.0.1');
      expect(infoField(info, 'master_port')).to.equal(String(master.port));
      expect(infoField(info, 'slave_read_only')).to.equal('1');
      // The master sees us as an online replica.
      await waitFor('the master lists the replica', async () => /slave0:.*state=online/.test(str(await m.call('INFO', 'replication'))));

      expect(str(await b.call('REPLICAOF', 'NO', 'ONE'))).to.equal('OK');
      expect(str(await b.call('SET', 'greeting', 'mine'))).to.equal('OK');
      expect(str(await b.call('GET', 'counter'))).to.equal('1');
      expect(str(((await b.call('ROLE')) as unknown[])[0])).to.equal('master');
      expect(infoField(str(await b.call('INFO', 'replication')), 'role')).to.equal('master');
      // No longer following: the master's writes stay there.
      await m.call('SELECT', 0);
      await m.call('SET', 'after', '1');
      await waitFor('the master drops the replica', async () => /connected_slaves:0/.test(str(await m.call('INFO', 'replication'))));
      expect(await b.call('EXISTS', 'after')).to.equal(0);
      expect(str(await b.call('GET', 'greeting'))).to.equal('mine');
    });
  });

  it('demotion inside MULTI runs the rest of the transaction, propagates none of it, and refuses later writes', async () => {
    const c = await connect();
    await c.call('SET', 'foo', 'bar');
    const mirror: BeamMirror = await syncMirror({ kind: 'tcp', host: '127.0.0.1', port }, { reconnect: false });
    try {
      const lost = new Promise<void>((resolve) => mirror.once('disconnect', () => resolve()));
      await c.call('SET', 'seen', '1');
      await waitFor('the first write on the attached replica', async () => mirror.get('seen') !== undefined);
      const down = await freePort();
      await c.call('MULTI');
      await c.call('SET', 'foo2', 'bar');
      await c.call('REPLICAOF', '127.0.0.1', down);
      await c.call('SET', 'foo3', 'bar');
      const replies = ((await c.call('EXEC')) as unknown[]).map(str);
      expect(replies).to.deep.equal(['OK', 'OK', 'OK']);
      await lost;
      expect(mirror.get('foo2')).to.equal(undefined);
      expect(mirror.get('foo3')).to.equal(undefined);
      expect(str(await c.call('GET', 'foo3'))).to.equal('bar');
      expect(await errorOf(c.call('SET', 'foo4', 'bar'))).to.match(/^READONLY /);
      expect(await errorOf(c.call('EVAL', '#!lua\nreturn 1', 0))).to.equal('READONLY Can not run script with write flag on readonly replica');
      expect(await errorOf(c.call('EVAL', 'return redis.call("set", "foo4", "x")', 0))).to.match(/^READONLY You can't write against a read only replica\./);
      expect(str(await c.call('EVAL', 'return redis.call("get", "foo")', 0))).to.equal('bar');
      // A write queued while a replica dirties the transaction.
      await c.call('MULTI');
      expect(await errorOf(c.call('INCR', 'n'))).to.match(/^READONLY /);
      expect(await errorOf(c.call('EXEC'))).to.equal('EXECABORT Transaction discarded because of previous errors.');
      // A replica without its master refuses SYNC.
      expect(await errorOf(c.call('SYNC'))).to.equal("NOMASTERLINK Can't SYNC while not connected with my master");
      const role = ((await c.call('ROLE')) as unknown[]).map(str);
      expect(role).to.deep.equal(['slave', '127.0.0.1', String(down), role[3], '-1']);
      expect(['connect', 'connecting']).to.include(role[3]);
      const info = str(await c.call('INFO', 'replication'));
      expect(infoField(info, 'master_link_status')).to.equal('down');
      expect(infoField(info, 'master_link_down_since_seconds')).to.match(/^\d+$/);
      expect(str(await c.call('REPLICAOF', 'no', 'one'))).to.equal('OK');
      expect(str(await c.call('SET', 'foo4', 'bar'))).to.equal('OK');
    } finally {
      await mirror.close();
    }
  });

  it('replica-serve-stale-data no: MASTERDOWN while the link is down, also for EXEC of commands queued before the demotion', async () => {
    const c = await connect();
    const admin = await connect();
    const down = await freePort();
    await c.call('CONFIG', 'SET', 'replica-serve-stale-data', 'no');
    await c.call('SET', 'xx', '1');
    const masterdown = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";

    await c.call('MULTI');
    await c.call('GET', 'xx');
    await admin.call('REPLICAOF', '127.0.0.1', down);
    expect(await errorOf(c.call('EXEC'))).to.equal(`EXECABORT Transaction discarded because of: ${masterdown}`);
    expect(await errorOf(c.call('GET', 'xx'))).to.equal(masterdown);
    expect(await errorOf(c.call('PING'))).to.equal(masterdown);
    expect(str(await c.call('INFO', 'replication'))).to.contain('role:slave');
    await admin.call('REPLICAOF', 'no', 'one');

    // MULTI itself is allowed on a stale replica; EXEC is judged when it runs.
    await admin.call('REPLICAOF', '127.0.0.1', down);
    await c.call('MULTI');
    await admin.call('REPLICAOF', 'no', 'one');
    await c.call('GET', 'xx');
    expect(((await c.call('EXEC')) as unknown[]).map(str)).to.deep.equal(['1']);
  });

  it('min-replicas-to-write: NOREPLICAS without enough online replicas, also for EXEC of queued writes', async () => {
    const c = await connect();
    const admin = await connect();
    await c.call('SET', 'xx', '1');
    await admin.call('CONFIG', 'SET', 'min-replicas-to-write', '1');
    expect(await errorOf(c.call('SET', 'xx', '2'))).to.equal('NOREPLICAS Not enough good replicas to write.');
    expect(str(await c.call('GET', 'xx'))).to.equal('1');
    // Scripts: a shebang script that may write is refused before it runs, a compat one at its first write.
    expect(await errorOf(c.call('EVAL', '#!lua\nreturn 1', 0))).to.equal('NOREPLICAS Not enough good replicas to write.');
    expect(str(await c.call('EVAL', '#!lua flags=no-writes\nreturn redis.call("get", KEYS[1])', 1, 'xx'))).to.equal('1');
    expect(await errorOf(c.call('EVAL', 'return redis.call("set", KEYS[1], "3")', 1, 'xx'))).to.match(/^NOREPLICAS Not enough good replicas to write\./);
    const mirror = await syncMirror({ kind: 'tcp', host: '127.0.0.1', port }, { reconnect: false, ackIntervalMs: 100 });
    try {
      await waitFor('an online replica', async () => /slave0:.*state=online/.test(str(await c.call('INFO', 'replication'))));
      expect(str(await c.call('SET', 'xx', '2'))).to.equal('OK');
      await c.call('MULTI');
      await c.call('INCR', 'xx');
      await admin.call('CONFIG', 'SET', 'min-replicas-to-write', '2');
      expect(await errorOf(c.call('EXEC'))).to.equal('EXECABORT Transaction discarded because of: NOREPLICAS Not enough good replicas to write.');
      expect(str(await c.call('GET', 'xx'))).to.equal('2');
      await admin.call('CONFIG', 'SET', 'min-replicas-max-lag', '0');
      expect(await c.call('INCR', 'xx')).to.equal(3);
    } finally {
      await mirror.close();
    }
  });

  it('follows another beam serve and keeps the data after REPLICAOF NO ONE', async () => {
    const { server: other, port: otherPort } = await startServer({ replication: { pingPeriodMs: 500 } });
    const o = await RespClient.connect(otherPort);
    try {
      await o.call('SET', 'k', 'v');
      await o.call('SADD', 's', 'a', 'b');
      const c = await connect();
      await c.call('SLAVEOF', '127.0.0.1', otherPort);
      await waitFor('the snapshot', async () => str(await c.call('GET', 'k')) === 'v');
      await o.call('SET', 'k', 'v2');
      await waitFor('the stream', async () => str(await c.call('GET', 'k')) === 'v2');
      expect(await c.call('SCARD', 's')).to.equal(2);
      expect(str(await c.call('SLAVEOF', 'NO', 'ONE'))).to.equal('OK');
      expect(str(await c.call('GET', 'k'))).to.equal('v2');
      expect(await c.call('SADD', 's', 'c')).to.equal(1);
    } finally {
      o.close();
      await other.close();
    }
  });
});
