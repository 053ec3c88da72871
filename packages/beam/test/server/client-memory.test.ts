import net from 'node:net';
import { expect } from 'chai';
import { createServer, type BeamServer } from '../../src/server/server.js';
import { pollUntil } from '@beamgate/base/testing';

/** Connects and resolves once connected. */
function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

/** Collects what a socket receives and whether it closed. */
function watch(s: net.Socket): { data: () => string; closed: Promise<void> } {
  let data = '';
  s.on('data', (d: Buffer) => (data += d.toString('latin1')));
  const closed = new Promise<void>((resolve) => s.on('close', () => resolve()));
  s.on('error', () => undefined);
  return { data: () => data, closed };
}

async function until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  return pollUntil(pred, { what, timeoutMs: ms });
}

/** PING on a fresh connection; resolves with the milliseconds until PONG. */
async function freshPing(port: number): Promise<number> {
  const t0 = Date.now();
  const s = await connect(port);
  const w = watch(s);
  s.write('PING\r\n');
  await until(() => w.data().includes('+PONG'), 'PONG', 3000);
  s.destroy();
  return Date.now() - t0;
}

describe('server: request memory bounds', () => {
  let server: BeamServer;
  let port: number;
  const sockets: net.Socket[] = [];

  async function start(opts: Parameters<typeof createServer>[0] = {}): Promise<void> {
    server = createServer({ host: '127.0.0.1', port: 0, ...opts });
    const a = await server.listen();
    port = typeof a === 'string' ? 0 : a.port;
  }

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await server?.close();
  });

  it('closes the client holding the most when all clients together go over maxmemory-clients', async function () {
    this.timeout(20000);
    await start({ config: { 'maxmemory-clients': String(4 * 1024 * 1024) } });
    // Three clients each start a 3 MiB bulk: together over the 4 MiB bound.
    const clients = await Promise.all([0, 1, 2].map(() => connect(port)));
    sockets.push(...clients);
    const watched = clients.map(watch);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    for (const c of clients) c.write(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${3 * 1024 * 1024}\r\n`);
    // Feed them one chunk at a time in turn, as concurrent uploads arrive.
    for (let i = 0; i < 40; i++) {
      for (const c of clients) if (!c.destroyed) c.write(chunk);
      await new Promise((r) => setImmediate(r));
      if (server.clientMemory.evicted >= 1) break;
    }
    await until(() => server.clientMemory.evicted >= 1, 'an eviction');
    expect(server.clientMemory.total).to.be.at.most(4 * 1024 * 1024);
    await until(() => watched.some((w) => w.data().includes('maxmemory-clients')), 'the refusal');
    const refused = watched.filter((w) => w.data().includes('maxmemory-clients'));
    await Promise.all(refused.map((w) => w.closed));
    // Everybody else is still served at once.
    expect(await freshPing(port)).to.be.below(1000);
  });

  it('counts parsed arguments of unfinished requests against client-query-buffer-limit', async () => {
    await start({ config: { 'client-query-buffer-limit': String(1024 * 1024) } });
    const s = await connect(port);
    sockets.push(s);
    const w = watch(s);
    s.write('*1000000\r\n');
    s.write('$1\r\na\r\n'.repeat(20_000));
    await w.closed;
    expect(w.data()).to.contain('query buffer limit reached');
    expect(server.clientMemory.total).to.equal(0);
    expect(await freshPing(port)).to.be.below(1000);
  });

  it('returns a request\'s bytes to the budget once it ran', async () => {
    await start();
    const s = await connect(port);
    sockets.push(s);
    const w = watch(s);
    const n = 50_000;
    s.write(`*${n + 1}\r\n$4\r\nECHO\r\n` + '$0\r\n\r\n'.repeat(n));
    await until(() => w.data().startsWith('-ERR'), 'the reply');
    await until(() => server.clientMemory.total === 0, 'the budget to empty');
  });

  it('applies CONFIG SET maxmemory-clients at once', async () => {
    await start();
    expect(server.clientMemory.limit).to.equal(512 * 1024 * 1024);
    expect(server.config.get('maxmemory-clients')).to.equal(String(512 * 1024 * 1024));
    server.config.set('maxmemory-clients', '1mb');
    expect(server.clientMemory.limit).to.equal(1024 * 1024);
    server.config.set('maxmemory-clients', '0');
    expect(server.clientMemory.limit).to.equal(0);
  });

  it('closes clients idle longer than CONFIG timeout, but not blocked ones', async function () {
    this.timeout(10000);
    await start({ config: { timeout: '1' } });
    const idle = await connect(port);
    const blocked = await connect(port);
    sockets.push(idle, blocked);
    const wi = watch(idle);
    const wb = watch(blocked);
    let blockedClosed = false;
    void wb.closed.then(() => (blockedClosed = true));
    blocked.write('BLPOP nothing 0\r\n');
    idle.write('PING\r\n');
    await until(() => wi.data().includes('PONG'), 'PONG');
    const t0 = Date.now();
    await wi.closed;
    expect(Date.now() - t0).to.be.at.least(500);
    expect(blockedClosed).to.equal(false);
  });
});
