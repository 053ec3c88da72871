import { expect } from 'chai';
import net from 'node:net';
import tls from 'node:tls';
import { Duplex } from 'node:stream';
import { once } from 'node:events';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { BeepTlsError } from '../../src/errors.js';
import { generateSelfSigned, upgradeToTls } from '../../src/profiles/index.js';
import type { SelfSignedCertificate } from '../../src/profiles/index.js';

/** A Duplex over a socket whose first write is preceded by `prefix`, so both leave in one TCP segment. */
class PrefixFirstWrite extends Duplex {
  private prefix: Buffer | undefined;
  constructor(private readonly socket: net.Socket, prefix: string) {
    super();
    this.prefix = Buffer.from(prefix);
    socket.on('data', (d: Buffer) => {
      if (!this.push(d)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (e) => this.destroy(e));
  }
  override _read(): void {
    this.socket.resume();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    const data = this.prefix ? Buffer.concat([this.prefix, chunk]) : chunk;
    this.prefix = undefined;
    this.socket.write(data, cb);
  }
  override _final(cb: (e?: Error | null) => void): void {
    this.socket.end(cb);
  }
  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.socket.destroy(err ?? undefined);
    cb(err);
  }
}

async function rejection(p: Promise<unknown>): Promise<BeepTlsError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(BeepTlsError);
    return err as BeepTlsError;
  }
  expect.fail('expected a BeepTlsError');
}

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** The server end of the next connection to `server`, once `upgrade` has turned it into TLS. */
function nextUpgraded(server: net.Server, upgrade: (socket: net.Socket) => Promise<tls.TLSSocket>): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    server.once('connection', (socket: net.Socket) => {
      upgrade(socket).then(resolve, reject);
    });
  });
}

/** Writes `text` on `from` and expects it to arrive, in one chunk, on `to`. */
async function expectDelivered(from: Duplex, to: Duplex, text: string): Promise<void> {
  from.write(text);
  const [got] = (await once(to, 'data')) as [Buffer];
  expect(got.toString()).to.equal(text);
}

/** Read from a socket until `marker` is seen; resolve with the bytes up to and after it (nothing else consumed). */
function readUntil(socket: net.Socket, marker: string): Promise<{ head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      const at = buf.indexOf(marker);
      if (at >= 0) {
        socket.off('data', onData);
        socket.off('error', reject);
        socket.pause();
        resolve({ head: buf.subarray(0, at + marker.length).toString(), rest: buf.subarray(at + marker.length) });
      }
    };
    socket.on('data', onData);
    socket.on('error', reject);
  });
}

describe('TLS: self-signed certificate and upgradeToTls', function () {
  this.timeout(20000);
  let cert: SelfSignedCertificate;
  let other: SelfSignedCertificate;
  const servers: net.Server[] = [];
  const sockets: net.Socket[] = [];

  before(() => {
    cert = generateSelfSigned();
    other = generateSelfSigned({ commonName: 'other' });
  });

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    for (const s of servers.splice(0)) {
      s.close();
      (s as net.Server & { closeAllConnections?: () => void }).closeAllConnections?.();
    }
  });

  function track<T extends net.Server>(server: T): T {
    servers.push(server);
    server.on('connection', (s: net.Socket) => sockets.push(s));
    return server;
  }

  function connect(port: number): Promise<net.Socket> {
    const s = net.connect(port, '127.0.0.1');
    sockets.push(s);
    return once(s, 'connect').then(() => s);
  }

  it('generates a certificate with DNS and IP subjectAltNames, serverAuth and a SHA-256 signature', () => {
    const x = new X509Certificate(cert.cert);
    expect(x.subject).to.equal('CN=localhost');
    expect(x.issuer).to.equal('CN=localhost');
    expect(x.subjectAltName).to.contain('DNS:localhost').and.contain('IP Address:127.0.0.1');
    expect(x.subjectAltName).to.match(/IP Address:(0:0:0:0:0:0:0:1|::1)/);
    expect(x.keyUsage ?? []).to.include('1.3.6.1.5.5.7.3.1');
    expect(x.ca).to.equal(false);
    expect(x.checkPrivateKey(createPrivateKey(cert.key))).to.equal(true);
    expect(x.fingerprint256).to.equal(cert.fingerprint256);
    expect(x.verify(x.publicKey)).to.equal(true);
    expect(new Date(x.validTo).getTime()).to.be.greaterThan(Date.now() + 364 * 86400_000);
    expect(new X509Certificate(other.cert).serialNumber).to.not.equal(x.serialNumber);
  });

  it('is accepted by node:tls with verification on, by name (localhost) and by IP SAN (127.0.0.1)', async () => {
    const server = track(tls.createServer({ key: cert.key, cert: cert.cert }, (s) => s.end('hi')));
    const port = await listen(server);
    for (const opts of [{ servername: 'localhost' }, {}]) {
      const c = tls.connect({ host: '127.0.0.1', port, ca: cert.cert, rejectUnauthorized: true, ...opts });
      sockets.push(c);
      await once(c, 'secureConnect');
      expect(c.authorized).to.equal(true);
      expect(c.getPeerCertificate().fingerprint256).to.equal(cert.fingerprint256);
      c.destroy();
    }
  });

  it('upgrades a plain connection on both sides after a cleartext exchange', async () => {
    const server = track(net.createServer());
    const serverSide = nextUpgraded(server, async (socket) => {
      const { rest } = await readUntil(socket, 'READY\r\n');
      socket.write('PROCEED\r\n');
      return upgradeToTls(socket, { role: 'server', key: cert.key, cert: cert.cert, pending: rest });
    });
    const port = await listen(server);
    const raw = await connect(port);
    raw.write('READY\r\n');
    const { head, rest } = await readUntil(raw, 'PROCEED\r\n');
    expect(head).to.equal('PROCEED\r\n');
    const client = await upgradeToTls(raw, { role: 'client', ca: cert.cert, servername: 'localhost', pending: rest });
    const srv = await serverSide;
    expect(client.authorized).to.equal(true);
    expect(client.getProtocol()).to.match(/^TLSv1\.[23]$/);
    await expectDelivered(srv, client, 'secret from server');
    await expectDelivered(client, srv, 'secret from client');
    client.destroy();
    srv.destroy();
  });

  it('feeds bytes read past the cleartext message (ClientHello in the same chunk) to TLS first', async () => {
    const server = track(net.createServer());
    let pendingSeen: Buffer = Buffer.alloc(0);
    const serverSide = nextUpgraded(server, async (socket) => {
      const { rest } = await readUntil(socket, 'READY\r\n');
      pendingSeen = rest;
      return upgradeToTls(socket, { role: 'server', key: cert.key, cert: cert.cert, pending: rest });
    });
    const port = await listen(server);
    const raw = await connect(port);
    // The client does not wait for PROCEED: "READY\r\n" and the ClientHello leave in one write.
    const client = await upgradeToTls(new PrefixFirstWrite(raw, 'READY\r\n'), { role: 'client', ca: cert.cert, host: '127.0.0.1' });
    const srv = await serverSide;
    expect(pendingSeen.length).to.be.greaterThan(0);
    expect(pendingSeen[0]).to.equal(0x16); // TLS handshake record
    await expectDelivered(client, srv, 'ping');
    client.destroy();
    srv.destroy();
  });

  it('feeds pending bytes first over a Duplex that is not a net.Socket', async () => {
    const server = track(net.createServer());
    const serverSide = nextUpgraded(server, async (socket) => {
      const { rest } = await readUntil(socket, 'READY\r\n');
      if (rest.length === 0) throw new Error('expected the ClientHello in the same chunk');
      return upgradeToTls(new PrefixFirstWrite(socket, ''), { role: 'server', key: cert.key, cert: cert.cert, pending: rest });
    });
    const port = await listen(server);
    const raw = await connect(port);
    const client = await upgradeToTls(new PrefixFirstWrite(raw, 'READY\r\n'), { role: 'client', ca: cert.cert, servername: 'localhost' });
    const srv = await serverSide;
    await expectDelivered(srv, client, 'over a duplex');
    client.destroy();
    srv.destroy();
  });

  it('takes bytes still buffered inside the socket when no pending buffer is given', async () => {
    const server = track(net.createServer());
    const serverSide = nextUpgraded(server, (socket) => new Promise<tls.TLSSocket>((resolve, reject) => {
      socket.once('readable', () => {
        const line = socket.read(7) as Buffer | null; // "READY\r\n"; the ClientHello stays in the buffer
        if (line?.toString() !== 'READY\r\n') return reject(new Error(`unexpected ${String(line)}`));
        if (socket.readableLength === 0) return reject(new Error('the ClientHello should still be buffered'));
        upgradeToTls(socket, { role: 'server', key: cert.key, cert: cert.cert }).then(resolve, reject);
      });
    }));
    const port = await listen(server);
    const raw = await connect(port);
    const client = await upgradeToTls(new PrefixFirstWrite(raw, 'READY\r\n'), { role: 'client', ca: cert.cert, servername: 'localhost' });
    const srv = await serverSide;
    await expectDelivered(srv, client, 'pong');
    client.destroy();
    srv.destroy();
  });

  it('times out (BEEP_TLS_HANDSHAKE_TIMEOUT) against a peer that never answers, and destroys the socket', async () => {
    const server = track(net.createServer(() => undefined)); // accepts, never speaks TLS
    const port = await listen(server);
    const raw = await connect(port);
    const started = Date.now();
    const err = await rejection(upgradeToTls(raw, { role: 'client', ca: cert.cert, servername: 'localhost', handshakeTimeoutMs: 200 }));
    expect(err.code).to.equal('BEEP_TLS_HANDSHAKE_TIMEOUT');
    expect(Date.now() - started).to.be.within(150, 5000);
    expect(raw.destroyed).to.equal(true);
  });

  it('server side times out when the client never sends a ClientHello', async () => {
    const server = track(net.createServer());
    const result = new Promise<BeepTlsError>((resolve) => {
      server.once('connection', (socket) => {
        void rejection(upgradeToTls(socket, { role: 'server', key: cert.key, cert: cert.cert, handshakeTimeoutMs: 200 })).then(resolve);
      });
    });
    const port = await listen(server);
    await connect(port);
    expect((await result).code).to.equal('BEEP_TLS_HANDSHAKE_TIMEOUT');
  });

  it('fails (BEEP_TLS_HANDSHAKE_FAILED) when the client does not trust the certificate or the name differs', async () => {
    for (const clientOpts of [
      { ca: other.cert, servername: 'localhost' }, // pinned the wrong certificate
      { servername: 'localhost' }, // default root store: self-signed is untrusted
      { ca: cert.cert, servername: 'example.org' }, // trusted, wrong name
    ]) {
      const server = track(net.createServer());
      const serverResult = new Promise<unknown>((resolve) => {
        server.once('connection', (socket) => {
          upgradeToTls(socket, { role: 'server', key: cert.key, cert: cert.cert, handshakeTimeoutMs: 5000 }).then(
            (s) => { s.destroy(); resolve('ok'); },
            (e: unknown) => resolve(e),
          );
        });
      });
      const port = await listen(server);
      const raw = await connect(port);
      const err = await rejection(upgradeToTls(raw, { role: 'client', ...clientOpts }));
      expect(err.code, JSON.stringify(clientOpts)).to.equal('BEEP_TLS_HANDSHAKE_FAILED');
      expect(err.cause).to.be.instanceOf(Error);
      expect(raw.destroyed).to.equal(true);
      const s = await serverResult;
      if (s !== 'ok') expect(s).to.be.instanceOf(BeepTlsError);
    }
  });

  it('a server without a certificate is a usage error surfaced as a rejected promise', async () => {
    const server = track(net.createServer());
    const port = await listen(server);
    const raw = await connect(port);
    const err = await rejection(upgradeToTls(raw, { role: 'server' }));
    expect(err.code).to.equal('BEEP_TLS_HANDSHAKE_FAILED');
  });
});
