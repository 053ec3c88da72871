import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BeamClient } from '../../src/client/beam-client.js';
import { BeamConnectionError, BeamError } from '../../src/client/errors.js';
import { resolveTarget } from '../../src/client/target.js';
import type { JobHandler } from '../../src/jobs/handler.js';
import { readAll, startServer } from './server-harness.js';

describe('client: BeamClient', function () {
  this.timeout(15000);
  let srv: Awaited<ReturnType<typeof startServer>>;
  let client: BeamClient;

  const sleeper: JobHandler = (job) =>
    new Promise<number>((_resolve, reject) => job.signal.addEventListener('abort', () => reject(job.signal.reason as Error)));
  const envHandler: JobHandler = async (job) => {
    job.stdout.write(`${job.env.GREETING ?? '?'} ${job.args.slice(1).join(',')}`);
    return 3;
  };

  beforeEach(async () => {
    srv = await startServer({ handlers: { sleep: sleeper, env: envHandler } });
    client = await new BeamClient({ host: '127.0.0.1', port: srv.port }).connect();
  });
  afterEach(async () => {
    await client?.close();
    await srv?.close();
  });

  it('sends generic commands, pipelined, with decoded replies', async () => {
    const replies = await Promise.all([client.call('SET', 'k', 'v'), client.call('GET', 'k'), client.call('RPUSH', 'l', 'a', 'b'), client.call('LRANGE', 'l', 0, -1)]);
    expect(replies).to.deep.equal(['OK', 'v', 2, ['a', 'b']]);
    expect(await client.call('GET', 'missing')).to.equal(null);
  });

  it('rejects error replies with BeamError carrying the code', async () => {
    await client.call('SET', 'k', 'v');
    const e = await client.call('LPUSH', 'k', 'x').catch((err: unknown) => err);
    expect(e).to.be.instanceOf(BeamError);
    expect((e as BeamError).code).to.equal('WRONGTYPE');
    const e2 = await client.call('SET', '/jobs/0/args', 'x').catch((err: unknown) => err);
    expect((e2 as BeamError).code).to.equal('ERR');
    expect((e2 as BeamError).message).to.match(/args/);
  });

  it('run(): echo streams stdout and resolves the exit status', async () => {
    const job = await client.run(['echo', 'hello', 'beam']);
    expect(job.id).to.equal(0);
    const [out, err, status] = await Promise.all([readAll(job.stdout), readAll(job.stderr), job.exit]);
    expect(out).to.equal('hello beam\n');
    expect(err).to.equal('');
    expect(status).to.equal(0);
  });

  it('run(): env and args reach the handler; non-zero status', async () => {
    const job = await client.run(['env', 'a', 'b'], { env: { GREETING: 'hi' } });
    expect(await readAll(job.stdout)).to.equal('hi a,b');
    expect(await job.exit).to.equal(3);
  });

  it('run(): stdin as string, Buffer and Readable goes to cat', async () => {
    for (const stdin of ['text input', Buffer.from([0x00, 0xff, 0x41]), Readable.from([Buffer.from('a'), Buffer.from('b'), Buffer.from('c')])]) {
      const job = await client.run(['cat'], { stdin });
      const chunks: Buffer[] = [];
      for await (const c of job.stdout) chunks.push(c as Buffer);
      const expected = stdin instanceof Readable ? Buffer.from('abc') : Buffer.from(stdin);
      expect(Buffer.concat(chunks).equals(expected)).to.equal(true);
      expect(await job.exit).to.equal(0);
    }
  });

  it('run(): streams 3 MB through cat with back-pressure both ways', async () => {
    const data = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = i % 251;
    const job = await client.run(['cat'], { stdin: data });
    const chunks: Buffer[] = [];
    for await (const c of job.stdout) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(data)).to.equal(true);
    expect(await job.exit).to.equal(0);
  });

  it('run(): unknown handler exits 127 with a message on stderr', async () => {
    const job = await client.run(['nosuch']);
    const [err, status] = await Promise.all([readAll(job.stderr), job.exit, readAll(job.stdout)]);
    expect(err).to.match(/no such job handler/);
    expect(status).to.equal(127);
  });

  it('run(): aborting the signal sends TERM; kill() sends others', async () => {
    const ac = new AbortController();
    const job = await client.run(['sleep'], { signal: ac.signal });
    ac.abort(); // the job is running: run() resolved after its start
    expect(await job.exit).to.equal(143);
    const job2 = await client.run(['sleep']);
    await job2.kill('HUP');
    expect(await job2.exit).to.equal(129);
  });

  it('run(): concurrent jobs on one client get distinct ids', async () => {
    const jobs = await Promise.all(Array.from({ length: 10 }, (_, i) => client.run(['echo', String(i)])));
    expect(new Set(jobs.map((j) => j.id)).size).to.equal(10);
    const outs = await Promise.all(jobs.map((j) => readAll(j.stdout)));
    outs.forEach((o, i) => expect(o).to.equal(`${i}\n`));
  });

  it('MULTI/EXEC: the job filter checks each command at EXEC time', async () => {
    const replies = await Promise.all([
      client.call('MULTI'),
      client.call('RPUSH', '/jobs', 'echo'),
      client.call('RPUSH', '/jobs/0/args', 'echo', 'tx'),
      client.call('SET', '/jobs/0', ''),
      client.call('SET', '/jobs/0', ''),
      client.call('EXEC').catch((e: unknown) => e),
    ]);
    expect(replies.slice(0, 5)).to.deep.equal(['OK', 'QUEUED', 'QUEUED', 'QUEUED', 'QUEUED']);
    const exec = replies[5] as unknown[];
    expect(exec.slice(0, 3)).to.deep.equal([1, 2, 'OK']);
    expect(String(exec[3])).to.match(/already started/);
    const r = await client.call('BLPOP', '/jobs/0/out', 0);
    expect(r).to.deep.equal(['/jobs/0/out', '1:tx\n']);
  });

  it('reports connection failures as BeamConnectionError', async () => {
    const c = new BeamClient({ url: `redis://127.0.0.1:${srv.port}` });
    await c.connect();
    await srv.close();
    const e = await c.call('PING').catch((err: unknown) => err);
    expect(e).to.be.instanceOf(BeamConnectionError);
    await c.close();
    srv = await startServer();
  });

  it('parses targets', () => {
    expect(resolveTarget({ url: 'redis://:pw@localhost:1234' })).to.deep.equal({ kind: 'tcp', host: 'localhost', port: 1234, password: 'pw' });
    expect(resolveTarget({ url: 'unix:/tmp/x.sock' })).to.deep.equal({ kind: 'unix', path: '/tmp/x.sock' });
    expect(resolveTarget({ url: 'unix:///tmp/y.sock' })).to.deep.equal({ kind: 'unix', path: '/tmp/y.sock' });
    expect(resolveTarget({ port: 7 })).to.deep.equal({ kind: 'tcp', host: '127.0.0.1', port: 7 });
    expect(() => resolveTarget({ url: 'http://x' })).to.throw(BeamConnectionError);
  });
});

describe('client: unix socket and password', function () {
  this.timeout(10000);
  it('runs a job over a unix socket with AUTH', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'beam-'));
    const path = join(dir, 's.sock');
    const srv = await startServer({}, { path, requirepass: 'secret' });
    const noauth = await new BeamClient({ path }).connect();
    const client = await new BeamClient({ url: `unix:${path}` }, { password: 'secret' }).connect();
    try {
      const e = await noauth.call('GET', 'x').catch((err: unknown) => err);
      expect((e as BeamError).code).to.equal('NOAUTH');
      const job = await client.run(['echo', 'via', 'unix']);
      expect(await readAll(job.stdout)).to.equal('via unix\n');
      expect(await job.exit).to.equal(0);
    } finally {
      await noauth.close();
      await client.close();
      await srv.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('client: context per connection', function () {
  this.timeout(10000);
  it('closing the connection kills the jobs of its context', async () => {
    let aborted: unknown = null;
    const hold: JobHandler = (job) =>
      new Promise<number>((_resolve, reject) =>
        job.signal.addEventListener('abort', () => {
          aborted = job.signal.reason;
          reject(job.signal.reason as Error);
        }),
      );
    const srv = await startServer({ handlers: { hold } }, { contextPerConnection: true });
    const c = await new BeamClient({ port: srv.port }).connect();
    try {
      expect(await c.call('RPUSH', '/jobs', 'hold')).to.equal(1);
      expect(await c.call('SET', '/jobs/0', '')).to.equal('OK');
      await c.close();
      const end = Date.now() + 2000;
      while (aborted === null && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      expect((aborted as { signal: string } | null)?.signal).to.equal('KILL');
    } finally {
      await srv.close();
    }
  });
});
