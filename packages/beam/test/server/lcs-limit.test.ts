import { expect } from 'chai';
import { ConfigError, ServerConfig } from '../../src/context/config.js';
import { Context, DEFAULT_LCS_MAX_TABLE_BYTES } from '../../src/context/context.js';
import type { BeamServer } from '../../src/server/server.js';
import { ErrorReply } from '../../src/wire/reply.js';
import { RespClient } from '../sync/helpers.js';
import { client, run } from '../context/helpers.js';
import { startServer } from './helpers.js';

const E_LCS = 'ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len';

describe('server: LCS follows proto-max-bulk-len; immutable config', function () {
  this.timeout(10000);
  let server: BeamServer | undefined;
  let c: RespClient | undefined;
  afterEach(async () => {
    c?.close();
    c = undefined;
    await server?.close();
    server = undefined;
  });

  const err = async (p: Promise<unknown>): Promise<string> => {
    try {
      await p;
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('expected an error reply');
  };

  it('a bare Context takes the cap from maxLcsTableBytes (default 512 MiB)', () => {
    expect(new Context({ activeExpireInterval: 0 }).maxLcsTableBytes).to.equal(DEFAULT_LCS_MAX_TABLE_BYTES);
    const ctx = new Context({ activeExpireInterval: 0, maxLcsTableBytes: 4 * 11 * 11 });
    try {
      const cl = client();
      run(ctx, cl, 'SET a abcdefghij');
      run(ctx, cl, 'SET b abcdefghij');
      expect(run(ctx, cl, 'LCS a b LEN')).to.equal(10);
      run(ctx, cl, 'SET b abcdefghijk');
      expect((run(ctx, cl, 'LCS a b LEN') as ErrorReply).message).to.equal(E_LCS);
    } finally {
      ctx.close();
    }
  });

  it('the server cap is proto-max-bulk-len, also after CONFIG SET', async () => {
    let port: number;
    ({ server, port } = await startServer({ limits: { maxBulkLength: 4 * 21 * 21 } }));
    c = await RespClient.connect(port);
    await c.call('SET', 'a', 'x'.repeat(20));
    await c.call('SET', 'b', 'x'.repeat(20));
    expect(await c.call('LCS', 'a', 'b', 'LEN')).to.equal(20);
    await c.call('SET', 'b', 'x'.repeat(21));
    expect(await err(c.call('LCS', 'a', 'b', 'LEN'))).to.equal(E_LCS);
    await c.call('CONFIG', 'SET', 'proto-max-bulk-len', String(4 * 22 * 22));
    expect(await c.call('LCS', 'a', 'b', 'LEN')).to.equal(20);
    await c.call('CONFIG', 'SET', 'proto-max-bulk-len', '1024');
    expect(await err(c.call('LCS', 'a', 'b', 'LEN'))).to.equal(E_LCS);
  });

  it('ConfigError code immutable for parameters fixed at start; same value of port is a no-op', () => {
    const cfg = new ServerConfig();
    let e: unknown;
    try {
      cfg.set('databases', '4');
    } catch (x) {
      e = x;
    }
    expect(e).to.be.instanceOf(ConfigError);
    expect((e as ConfigError).code).to.equal('CONFIG_IMMUTABLE');
    expect((e as ConfigError).message).to.equal(`CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config`);
    expect(() => cfg.set('port', cfg.get('port')!)).to.not.throw();
    expect(() => cfg.set('maxmemory', 'lots')).to.throw(ConfigError).with.property('code', 'CONFIG_INVALID');
    expect(() => cfg.set('nosuch', '1')).to.throw(ConfigError).with.property('code', 'CONFIG_UNKNOWN');
  });
});
