import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { attachJobs, type JobEngine } from '../../src/jobs/engine.js';
import { createServer, type BeamServer } from '../../src/server/server.js';
import { replicationFor } from '../../src/server/replication.js';
import { parseRdb } from '../../src/sync/rdb-reader.js';
import { canonOf, plain, RespClient, run, startRedis, tempDir, waitFor, which, type RedisProcess } from './helpers.js';
import { canonOfContext, firstDiff, mixedWrites, readRedisFast } from './server-helpers.js';

const B = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('sync: BeamServer as the master of a real redis-server', function () {
  this.timeout(60000);
  let server: BeamServer;
  let engine: JobEngine;
  let port = 0;
  let replica: RedisProcess | null = null;
  let rc: RespClient | null = null;
  let mc: RespClient | null = null;

  before(async function () {
    if (!(await which('redis-server')) || !(await which('redis-cli'))) {
      console.warn('redis-server/redis-cli not installed: skipping');
      this.skip();
    }
    server = createServer({
      host: '127.0.0.1',
      port: 0,
      replication: { pingPeriodMs: 1000 },
      setup: (dispatcher, context) => {
        engine = attachJobs(context, { dispatcher });
      },
    });
    port = ((await server.listen()) as AddressInfo).port;
    // A dataset large enough that the RDB goes out over many event-loop turns.
    const ctx = server.context!;
    const c = ctx.createInternalClient();
    for (let i = 0; i < 20000; i++) ctx.call(c, [B('SET'), B(`pre:s:${i}`), B(`value-${i}`)]);
    for (let i = 0; i < 2000; i++) {
      ctx.call(c, [B('RPUSH'), B(`l:${i % 500}`), B(`a${i}`), B(`b${i}`)]);
      ctx.call(c, [B('HSET'), B(`h:${i % 500}`), B(`f${i % 50}`), B(`x${i}`)]);
      ctx.call(c, [B('SADD'), B(`t:${i % 500}`), B(`m${i % 100}`)]);
    }
    for (let i = 0; i < 100; i++) ctx.call(c, [B('SET'), B(`ttl:${i}`), B('v'), B('EX'), B('5000')]);
    c.db = 5;
    ctx.call(c, [B('SET'), Buffer.from([0, 0xff, 10]), Buffer.alloc(100_000, 7)]);
    mc = await RespClient.connect(port);
  });

  after(async () => {
    rc?.close();
    mc?.close();
    await replica?.stop();
    await engine?.close();
    await server?.close();
  });

  const replicaInfo = async (): Promise<string> => rc!.str('INFO', 'replication');
  const replicaOffset = async (): Promise<number> => Number(/slave_repl_offset:(\d+)/.exec(await replicaInfo())?.[1] ?? -1);
  const masterOffset = (): number => replicationFor(server.context!).feed.offset;

  async function expectSame(): Promise<void> {
    let diff: string | null = 'not compared yet';
    await waitFor('replica equal to the master', async () => {
      if ((await replicaOffset()) !== masterOffset()) return false;
      const { canon } = await readRedisFast(rc!);
      diff = firstDiff(canonOfContext(server.context!), canon);
      return diff === null;
    }, 20000).catch((e: Error) => {
      throw new Error(`${e.message}; first difference: ${diff}`);
    });
  }

  it('redis-server --replicaof reaches master_link_status:up and holds every key, with 100k mixed writes during and after the sync', async () => {
    const writes = mixedWrites(100_000, 42);
    replica = await startRedis(['--replicaof', '127.0.0.1', String(port)]);
    rc = await RespClient.connect(replica.port);
    // Half of the writes overlap the snapshot transfer, the rest follow the live stream.
    for (let i = 0; i < writes.length; i += 5000) {
      await Promise.all(writes.slice(i, i + 5000).map((w) => mc!.call(...w).catch(() => null)));
    }
    await mc!.call('SELECT', 0);
    await waitFor('master_link_status:up', async () => (await replicaInfo()).includes('master_link_status:up'), 20000);
    await expectSame();
    const info = await mc!.str('INFO', 'replication');
    expect(info).to.match(/connected_slaves:1/);
    expect(info).to.match(/slave0:ip=127\.0\.0\.1,port=\d+,state=online/);
    expect(Number(/master_repl_offset:(\d+)/.exec(info)?.[1])).to.be.greaterThan(1_000_000);
    const { ttl } = await readRedisFast(rc!);
    expect(ttl.get(`0:${B('ttl:7').toString('hex')}`)).to.be.within(4_900_000, 5_000_000);
  });

  it('follows a job: its output lists, status and wait keys reach the replica', async () => {
    const id = Number(await mc!.call('RPUSH', '/jobs', 'echo')) - 1;
    await mc!.call('RPUSH', `/jobs/${id}/args`, 'echo', 'hello', 'replica');
    await mc!.call('SET', `/jobs/${id}`, '');
    await waitFor('job status on the replica', async () => (await rc!.call('GET', `/jobs/${id}/status`))?.toString() === '0');
    const out = ((await rc!.call('LRANGE', `/jobs/${id}/out`, 0, -1)) as Buffer[]).map(String);
    expect(out.join('')).to.equal('1:hello replica\n1:2:');
    await expectSame();
  });

  it('ROLE and WAIT see the replica', async () => {
    await mc!.call('SET', 'wait:key', '1');
    const written = masterOffset();
    expect(await mc!.call('WAIT', 1, 5000)).to.equal(1);
    expect(await mc!.call('WAIT', 2, 200)).to.equal(1); // times out with the one replica there is
    const role = (await mc!.call('ROLE')) as unknown[];
    expect(String(role[0])).to.equal('master');
    expect(role[1]).to.equal(masterOffset());
    const [ip, rport, acked] = (role[2] as Buffer[][])[0]!.map(String);
    expect([ip, Number(rport)]).to.deep.equal(['127.0.0.1', replica!.port]);
    expect(Number(acked)).to.be.at.least(written);
  });

  it('the replica reconnects with PSYNC and continues from the backlog', async () => {
    // The replica drops its master link (and reconnects at once).
    expect(await rc!.call('CLIENT', 'KILL', 'TYPE', 'master')).to.equal(1);
    await mc!.call('SET', 'while-down', 'x');
    await waitFor('link up again', async () => (await replicaInfo()).includes('master_link_status:up'), 20000);
    await mc!.call('RPUSH', 'after-reconnect', 'y');
    await expectSame();
    const log = replica!.log();
    expect(log).to.match(/Successful partial resynchronization|MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization/);
  });

  it('redis-cli --replica shows the live stream', async () => {
    const child = spawn('redis-cli', ['-p', String(port), '--replica'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor('redis-cli --replica synced', async () => /sync with master/i.test(out), 10000);
      await mc!.call('SET', 'cli:seen', 'by-redis-cli');
      await mc!.call('HSET', 'cli:hash', 'f', 'v');
      await waitFor('SET in the stream', async () => out.includes('"SET","cli:seen","by-redis-cli"') && out.includes('"HSET","cli:hash","f","v"'), 10000);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('redis-cli --rdb writes a file redis-check-rdb accepts, holding the dataset', async () => {
    const dir = tempDir();
    try {
      const file = join(dir, 'dump.rdb');
      const r = await run('redis-cli', ['-p', String(port), '--rdb', file]);
      expect(r.code, r.stderr + r.stdout).to.equal(0);
      const check = await run('redis-check-rdb', [file]);
      expect(check.code, check.stdout + check.stderr).to.equal(0);
      expect(check.stdout).to.match(/RDB looks OK/);
      const entries = parseRdb(readFileSync(file)).entries;
      expect(plain(canonOf(entries))).to.deep.equal(plain(canonOfContext(server.context!)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
