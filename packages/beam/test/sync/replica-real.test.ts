import { expect } from 'chai';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { ReplicationFeed } from '../../src/sync/propagation.js';
import { parseRdb } from '../../src/sync/rdb-reader.js';
import { ReplicaLink } from '../../src/sync/replica-link.js';
import { captureSnapshot } from '../../src/sync/snapshot.js';
import { bytes, fixture } from './fixture.js';
import {
  MiniKeyspace,
  RequestSplitter,
  RespClient,
  canonOf,
  canonOfKeyspace,
  plain,
  readRedis,
  run,
  startRedis,
  tempDir,
  waitFor,
  which,
  type RedisProcess,
} from './helpers.js';

/** A tiny master: our ReplicaLink on each connection, PING answered, everything else refused. */
interface Master {
  server: Server;
  port: number;
  links: ReplicaLink[];
  sockets: Set<Socket>;
  /** Resolves when a link starts sending an RDB (synchronously after the PSYNC that started it). */
  transferStarted: Promise<ReplicaLink>;
}

function startMaster(ks: MiniKeyspace, feed: ReplicationFeed): Promise<Master> {
  const links: ReplicaLink[] = [];
  let started: (l: ReplicaLink) => void = () => {};
  const transferStarted = new Promise<ReplicaLink>((r) => (started = r));
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.setNoDelay(true);
    const link = new ReplicaLink({ sink: sock, feed, takeSnapshot: () => captureSnapshot(ks), rdb: { yieldEveryKeys: 2 } });
    links.push(link);
    const splitter = new RequestSplitter();
    sock.on('data', (d: Buffer) => {
      for (const argv of splitter.push(d)) {
        if (link.handleCommand(argv)) {
          if (link.state === 'transfer') started(link);
          continue;
        }
        const name = argv[0]!.toString().toLowerCase();
        sock.write(name === 'ping' ? '+PONG\r\n' : `-ERR unknown command '${name}'\r\n`);
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      sockets.delete(sock);
      link.close();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolve({ server, port: typeof addr === 'object' && addr ? addr.port : 0, links, sockets, transferStarted });
    }),
  );
}

describe('sync with a real redis-server replica', function () {
  this.timeout(40000);
  let replica: RedisProcess | null = null;
  let client: RespClient | null = null;
  let master: Master | null = null;
  const feed = new ReplicationFeed({ pingPeriodMs: 1000 });
  const ks = new MiniKeyspace();
  const write = (db: number, argv: Array<string | Buffer>): void => feed.propagate(ks.apply(db, argv));

  before(async function () {
    if (!(await which('redis-server')) || !(await which('redis-cli'))) {
      console.warn('redis-server/redis-cli not installed: skipping real-replica tests');
      this.skip();
    }
    for (const [db, entries] of fixture()) ks.load(db, entries);
    master = await startMaster(ks, feed);
  });

  after(async () => {
    client?.close();
    await replica?.stop();
    for (const s of master?.sockets ?? []) s.destroy();
    await new Promise((r) => (master ? master.server.close(r) : r(undefined)));
    feed.close();
  });

  const info = async (): Promise<string> => client!.str('INFO', 'replication');

  it('full sync: the replica reaches master_link_status:up with every key, also with writes during the transfer', async () => {
    // Keep writing (in place, to keys both written and not yet written) while the RDB streams out.
    const writesDuringTransfer = master!.transferStarted.then(async (link) => {
      let n = 0;
      for (; link.state === 'transfer' && n < 1000; n++) {
        write(0, ['RPUSH', 'list:big', `during-${n}`]);
        write(n % 16, ['HSET', `h:during`, `f${n}`, `v${n}`]);
        write(0, ['SADD', 'set:ints', String(1000 + n)]);
        await new Promise((r) => setImmediate(r));
      }
      return n;
    });
    replica = await startRedis(['--replicaof', '127.0.0.1', String(master!.port), '--repl-diskless-load', 'disabled']);
    client = await RespClient.connect(replica.port);
    const during = await writesDuringTransfer;
    expect(during).to.be.greaterThan(0);
    await waitFor('master_link_status:up', async () => (await info()).includes('master_link_status:up'), 20000);
    expect(master!.links.at(-1)?.syncKind).to.equal('full');
    await waitFor('replica equal to the master keyspace', async () => {
      const { canon } = await readRedis(client!);
      return JSON.stringify(plain(canon)) === JSON.stringify(plain(canonOfKeyspace(ks)));
    });
    const { canon, ttl } = await readRedis(client!);
    expect(plain(canon)).to.deep.equal(plain(canonOfKeyspace(ks)));
    expect(ttl.get(`0:${Buffer.from('ttl:string').toString('hex')}`)).to.be.greaterThan(3_500_000);
  });

  it('follows later writes in every db, including binary values and expiries', async () => {
    write(3, ['SET', Buffer.from([0, 1, 0xff]), bytes(80_000, 4)]);
    write(0, ['DEL', 'plain']);
    write(15, ['RPUSH', 'list:new', 'a', 'b', 'c']);
    write(7, ['SADD', 'set:new', 'x', 'y']);
    write(0, ['PEXPIREAT', 'set:strs', String(Date.now() + 600_000)]);
    await waitFor('replica caught up', async () => {
      const { canon } = await readRedis(client!);
      return JSON.stringify(plain(canon)) === JSON.stringify(plain(canonOfKeyspace(ks)));
    });
    await client!.call('SELECT', 0);
    const pttl = Number(await client!.call('PTTL', 'set:strs'));
    expect(pttl).to.be.within(590_000, 600_000);
    const linkInfo = await info();
    expect(linkInfo).to.match(/master_link_status:up/);
    const link = master!.links.find((l) => l.state === 'online')!;
    feed.requestAcks(); // REPLCONF GETACK *: the replica answers at once instead of at its next 1 s tick
    await waitFor('REPLCONF ACK at the current offset', async () => link.ackOffset === feed.offset, 5000);
    expect(link.listeningPort).to.equal(replica!.port);
    expect(link.capabilities.has('eof') && link.capabilities.has('psync2')).to.equal(true);
  });

  it('reconnects with PSYNC and continues from the backlog after the link drops', async () => {
    for (const s of master!.sockets) s.destroy();
    write(2, ['SET', 'while-down', '1']);
    write(2, ['RPUSH', 'list:new2', 'z']);
    await waitFor('master_link_status:up again', async () => {
      const i = await info();
      return i.includes('master_link_status:up') && master!.links.at(-1)?.state === 'online';
    }, 20000);
    expect(master!.links.at(-1)?.syncKind).to.equal('partial');
    write(2, ['SET', 'after', '2']);
    await waitFor('replica caught up after the partial resync', async () => {
      const { canon } = await readRedis(client!);
      return JSON.stringify(plain(canon)) === JSON.stringify(plain(canonOfKeyspace(ks)));
    });
  });

  it('serves `redis-cli --rdb` (SYNC, capa eof, rdb-only)', async () => {
    const dir = tempDir();
    try {
      const file = join(dir, 'cli.rdb');
      const r = await run('redis-cli', ['-p', String(master!.port), '--rdb', file]);
      expect(r.code, r.stderr + r.stdout).to.equal(0);
      expect(plain(canonOf(parseRdb(readFileSync(file)).entries))).to.deep.equal(plain(canonOfKeyspace(ks)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
