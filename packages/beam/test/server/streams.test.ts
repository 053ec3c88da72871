import { expect } from 'chai';
import { Context } from '../../src/context/context.js';
import { streamFromData, type Stream } from '../../src/context/stream.js';
import type { BeamServer } from '../../src/server/server.js';
import { parseRdb } from '../../src/sync/rdb-reader.js';
import { writeRdbSync } from '../../src/sync/rdb-writer.js';
import { RespClient, startRedis, waitFor, which, type RedisProcess } from '../sync/helpers.js';
import { startServer } from './helpers.js';

const B = (s: string): Buffer => Buffer.from(s, 'latin1');
const text = (r: unknown): unknown => (Buffer.isBuffer(r) ? r.toString('latin1') : Array.isArray(r) ? r.map(text) : r);

/** XINFO STREAM FULL as a flat object, without the figures that are not Redis' data (rax nodes, seen times). */
function fullInfo(r: unknown): Record<string, unknown> {
  const a = text(r) as unknown[];
  const o: Record<string, unknown> = {};
  for (let i = 0; i < a.length; i += 2) o[a[i] as string] = a[i + 1];
  delete o['radix-tree-nodes'];
  delete o['radix-tree-keys'];
  o['groups'] = (o['groups'] as unknown[][]).map((g) => {
    const go: Record<string, unknown> = {};
    for (let i = 0; i < g.length; i += 2) go[g[i] as string] = g[i + 1];
    go['consumers'] = (go['consumers'] as unknown[][]).map((c) => [c[1], c[5], c[7]]);
    return go;
  });
  return o;
}

describe('server: streams', function () {
  this.timeout(30000);
  let server: BeamServer;
  let port: number;
  const clients: RespClient[] = [];
  const connect = async (): Promise<RespClient> => {
    const c = await RespClient.connect(port);
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    ({ server, port } = await startServer());
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server.close();
  });

  /** A stream with node boundaries, a deleted entry, two groups, pending entries and an idle consumer. */
  async function fill(c: RespClient, n = 250): Promise<void> {
    for (let i = 1; i <= n; i++) await c.call('XADD', 's', `${i}-1`, 'f', String(i), 'g', 'x');
    await c.call('XADD', 's', `${n + 1}-0`, 'other', 'field');
    await c.call('XDEL', 's', '1-1');
    await c.call('XGROUP', 'CREATE', 's', 'g', '0');
    await c.call('XREADGROUP', 'GROUP', 'g', 'alice', 'COUNT', '3', 'STREAMS', 's', '>');
    await c.call('XGROUP', 'CREATECONSUMER', 's', 'g', 'bob');
    await c.call('XGROUP', 'CREATE', 's', 'g2', '$');
  }

  it('XADD with ~ trims whole nodes (stream-node-max-entries) and propagates the exact threshold', async () => {
    const c = await connect();
    await c.call('CONFIG', 'SET', 'stream-node-max-entries', '10');
    const props: string[] = [];
    server.context!.on('propagate', (p) => props.push(p.argv.map(String).join(' ')));
    for (let i = 1; i <= 25; i++) await c.call('XADD', 's', 'MAXLEN', '~', '12', `${i}-0`, 'a', 'b');
    // Nodes hold 10 entries: the first whole node goes once 10 entries can leave while 12 stay.
    expect(await c.call('XLEN', 's')).to.equal(15);
    expect(props.at(-1)).to.equal('XADD s MAXLEN = 15 25-0 a b');
    expect(await c.call('XTRIM', 's', 'MAXLEN', '12')).to.equal(3);
    expect(text(await c.call('XRANGE', 's', '-', '+', 'COUNT', '1'))).to.deep.equal([['14-0', ['a', 'b']]]);
  });

  it('XREAD BLOCK and XREADGROUP BLOCK wake on XADD; a deleted stream ends XREADGROUP with UNBLOCKED', async () => {
    const [a, b, w] = [await connect(), await connect(), await connect()];
    await w.call('XGROUP', 'CREATE', 's', 'g', '$', 'MKSTREAM');
    const read = a.call('XREAD', 'BLOCK', '0', 'STREAMS', 's', '$');
    const group = b.call('XREADGROUP', 'GROUP', 'g', 'c1', 'BLOCK', '0', 'STREAMS', 's', '>');
    await waitFor('two blocked clients', async () => server.context!.blocking.count === 2, 5000);
    await w.call('XADD', 's', '5-0', 'k', 'v');
    expect(text(await read)).to.deep.equal([['s', [['5-0', ['k', 'v']]]]]);
    expect(text(await group)).to.deep.equal([['s', [['5-0', ['k', 'v']]]]]);
    expect(text(await w.call('XPENDING', 's', 'g'))).to.deep.equal([1, '5-0', '5-0', [['c1', '1']]]);
    const again = b.call('XREADGROUP', 'GROUP', 'g', 'c1', 'BLOCK', '0', 'STREAMS', 's', '>');
    await waitFor('blocked again', async () => server.context!.blocking.count === 1, 5000);
    await w.call('DEL', 's');
    let e = '';
    await again.catch((x: Error) => (e = x.message));
    expect(e).to.equal('UNBLOCKED the stream key no longer exists');
    const timed = await a.call('XREAD', 'BLOCK', '20', 'STREAMS', 'nokey', '0');
    expect(timed).to.equal(null);
  });

  it('BZPOPMIN blocks until ZADD and propagates ZPOPMIN', async () => {
    const [a, w] = [await connect(), await connect()];
    const props: string[] = [];
    server.context!.on('propagate', (p) => props.push(p.argv.map(String).join(' ')));
    const pop = a.call('BZPOPMIN', 'z1', 'z2', '0');
    await waitFor('blocked', async () => server.context!.blocking.count === 1, 5000);
    await w.call('ZADD', 'z2', '3', 'c', '1', 'a');
    expect(text(await pop)).to.deep.equal(['z2', 'a', '1']);
    expect(props).to.deep.equal(['ZADD z2 3 c 1 a', 'ZPOPMIN z2']);
  });

  it('snapshots streams as RDB_TYPE_STREAM_LISTPACKS_2 and reads them back exactly', async () => {
    const c = await connect();
    await fill(c);
    const rdb = writeRdbSync({ databases: () => [{ db: 0, size: 1, expires: 0, entries: () => server.context!.entries(0) }] });
    const file = parseRdb(rdb);
    const e = file.entries.find((x) => x.key.toString() === 's')!;
    expect(e.type).to.equal('stream');
    expect(e.encoding).to.equal(19);
    const ctx = new Context({ activeExpireInterval: 0 });
    try {
      const s = streamFromData((e as { value: Parameters<typeof streamFromData>[0] }).value, ctx.streamLimits);
      const orig = server.context!.dbs[0]!.data.get('s')!.v as Stream;
      expect([s.length, s.lastId, s.firstId, s.maxDeletedId, s.entriesAdded]).to.deep.equal(
        [orig.length, orig.lastId, orig.firstId, orig.maxDeletedId, orig.entriesAdded]);
      expect([...s.range(0n, (1n << 128n) - 1n)].map((x) => x.id)).to.deep.equal([...orig.range(0n, (1n << 128n) - 1n)].map((x) => x.id));
      expect(s.sortedGroups().map((g) => [String(g.name), g.lastId, g.entriesRead, g.sortedPel()])).to.deep.equal(
        orig.sortedGroups().map((g) => [String(g.name), g.lastId, g.entriesRead, g.sortedPel()]));
    } finally {
      ctx.close();
    }
  });

  describe('with a real redis-server replica', () => {
    let replica: RedisProcess | null = null;
    before(async function () {
      if (!(await which('redis-server'))) this.skip();
    });
    afterEach(async () => {
      await replica?.stop();
      replica = null;
    });

    it('redis-server loads the stream from the sync RDB and follows XADD/XREADGROUP/XACK/XDEL/XTRIM live', async () => {
      const c = await connect();
      await fill(c);
      replica = await startRedis(['--replicaof', '127.0.0.1', String(port)]);
      const rc = await RespClient.connect(replica.port);
      clients.push(rc);
      await waitFor('replica in sync', async () => /master_link_status:up/.test(await rc.str('INFO', 'replication')), 15000);
      const same = async (): Promise<boolean> => {
        const [m, r] = [fullInfo(await c.call('XINFO', 'STREAM', 's', 'FULL', 'COUNT', '0')), fullInfo(await rc.call('XINFO', 'STREAM', 's', 'FULL', 'COUNT', '0'))];
        // Redis 7.0 replicas do not receive entries-read changes made by later XCLAIMs (its own replicas neither).
        for (const o of [m, r]) for (const g of o['groups'] as Array<Record<string, unknown>>) delete g['entries-read'], delete g['lag'];
        return JSON.stringify(m) === JSON.stringify(r);
      };
      await waitFor('same stream after the RDB', same, 10000);
      await c.call('XADD', 's', '*', 'live', '1');
      await c.call('XREADGROUP', 'GROUP', 'g', 'bob', 'COUNT', '2', 'STREAMS', 's', '>');
      await c.call('XACK', 's', 'g', '2-1');
      await c.call('XDEL', 's', '10-1');
      await c.call('XTRIM', 's', 'MAXLEN', '~', '100');
      await c.call('XADD', 's2', 'MINID', '~', '0', '1-0', 'a', 'b');
      await waitFor('same stream after live writes', same, 10000);
      expect(text(await rc.call('XRANGE', 's2', '-', '+'))).to.deep.equal([['1-0', ['a', 'b']]]);
    });
  });
});
