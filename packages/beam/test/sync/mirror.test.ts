import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { connect, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { BeamClient } from '../../src/client/beam-client.js';
import type { BeamMirror, MirrorChange } from '../../src/client/sync-client.js';
import { createServer, type BeamServer, type BeamServerOptions } from '../../src/server/server.js';
import { replicationFor } from '../../src/server/replication.js';
import { encodeCommand } from '../../src/wire/command-encoder.js';
import { writeRdbSync } from '../../src/sync/rdb-writer.js';
import { staticSnapshot } from '../../src/sync/snapshot-source.js';
import { plain, RespClient, waitFor } from './helpers.js';
import { canonOfContext, mixedWrites } from './server-helpers.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

async function start(opts: BeamServerOptions = {}): Promise<{ server: BeamServer; port: number }> {
  const server = createServer({ host: '127.0.0.1', port: 0, ...opts });
  const port = ((await server.listen()) as AddressInfo).port;
  return { server, port };
}

describe('sync: BeamClient.sync() mirror', function () {
  this.timeout(30000);
  let server: BeamServer;
  let port: number;
  let client: BeamClient;
  let mc: RespClient;
  let mirror: BeamMirror | null = null;

  beforeEach(async () => {
    ({ server, port } = await start());
    client = new BeamClient({ port });
    mc = await RespClient.connect(port);
  });
  afterEach(async () => {
    await mirror?.close();
    mirror = null;
    mc.close();
    await client.close();
    await server.close();
  });

  it('loads the snapshot, then applies every write and reports it as a change event', async () => {
    await mc.call('SET', 'a', '1');
    await mc.call('RPUSH', 'list', 'x', 'y');
    await mc.call('HSET', 'h', 'f', 'v');
    await mc.call('SADD', 's', 'm1', 'm2');
    await mc.call('SET', 'ttl', 'v', 'PX', '600000');
    await mc.call('SELECT', 2);
    await mc.call('SET', Buffer.from([0, 0xff]), Buffer.from([1, 2, 3]));
    await mc.call('SELECT', 0);
    mirror = await client.sync();
    expect(plain(canonOfContext(mirror.context))).to.deep.equal(plain(canonOfContext(server.context!)));
    expect(mirror.get('list')).to.deep.equal([Buffer.from('x'), Buffer.from('y')]);
    expect(mirror.expireAt('ttl')).to.be.within(Date.now() + 590_000, Date.now() + 600_000);
    expect(mirror.type('h')).to.equal('hash');

    const changes: MirrorChange[] = [];
    mirror.on('change', (c: MirrorChange) => changes.push(c));
    for (const w of mixedWrites(3000, 7)) await mc.call(...w).catch(() => null);
    await mc.call('SELECT', 0);
    await mc.call('SET', 'last', 'write');
    await waitFor('mirror caught up', async () => mirror!.offset === replicationFor(server.context!).feed.offset);
    // The writes give keys TTLs of at most 100 ms (PEXPIRE) or at least 500 s: leave out those ending within a
    // minute, so that a key expiring between the two reads cannot make them differ.
    const liveAfter = Date.now() + 60_000;
    expect(plain(canonOfContext(mirror.context, liveAfter))).to.deep.equal(plain(canonOfContext(server.context!, liveAfter)));
    expect(changes.length).to.be.greaterThan(1000);
    expect(changes.at(-1)).to.deep.include({ db: 0, event: 'set', key: Buffer.from('last') });
    expect(mirror.stats).to.deep.include({ fullSyncs: 1, failedCommands: 0 });
  });

  it('reconnects after the link drops and continues from the backlog (PSYNC +CONTINUE)', async () => {
    await mc.call('SET', 'before', '1');
    mirror = await client.sync({ reconnectDelayMs: 50 });
    const [rep] = replicationFor(server.context!).replicas();
    expect(rep).to.not.equal(undefined);
    const dropped = new Promise((r) => mirror!.once('disconnect', r));
    expect(await mc.call('CLIENT', 'KILL', 'ID', String(rep!.id))).to.equal(1);
    await dropped;
    await mc.call('SET', 'while-down', '2');
    await mc.call('RPUSH', 'later', 'a');
    await waitFor('mirror caught up', async () => mirror!.offset === replicationFor(server.context!).feed.offset && mirror!.state === 'streaming');
    expect(mirror.stats).to.deep.include({ fullSyncs: 1, partialSyncs: 1 });
    expect(mirror.get('while-down')).to.deep.equal(Buffer.from('2'));
    expect(plain(canonOfContext(mirror.context))).to.deep.equal(plain(canonOfContext(server.context!)));
  });

  it('rejects with the server error when AUTH fails', async () => {
    await server.close();
    ({ server, port } = await start({ requirepass: 'secret' }));
    await new BeamClient({ port }, { password: 'wrong' }).sync().then(
      () => expect.fail('should reject'),
      (e: Error) => expect(e.message).to.match(/AUTH refused/),
    );
    mirror = await new BeamClient({ port }, { password: 'secret' }).sync();
    expect(mirror.state).to.equal('streaming');
  });

  it('unauthenticated PSYNC is refused with NOAUTH', async () => {
    await server.close();
    ({ server, port } = await start({ requirepass: 'secret' }));
    const c = await RespClient.connect(port);
    try {
      await c.call('PSYNC', '?', '-1').then(
        () => expect.fail('should fail'),
        (e: Error) => expect(e.message).to.match(/^NOAUTH/),
      );
    } finally {
      c.close();
    }
  });
});

describe('sync: replica output limit', function () {
  this.timeout(30000);
  let server: BeamServer;
  let port: number;
  let sock: Socket | null = null;

  afterEach(async () => {
    sock?.destroy();
    await server.close();
  });

  it('disconnects a replica that does not read once its pending stream passes the hard limit', async () => {
    ({ server, port } = await start({ replication: { outputLimit: { hard: 512 * 1024, soft: 0 } } }));
    const s = connect(port, '127.0.0.1');
    sock = s;
    await new Promise((r) => s.once('connect', r));
    let received = 0;
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    s.on('error', () => {});
    s.on('data', (d: Buffer) => {
      received += d.length;
      if (received > 0) s.pause(); // read the handshake, then stop reading for good
    });
    s.write(encodeCommand(['REPLCONF', 'capa', 'psync2']));
    s.write(encodeCommand(['PSYNC', '?', '-1']));
    const master = replicationFor(server.context!);
    await waitFor('replica online', async () => master.replicas()[0]?.state === 'online');
    const ctx = server.context!;
    const c = ctx.createInternalClient();
    const value = Buffer.alloc(64 * 1024, 1);
    let writes = 0;
    // Writes keep coming; the kernel buffers fill, then the link's pending bytes pass 512 KiB.
    while (master.replicas().length > 0 && writes < 2000) {
      ctx.call(c, [Buffer.from('SET'), Buffer.from(`k${writes++ % 10}`), value]);
      if (writes % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(master.replicas()).to.have.length(0);
    expect(writes).to.be.lessThan(2000);
    s.removeAllListeners('data');
    s.resume(); // read on to see the master's close
    await closed;
    const info = (await (async () => {
      const c2 = await RespClient.connect(port);
      try {
        return await c2.str('INFO', 'replication');
      } finally {
        c2.close();
      }
    })());
    expect(info).to.match(/connected_slaves:0/);
    // A normal client is unaffected by the same write load.
    expect(ctx.dbsize(0)).to.equal(10);
  });
});

describe('cli: beam sync', function () {
  this.timeout(30000);
  let server: BeamServer;
  let port: number;

  before(async () => {
    ({ server, port } = await start());
  });
  after(async () => {
    await server.close();
  });

  it('prints the changes of matching keys as they happen', async () => {
    const mc = await RespClient.connect(port);
    await mc.call('SET', 'cli:old', 'snap');
    const child = spawn(process.execPath, [MAIN, 'sync', '--url', `redis://127.0.0.1:${port}`, '--match', 'cli:*', '--snapshot'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    try {
      await waitFor('beam sync online', async () => replicationFor(server.context!).replicas()[0]?.state === 'online');
      await mc.call('SET', 'cli:a', 'hello');
      await mc.call('SET', 'other', 'not shown');
      await mc.call('HSET', 'cli:h', 'f', 'v');
      await mc.call('DEL', 'cli:a');
      await waitFor('output', async () => out.includes('0 del "cli:a"\n'), 10000);
      expect(out).to.equal(['0 snapshot "cli:old" "snap"', '0 set "cli:a" "hello"', '0 hset "cli:h" {"f":"v"}', '0 del "cli:a"', ''].join('\n'));
    } finally {
      child.kill('SIGINT');
      mc.close();
    }
    expect(await exited).to.equal(0);
  });
});

describe('sync: writes in the same read as the end of the snapshot', function () {
  this.timeout(10000);
  let master: NetServer | null = null;
  let mirror: BeamMirror | null = null;
  afterEach(async () => {
    await mirror?.close();
    mirror = null;
    await new Promise((r) => (master ? master.close(r) : r(null)));
    master = null;
  });

  it('reach the change listeners attached once sync() resolves', async () => {
    // A master that sends the snapshot and the first write in one segment: the mirror reads them together.
    const rdb = writeRdbSync(staticSnapshot(new Map([[0, [{ key: Buffer.from('old'), type: 'string' as const, value: Buffer.from('v'), expireAt: null }]]])));
    master = createNetServer((s) => {
      s.on('error', () => {});
      let seen = '';
      s.on('data', (d: Buffer) => {
        seen += d.toString('latin1');
        // As Redis: REPLCONF is answered at once (the mirror sends PSYNC only after that reply).
        if (seen.includes('REPLCONF')) {
          seen = seen.slice(seen.indexOf('REPLCONF') + 8);
          s.write('+OK\r\n');
        }
        if (!seen.includes('PSYNC')) return;
        seen = '';
        s.write(Buffer.concat([Buffer.from(`+FULLRESYNC ${'a'.repeat(40)} 0\r\n$${rdb.length}\r\n`), rdb, encodeCommand(['SET', 'new', 'w'])]));
      });
    });
    await new Promise<void>((r) => master!.listen(0, '127.0.0.1', r));
    const port = (master.address() as AddressInfo).port;
    const client = new BeamClient({ port });
    try {
      mirror = await client.sync({ reconnect: false });
      const changes: string[] = [];
      mirror.on('change', (c: MirrorChange) => changes.push(`${c.event} ${c.key.toString()}`));
      await waitFor('the write applied', async () => mirror!.get('new') !== undefined);
      expect(changes).to.deep.equal(['set new']);
      expect(mirror.get('old')).to.deep.equal(Buffer.from('v'));
    } finally {
      await client.close();
    }
  });
});
