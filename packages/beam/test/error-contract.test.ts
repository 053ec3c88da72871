import { expect } from 'chai';
import { failure } from '@beamgate/base/testing';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BeamgateError, documentedErrorCodes, readErrorsDoc } from '@beamgate/base';
import {
  BeamClient, BeamError, BeamReplyError, ConfigError, Context, HandlerRegistry, JobEngine, ReplyDecoder, RequestDecoder, ServerConfig,
  encodeReply, sync, worker, type Reply,
} from '../src/index.js';
import { startServer } from './client/server-harness.js';


async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('beam: every error of the public API is a BeamError (or the shared ConfigError) with a code listed in docs/errors.md', () => {
  const codes = documentedErrorCodes(readErrorsDoc(path.dirname(fileURLToPath(import.meta.url))), 'beam');
  let srv: Awaited<ReturnType<typeof startServer>>;
  let context: Context;
  const clients: BeamClient[] = [];

  before(async () => {
    srv = await startServer();
    context = new Context({ activeExpireInterval: 0 });
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    context.close();
    await srv.close();
  });

  const client = async (): Promise<BeamClient> => {
    const c = new BeamClient({ host: '127.0.0.1', port: srv.port });
    clients.push(c);
    return c.connect();
  };

  const cases: Array<[string, () => unknown]> = [
    ['a request stream that is not RESP', () => {
      const e = new RequestDecoder().feed(Buffer.from('*1\r\n:x\r\n'), []);
      if (e) throw e;
    }],
    ['a reply stream that is not RESP', () => new ReplyDecoder({ onReply: () => {} }).feed(Buffer.from('?\r\n'))],
    ['a reply over maxReplyBytes', () => new ReplyDecoder({ onReply: () => {} }, { maxReplyBytes: 4 }).feed(Buffer.from('$100\r\n'))],
    ['a value that is not a Reply', () => encodeReply(Symbol('x') as unknown as Reply, 2)],
    ['CONFIG SET of an unknown parameter', () => new ServerConfig().set('nosuch', '1')],
    ['CONFIG SET of a bad value', () => new ServerConfig().set('maxmemory', 'lots')],
    ['a negative job option', () => new JobEngine(context, { unstartedTtlMs: -1 })],
    ['a job handler without a name', () => new HandlerRegistry().register('', () => 0)],
    ['a bad Redis target', () => worker.parseHostPort('nohost', 'target')],
    ['a malformed RDB', () => sync.parseRdb(Buffer.from('NOTREDIS0011'))],
    ['an offset the backlog does not hold', () => new sync.ReplicationBacklog({ size: 16 }).readFrom(1000)],
    ['a client URL that cannot be parsed', () => new BeamClient({ url: 'redis://[bad' })],
    ['a target that is not an object', () => new BeamClient('redis://localhost' as never)],
    ['a command before connect()', () => new BeamClient({ host: '127.0.0.1', port: srv.port }).call('PING')],
    ['a connection refused', async () => new BeamClient({ host: '127.0.0.1', port: await closedPort() }).connect()],
    ['an error reply', async () => (await client()).call('NOSUCHCOMMAND')],
    ['a job without a name', async () => (await client()).run([])],
    ['a command after close()', async () => {
      const c = await client();
      await c.close();
      await c.call('PING');
    }],
  ];

  for (const [what, fn] of cases) {
    it(what, async () => {
      const e = await failure(fn);
      expect(e, String(e)).to.be.instanceOf(BeamgateError);
      const err = e as BeamgateError;
      expect(err instanceof BeamError || err instanceof ConfigError, `${err.name} is a BeamError or the ConfigError`).to.equal(true);
      // An error reply's code is the reply's first word (ERR, WRONGTYPE...), as docs/errors.md says of BeamReplyError.
      if (err instanceof BeamReplyError) expect(err.code).to.match(/^[A-Z][A-Z0-9_-]*$/);
      else expect([...codes], `code ${err.code} of ${err.name}`).to.include(err.code);
    });
  }
});
