import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import type { CommandSpec, KeyspaceEvent } from '../../src/context/api.js';
import { Dispatcher } from '../../src/context/dispatch.js';
import { ErrorReply, OK, QUEUED, type Reply } from '../../src/wire/reply.js';
import { serverCommands } from '../../src/server/commands/index.js';
import { ServerConfig } from '../../src/context/config.js';
import { ClientRegistry } from '../../src/context/dispatch.js';
import { Authenticator } from '../../src/server/auth.js';
import { Monitors } from '../../src/server/monitor.js';

/** A tiny stand-in for the Context: one string map, keyspace events on writes. */
class FakeContext extends EventEmitter {
  readonly data = new Map<string, Buffer>();
  readonly commands = new Map<string, CommandSpec>();
  constructor() {
    super();
    const set: CommandSpec = {
      name: 'set', arity: -3, flags: ['write', 'denyoom'], firstKey: 1, lastKey: 1, step: 1,
      handler: (inv) => {
        this.data.set(inv.argv[1]!.toString(), inv.argv[2]!);
        this.emit('keyspace', { db: inv.client.db, event: 'set', key: inv.argv[1]!, cls: '$' } satisfies KeyspaceEvent);
        return OK;
      },
    };
    const get: CommandSpec = {
      name: 'get', arity: 2, flags: ['readonly', 'fast'], firstKey: 1, lastKey: 1, step: 1,
      handler: (inv) => this.data.get(inv.argv[1]!.toString()) ?? null,
    };
    const mset: CommandSpec = {
      name: 'mset', arity: -3, flags: ['write'], firstKey: 1, lastKey: -1, step: 2,
      handler: () => OK,
    };
    for (const s of [set, get, mset]) this.commands.set(s.name, s);
  }
}

function setup(requirepass = ''): { d: Dispatcher; ctx: FakeContext } {
  const ctx = new FakeContext();
  const config = new ServerConfig(requirepass ? { requirepass } : {});
  const d = new Dispatcher({ context: ctx, config, registry: new ClientRegistry() });
  const env = {
    serverName: 'redis', version: '7.0.15', config, registry: d.registry, runId: 'x'.repeat(40), databases: 16, port: () => 0,
    monitors: new Monitors((on) => { d.onExecuted = on ? env.monitors.feed : null; }), shutdown: () => undefined,
    auth: new Authenticator(config),
  };
  d.register(serverCommands({ env, dispatcher: d, context: undefined }));
  return { d, ctx };
}

const run = (d: Dispatcher, c: ReturnType<Dispatcher['createClient']>, ...a: string[]): Promise<Reply> => d.call(c, a);
const errText = (r: Reply): string => (r instanceof ErrorReply ? r.message : `not an error: ${String(r)}`);

describe('context/Dispatcher', () => {
  it('looks commands up case-insensitively and checks arity with Redis texts', async () => {
    const { d } = setup();
    const c = d.createClient();
    expect(await run(d, c, 'SeT', 'k', 'v')).to.equal(OK);
    expect((await run(d, c, 'GET', 'k'))!.toString()).to.equal('v');
    expect(errText(await run(d, c, 'get'))).to.equal("ERR wrong number of arguments for 'get' command");
    expect(errText(await run(d, c, 'nope', 'a', 'b'))).to.equal("ERR unknown command 'nope', with args beginning with: 'a' 'b' ");
    const long = 'x'.repeat(200);
    expect(errText(await run(d, c, long, long))).to.equal(`ERR unknown command '${'x'.repeat(128)}', with args beginning with: '${'x'.repeat(128)}' `);
  });

  it('refuses writes to reserved /beam keys from non-internal clients only', async () => {
    const { d, ctx } = setup();
    const user = d.createClient();
    const internal = d.createClient({ internal: true });
    expect(errText(await run(d, user, 'SET', '/beam/x', '1'))).to.match(/^ERR .*\/beam.*reserved|^ERR key '\/beam\/x' is reserved/);
    expect(errText(await run(d, user, 'MSET', 'a', '1', '/beamer', '2'))).to.match(/reserved/);
    expect(await run(d, user, 'MSET', 'a', '/beam', 'b', '2')).to.equal(OK);
    expect(await run(d, user, 'GET', '/beam/x')).to.equal(null);
    expect(await run(d, internal, 'SET', '/beam/x', '1')).to.equal(OK);
    expect(ctx.data.get('/beam/x')!.toString()).to.equal('1');
  });

  it('runs filters before handlers and lets them refuse', async () => {
    const { d, ctx } = setup();
    const c = d.createClient();
    const seen: string[] = [];
    const remove = d.addFilter((inv, spec) => {
      seen.push(spec.name);
      return inv.argv[1]?.toString() === 'blocked' ? new ErrorReply('ERR refused by filter') : undefined;
    });
    expect(errText(await run(d, c, 'SET', 'blocked', '1'))).to.equal('ERR refused by filter');
    expect(ctx.data.has('blocked')).to.equal(false);
    expect(await run(d, c, 'SET', 'fine', '1')).to.equal(OK);
    remove();
    expect(await run(d, c, 'SET', 'blocked', '1')).to.equal(OK);
    expect(seen).to.deep.equal(['set', 'set']);
  });

  it('requires AUTH when requirepass is set, except for AUTH/HELLO/QUIT/RESET', async () => {
    const { d } = setup('pw');
    const c = d.createClient();
    expect(errText(await run(d, c, 'GET', 'k'))).to.equal('NOAUTH Authentication required.');
    expect(errText(await run(d, c, 'AUTH', 'bad'))).to.equal('WRONGPASS invalid username-password pair or user is disabled.');
    expect(await run(d, c, 'AUTH', 'default', 'pw')).to.equal(OK);
    expect(await run(d, c, 'GET', 'k')).to.equal(null);
    expect(await run(d, d.createClient({ internal: true }), 'GET', 'k')).to.equal(null);
  });

  it('queues in MULTI, aborts on queue-time errors, and WATCH sees keyspace events', async () => {
    const { d } = setup();
    const a = d.createClient();
    const b = d.createClient();
    expect(await run(d, a, 'MULTI')).to.equal(OK);
    expect(await run(d, a, 'SET', 'k', '1')).to.equal(QUEUED);
    expect(errText(await run(d, a, 'GET'))).to.match(/wrong number/);
    expect(errText(await run(d, a, 'EXEC'))).to.equal('EXECABORT Transaction discarded because of previous errors.');
    expect(await run(d, a, 'WATCH', 'k')).to.equal(OK);
    expect(await run(d, b, 'SET', 'k', '2')).to.equal(OK);
    await run(d, a, 'MULTI');
    await run(d, a, 'SET', 'k', '3');
    expect(await run(d, a, 'EXEC')).to.equal((await import('../../src/wire/reply.js')).NULL_ARRAY);
    await run(d, a, 'WATCH', 'k');
    await run(d, a, 'MULTI');
    await run(d, a, 'SET', 'k', '4');
    await run(d, a, 'GET', 'k');
    const r = (await run(d, a, 'EXEC')) as Reply[];
    expect(r[0]).to.equal(OK);
    expect(r[1]!.toString()).to.equal('4');
  });

  it('keeps one client\'s commands in order when one of them blocks', async () => {
    const { d } = setup();
    const order: string[] = [];
    d.register({
      name: 'bsleep', arity: 2, flags: ['blocking'], firstKey: 0, lastKey: 0, step: 0,
      handler: (inv) => new Promise<Reply>((resolve) => setTimeout(() => {
        order.push('bsleep done');
        resolve(OK);
      }, Number(inv.argv[1]!.toString()))),
    });
    const c = d.createClient();
    const p1 = run(d, c, 'BSLEEP', '30').then(() => order.push('reply 1'));
    const p2 = run(d, c, 'PING').then(() => order.push('reply 2'));
    await Promise.all([p1, p2]);
    expect(order).to.deep.equal(['bsleep done', 'reply 1', 'reply 2']);
  });

  it('release() aborts the client signal and drops its subscriptions', async () => {
    const { d } = setup();
    const c = d.createClient();
    const got: Reply[] = [];
    c.onPush = (r) => got.push(r);
    await run(d, c, 'SUBSCRIBE', 'ch');
    const p = d.createClient();
    expect(await run(d, p, 'PUBLISH', 'ch', 'hi')).to.equal(1);
    expect(got).to.have.length(1);
    d.release(c);
    expect(c.signal.aborted).to.equal(true);
    expect(await run(d, p, 'PUBLISH', 'ch', 'hi')).to.equal(0);
  });
});
