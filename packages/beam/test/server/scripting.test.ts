import { expect } from 'chai';
import { Buffer } from 'node:buffer';
import { RespConn, words } from '../context/helpers.js';
import { rawExchange, serverPerTest } from './helpers.js';
import type { PropagateEvent } from '../../src/context/api.js';

/** What redis-server behaviour the differential test cannot show: propagation, timeouts, bytes, RESP3 framing. */
describe('scripting on a Beam server', function () {
  this.timeout(30000);
  const srv = serverPerTest();

  async function conn(): Promise<RespConn> {
    const c = await RespConn.connect(srv.port);
    srv.track(() => c.close());
    return c;
  }

  function propagated(): string[][] {
    const out: string[][] = [];
    const ctx = srv.server.context!;
    const on = (e: PropagateEvent): void => void out.push(e.argv.map((b) => b.toString('latin1')));
    ctx.on('propagate', on);
    srv.track(() => ctx.off('propagate', on));
    return out;
  }

  it('replicates the effects of a script, wrapped in MULTI/EXEC, never the script itself', async () => {
    const c = await conn();
    const log = propagated();
    expect(await c.send(words('EVAL "redis.call(\'set\',\'a\',\'1\'); redis.call(\'incr\',\'b\'); return 1" 0'))).to.equal(1);
    expect(log).to.deep.equal([['MULTI'], ['set', 'a', '1'], ['incr', 'b'], ['EXEC']]);
    log.length = 0;
    await c.send(words('EVAL "return redis.call(\'expire\',\'a\',100)" 0'));
    expect(log).to.have.length(1);
    expect(log[0]![0]).to.equal('PEXPIREAT');
    log.length = 0;
    await c.send(words('EVAL "return redis.call(\'get\',\'a\')" 0'));
    expect(log).to.deep.equal([]);
    await c.send(words('MULTI'));
    await c.send(words('SET x 1'));
    await c.send(words('EVAL "redis.call(\'set\',\'y\',\'2\'); redis.call(\'set\',\'z\',\'3\')" 0'));
    await c.send(words('EXEC'));
    expect(log).to.deep.equal([['MULTI'], ['SET', 'x', '1'], ['set', 'y', '2'], ['set', 'z', '3'], ['EXEC']]);
  });

  it('lets a script that ends by itself finish after the threshold', async () => {
    const c = await conn();
    await c.send(words('CONFIG SET busy-reply-threshold 10'));
    expect(await c.send(words('EVAL "for i=1,100000 do redis.call(\'ping\') end return \'ok\'" 0'))).to.equal('ok');
  });

  it('keeps every byte of keys, arguments and replies', async () => {
    const c = await conn();
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const r = await c.send([Buffer.from('EVAL'), Buffer.from("redis.call('set', KEYS[1], ARGV[1]); return {redis.call('get', KEYS[1]), ARGV[1]}"), Buffer.from('1'), all, all]);
    expect(r).to.deep.equal([all.toString('latin1'), all.toString('latin1')]);
    expect(await c.send([Buffer.from('GET'), all])).to.equal(all.toString('latin1'));
    const sha = await c.send(words('EVAL "return redis.sha1hex(ARGV[1])" 0 abc'));
    expect(sha).to.equal('a9993e364706816aba3e25717850c26c9cd0d89d');
  });

  it('answers RESP3 clients with RESP3 types (booleans, doubles, maps) as Redis does', async () => {
    const hello = '*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n';
    const evals = [
      'redis.setresp(3); return true',
      'return {double=1.5}',
      'return {map={a=1}}',
      'redis.setresp(3); return redis.call(\'get\', \'nope\')',
      'return false',
    ].map((s) => `*3\r\n$4\r\nEVAL\r\n$${Buffer.byteLength(s)}\r\n${s}\r\n$1\r\n0\r\n`);
    const r = await rawExchange(srv.port, Buffer.from(hello + evals.join('')), (d) => (d.toString('latin1').match(/_\r\n/g) ?? []).length >= 2);
    const text = r.data.toString('latin1');
    const tail = text.slice(text.indexOf('#t\r\n'));
    expect(tail).to.equal('#t\r\n,1.5\r\n%1\r\n$1\r\na\r\n:1\r\n_\r\n_\r\n');
  });

  it('runs the commands a script calls with its own client: SELECT inside does not move the caller', async () => {
    const c = await conn();
    await c.send(words('EVAL "redis.call(\'select\', 3); redis.call(\'set\', \'k\', \'in3\')" 0'));
    expect(await c.send(words('GET k'))).to.equal(null);
    await c.send(words('SELECT 3'));
    expect(await c.send(words('GET k'))).to.equal('in3');
  });
});
