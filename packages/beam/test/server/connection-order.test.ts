import { expect } from 'chai';
import type { BeamServer } from '../../src/server/server.js';
import { OK, type Reply } from '../../src/wire/reply.js';
import { rawExchange, startServer } from './helpers.js';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

describe('server: ordering, blocking, unix sockets', function () {
  this.timeout(10000);
  let server: BeamServer;
  let port: number;
  let aborted: number[] = [];
  beforeEach(async () => {
    aborted = [];
    ({ server, port } = await startServer());
    server.register([{
      name: 'bsleep', arity: 2, flags: ['blocking'], firstKey: 0, lastKey: 0, step: 0,
      handler: (inv) => new Promise<Reply>((resolve) => {
        const t = setTimeout(() => resolve(OK), Number(inv.argv[1]!.toString()));
        inv.client.signal.addEventListener('abort', () => {
          clearTimeout(t);
          aborted.push(inv.client.id);
          resolve(null);
        });
      }),
    }]);
  });
  afterEach(async () => {
    await server.close();
  });

  it('pipelined commands behind a blocking one wait for it, replies stay in order', async () => {
    const r = await rawExchange(port, Buffer.from('PING\r\nBSLEEP 50\r\nECHO after\r\nPING\r\n'), (d) => d.toString().endsWith('+PONG\r\n+OK\r\n$5\r\nafter\r\n+PONG\r\n'));
    expect(r.data.toString()).to.equal('+PONG\r\n+OK\r\n$5\r\nafter\r\n+PONG\r\n');
  });

  it('a client that disconnects while blocked gets its wait aborted', async () => {
    const s = net.connect(port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    s.write('CLIENT ID\r\nBSLEEP 5000\r\n');
    const id = await new Promise<number>((resolve) => s.once('data', (d: Buffer) => resolve(Number(/:(\d+)/.exec(d.toString())![1]))));
    s.destroy();
    const t0 = Date.now();
    while (!aborted.includes(id) && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 10));
    expect(aborted).to.include(id);
  });

  it('a half-closed client still gets the replies to what it sent (no blocking command)', async () => {
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    s.on('data', (d: Buffer) => (data += d.toString()));
    await new Promise((r) => s.once('connect', r));
    s.end('ECHO x\r\nPING\r\n');
    await new Promise((r) => s.once('close', r));
    expect(data).to.equal('$1\r\nx\r\n+PONG\r\n');
  });

  it('listens on a unix socket', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'beam-'));
    const sockPath = path.join(dir, 'beam.sock');
    const { createServer } = await import('../../src/server/server.js');
    const us = createServer({ path: sockPath });
    try {
      expect(await us.listen()).to.equal(sockPath);
      const reply = await new Promise<string>((resolve) => {
        const s = net.connect(sockPath);
        s.on('data', (d: Buffer) => {
          resolve(d.toString());
          s.destroy();
        });
        s.write('PING\r\n');
      });
      expect(reply).to.equal('+PONG\r\n');
    } finally {
      await us.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
