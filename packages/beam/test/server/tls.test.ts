import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { Redis } from 'ioredis';
import { BeamClient } from '../../src/client/beam-client.js';
import { BeamConnectionError } from '../../src/client/errors.js';
import { resolveTarget } from '../../src/client/target.js';
import { generateSelfSigned, type SelfSignedCertificate } from '../../src/server/tls.js';
import { readAll, startServer } from '../client/server-harness.js';

describe('server: RESP over TLS', function () {
  this.timeout(20000);
  let cert: SelfSignedCertificate;
  let srv: Awaited<ReturnType<typeof startServer>>;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];

  before(async () => {
    cert = generateSelfSigned();
    srv = await startServer({}, { tls: { key: cert.key, cert: cert.cert }, requirepass: 'pw' });
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  after(async () => {
    await srv?.close();
  });

  const client = (url: string, opts: ConstructorParameters<typeof BeamClient>[1] = {}): BeamClient => {
    const c = new BeamClient({ url }, opts);
    cleanups.push(() => c.close());
    return c;
  };

  it('generates a self-signed certificate for localhost, 127.0.0.1 and ::1', () => {
    const x = new X509Certificate(cert.cert);
    expect(x.checkHost('localhost')).to.equal('localhost');
    expect(x.checkIP('127.0.0.1')).to.equal('127.0.0.1');
    expect(x.checkIP('::1')).to.equal('::1');
    expect(x.checkHost('example.com')).to.equal(undefined);
    expect(x.fingerprint256).to.equal(cert.fingerprint256);
    expect(x.verify(x.publicKey)).to.equal(true);
    expect(x.ca).to.equal(false);
    expect(new Date(x.validTo).getTime()).to.be.greaterThan(Date.now() + 300 * 24 * 3600 * 1000);
  });

  it('parses rediss:// URLs as TLS targets', () => {
    expect(resolveTarget({ url: 'rediss://:s%40cret@localhost:7000' })).to.deep.equal({ kind: 'tcp', host: 'localhost', port: 7000, password: 's@cret', tls: true });
    expect(resolveTarget({ url: 'redis://localhost:7000' })).to.not.have.property('tls');
  });

  it('BeamClient over rediss:// with the certificate as CA: AUTH, commands and a job', async () => {
    const c = client(`rediss://:pw@127.0.0.1:${srv.port}`, { tls: { ca: cert.cert } });
    await c.connect();
    expect(await c.call('SET', 'tls-key', 'v')).to.equal('OK');
    expect(await c.call('GET', 'tls-key')).to.equal('v');
    const job = await c.run(['echo', 'over', 'tls']);
    expect(await readAll(job.stdout)).to.equal('over tls\n');
    expect(await job.exit).to.equal(0);
  });

  it('the tls option alone turns TLS on for a host/port target; servername is checked', async () => {
    const ok = new BeamClient({ host: '127.0.0.1', port: srv.port }, { password: 'pw', tls: { ca: cert.cert, servername: 'localhost' } });
    cleanups.push(() => ok.close());
    await ok.connect();
    expect(await ok.call('PING')).to.equal('PONG');
    const wrongName = client(`rediss://:pw@127.0.0.1:${srv.port}`, { tls: { ca: cert.cert, servername: 'example.com' } });
    const e = await wrongName.connect().then(() => undefined, (x: unknown) => x);
    expect(e).to.be.instanceOf(BeamConnectionError);
    expect((e as Error).message).to.match(/altnames|does not match/i);
  });

  it('verifies the certificate by default, and rejectUnauthorized: false skips it', async () => {
    const e = await client(`rediss://:pw@127.0.0.1:${srv.port}`).connect().then(() => undefined, (x: unknown) => x);
    expect(e).to.be.instanceOf(BeamConnectionError);
    expect((e as Error).message).to.match(/self[- ]signed/);
    const insecure = client(`rediss://:pw@127.0.0.1:${srv.port}`, { tls: { rejectUnauthorized: false } });
    await insecure.connect();
    expect(await insecure.call('PING')).to.equal('PONG');
  });

  it('a plain RESP client gets no reply from the TLS port', async () => {
    const plain = client(`redis://127.0.0.1:${srv.port}`, { connectTimeoutMs: 2000 });
    await plain.connect();
    // The TLS side takes the RESP bytes for a broken handshake and drops the connection: the call fails.
    const r = await plain.call('PING').then(() => 'reply', (x: Error) => x.name);
    expect(r).to.not.equal('reply');
  });

  it('ioredis with tls: { ca } and a password; a wrong password is WRONGPASS', async () => {
    const r = new Redis({ host: '127.0.0.1', port: srv.port, password: 'pw', tls: { ca: cert.cert, servername: 'localhost' }, maxRetriesPerRequest: 1, retryStrategy: () => null });
    cleanups.push(() => r.disconnect());
    expect(await r.set('io', 'tls')).to.equal('OK');
    expect(await r.get('io')).to.equal('tls');
    const bad = new Redis({ host: '127.0.0.1', port: srv.port, password: 'nope', tls: { ca: cert.cert, servername: 'localhost' }, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    const failed = new Promise<Error>((resolve) => bad.once('error', resolve));
    cleanups.push(() => bad.disconnect());
    void bad.connect().catch(() => {});
    expect((await failed).message).to.match(/WRONGPASS/);
  });

  it('replies to a pipeline before honouring the client\'s half-close', async () => {
    const s = tls.connect({ host: '127.0.0.1', port: srv.port, ca: cert.cert, servername: 'localhost' }, () => {
      s.end('AUTH pw\r\nSET hc 1\r\nGET hc\r\n');
    });
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((resolve) => s.on('close', resolve));
    expect(out).to.equal('+OK\r\n+OK\r\n$1\r\n1\r\n');
  });

  it('closes promptly after a client gave up during the handshake', async () => {
    const s2 = await startServer({}, { tls: { key: cert.key, cert: cert.cert } });
    const sock = tls.connect({ host: '127.0.0.1', port: s2.port });
    await new Promise((resolve) => sock.once('error', resolve));
    if (!sock.closed) await new Promise((resolve) => sock.once('close', resolve));
    const t0 = Date.now();
    await s2.close();
    expect(Date.now() - t0).to.be.below(1000);
    expect((s2.server.address() as AddressInfo | null)).to.equal(null);
  });

  it('mirrors the dataset over rediss:// (replication over TLS)', async () => {
    const c = client(`rediss://:pw@127.0.0.1:${srv.port}`, { tls: { ca: cert.cert } });
    await c.connect();
    await c.call('SET', 'mirrored', 'yes');
    const mirror = await c.sync({ reconnect: false });
    cleanups.unshift(() => mirror.close());
    expect(mirror.get('mirrored')?.toString()).to.equal('yes');
  });
});
