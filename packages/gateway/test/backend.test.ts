import { expect } from 'chai';
import { createServer as createNetServer, type AddressInfo, type Server } from 'node:net';
import { EmbeddedBackend } from '../src/backend/embedded.js';
import { contextRefusal, errorPrefix } from '../src/backend/refusal.js';
import { checkPublished } from '../src/backend/remote-check.js';
import { BeamCommandError, type CommandClient, type Value } from '../src/backend/types.js';
import { BeepUrlError, ContextRefusedError, ContextUnavailableError, GatewayStartError, replyCodeOf } from '../src/errors.js';
import { startGateway } from '../src/gateway.js';
import { parseBeepUrl } from '../src/reverse/beep-handler.js';

/** A command client answering from a table of sets, as a remote context with (or without) a catalog would. */
function setsClient(sets: Record<string, string[]> | Error): CommandClient & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    async call(argv: ReadonlyArray<Buffer | string>): Promise<Value> {
      const a = argv.map(String);
      calls.push(a);
      if (sets instanceof Error) throw sets;
      if (a[0] === 'EXISTS') return sets[a[1]!] ? 1 : 0;
      if (a[0] === 'SISMEMBER') return sets[a[1]!]?.includes(a[2]!) ? 1 : 0;
      throw new BeamCommandError(`ERR unexpected ${a[0]}`);
    },
    close(): void {},
  };
}

describe('gateway backends: job verdicts and context refusals', () => {
  const catalog = { '/beam/handlers': ['cat', 'echo', 'exec', 'beep'], '/beam/exec': ['ls'] };

  it('checkPublished applies the engine rule to the published sets', async () => {
    const c = setsClient(catalog);
    expect(await checkPublished(c, 'echo', ['echo', 'x'])).to.equal('ok');
    expect(await checkPublished(c, 'nope', ['nope'])).to.equal('unknown');
    expect(await checkPublished(c, 'ls', ['ls', '-l'])).to.equal('ok');
    expect(await checkPublished(c, 'exec', ['exec', 'ls'])).to.equal('ok');
    expect(await checkPublished(c, 'exec', ['exec', 'rm'])).to.equal('forbidden');
    // The exec rule looks at argv[1] only: a program named like an allowed one elsewhere in argv does not count.
    expect(await checkPublished(c, 'exec', ['exec', 'rm', 'ls'])).to.equal('forbidden');
    expect(c.calls.every((a) => a[0] === 'EXISTS' || a[0] === 'SISMEMBER')).to.equal(true);
  });

  it("checkPublished says 'maybe' without a catalog or when the keys cannot be read, and 421 when the context is gone", async () => {
    expect(await checkPublished(setsClient({}), 'nope', ['nope'])).to.equal('maybe');
    expect(await checkPublished(setsClient(new BeamCommandError('WRONGTYPE Operation against a key holding the wrong kind of value')), 'x', ['x'])).to.equal('maybe');
    const gone = await checkPublished(setsClient(new ContextUnavailableError('lost')), 'x', ['x']).then(() => undefined, (e: unknown) => e);
    expect(gone).to.be.instanceOf(ContextUnavailableError);
  });

  it('maps error replies of the context: limits and other refusals 554, not serving 421, the rest unchanged', () => {
    const limit = contextRefusal(new BeamCommandError('ERR /jobs/3/args: too many arguments (maxArgs 4)'), "job 'echo' cannot be created");
    expect(limit).to.be.instanceOf(ContextRefusedError);
    expect(replyCodeOf(limit)).to.equal(554);
    expect((limit as Error).message).to.equal("job 'echo' cannot be created: ERR /jobs/3/args: too many arguments (maxArgs 4)");
    expect(replyCodeOf(contextRefusal(new BeamCommandError('WRONGTYPE Operation against a key holding the wrong kind of value'), 'x'))).to.equal(554);
    for (const line of ['LOADING Redis is loading the dataset in memory', 'READONLY You can\'t write against a read only replica.', 'OOM command not allowed', 'NOAUTH Authentication required.', 'BUSY script']) {
      const e = contextRefusal(new BeamCommandError(line), 'x');
      expect(e, line).to.be.instanceOf(ContextUnavailableError);
      expect((e as Error).message).to.contain(line);
    }
    const other = new TypeError('boom');
    expect(contextRefusal(other, 'x')).to.equal(other);
    expect(errorPrefix('ERR x')).to.equal('ERR');
    expect(errorPrefix('weird')).to.equal('ERR');
  });

  it('parseBeepUrl throws BeepUrlError', () => {
    expect(parseBeepUrl('beep://h:1')).to.deep.equal({ host: 'h', port: 1 });
    expect(parseBeepUrl('beep://[::1]')).to.deep.equal({ host: '::1', port: 10288 });
    for (const bad of ['http://h:1', 'beep://h:0', 'beep://h:70000', 'beep://']) {
      expect(() => parseBeepUrl(bad), bad).to.throw(BeepUrlError).with.property('code', 'GATEWAY_BAD_URL');
    }
  });

  describe('EmbeddedBackend.create', () => {
    let blocker: Server | undefined;
    afterEach(() => new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r())));

    it('rejects with GatewayStartError when the RESP port is taken', async () => {
      blocker = createNetServer();
      await new Promise<void>((r) => blocker!.listen(0, '127.0.0.1', r));
      const port = (blocker.address() as AddressInfo).port;
      const e = await EmbeddedBackend.create({ resp: { host: '127.0.0.1', port } }).then(() => undefined, (x: unknown) => x);
      expect(e).to.be.instanceOf(GatewayStartError);
      expect((e as GatewayStartError).code).to.equal('GATEWAY_START_FAILED');
      expect((e as Error).message).to.match(new RegExp(`RESP listener on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
    });

    it('startGateway rejects with GatewayStartError when the BEEP port is taken', async () => {
      blocker = createNetServer();
      await new Promise<void>((r) => blocker!.listen(0, '127.0.0.1', r));
      const port = (blocker.address() as AddressInfo).port;
      const e = await startGateway({ beep: { host: '127.0.0.1', port }, resp: null }).then(() => undefined, (x: unknown) => x);
      expect(e).to.be.instanceOf(GatewayStartError);
      expect((e as Error).message).to.match(new RegExp(`BEEP listener on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
    });

    it("answers check() from its engine with the same rule", async () => {
      const b = await EmbeddedBackend.create({ exec: ['ls'] });
      try {
        const c = await b.openClient();
        expect(await b.check('echo', ['echo'], c)).to.equal('ok');
        expect(await b.check('nope', ['nope'], c)).to.equal('unknown');
        expect(await b.check('exec', ['exec', 'rm'], c)).to.equal('forbidden');
        // The embedded engine publishes the same catalog a remote gateway reads.
        expect(await checkPublished(c, 'exec', ['exec', 'rm'])).to.equal('forbidden');
        expect(await checkPublished(c, 'ls', ['ls'])).to.equal('ok');
        c.close();
      } finally {
        await b.close();
      }
    });
  });
});
