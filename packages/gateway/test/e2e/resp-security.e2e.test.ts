import net from 'node:net';
import { expect } from 'chai';
import { connect, type Session } from '@beamgate/beep';
import { PROTECTED_MODE_DENIED } from '@beamgate/beam';
import type { Gateway, GatewayOptions } from '../../src/gateway.js';
import { RESP_PROFILE_URI } from '../../src/wire/job-xml.js';
import { testGateway } from './helpers.js';

/** Sends inline commands (QUIT is appended) on a fresh RESP connection and returns everything until the server closes. */
function resp(port: number, commands: string[], localAddress = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    let data = '';
    s.on('connect', () => s.write([...commands, 'QUIT'].map((c) => `${c}\r\n`).join('')));
    s.on('data', (d: Buffer) => (data += d.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => resolve(data));
  });
}

describe('gateway e2e: the RESP listener authenticates, applies --access and keeps its lifecycle', function () {
  this.timeout(20000);
  let gw: Gateway | undefined;
  const sessions: Session[] = [];

  const start = async (opts: GatewayOptions): Promise<number> => {
    gw = await testGateway({ resp: { host: '127.0.0.1', port: 0 }, ...opts });
    return gw.respAddress!.port;
  };
  const metric = async (line: string): Promise<number> => {
    const m = new RegExp(`^${line.replace(/[{}"]/g, (c) => `\\${c}`)} (\\d+)$`, 'm').exec(await gw!.metrics.registry.metrics());
    return m ? Number(m[1]) : NaN;
  };

  afterEach(async () => {
    for (const s of sessions.splice(0)) s.destroy();
    await gw?.close(1000);
    gw = undefined;
  });

  it('with SASL users: a job without AUTH gets NOAUTH; AUTH and HELLO 3 AUTH take the SASL identities', async () => {
    const port = await start({ security: { sasl: { users: ['bob:secret'] } }, authThrottle: false });
    expect(await resp(port, ['RPUSH /jobs echo', 'PING'])).to.equal('-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n+OK\r\n');
    expect(await resp(port, ['AUTH bob wrong', 'AUTH bob secret', 'ACL WHOAMI', 'RPUSH /jobs echo'])).to.match(
      /^-WRONGPASS invalid username-password pair or user is disabled\.\r\n\+OK\r\n\$3\r\nbob\r\n:\d+\r\n\+OK\r\n$/,
    );
    expect(await resp(port, ['HELLO 3 AUTH bob secret', 'ACL WHOAMI'])).to.match(/^%7\r\n.*\$3\r\nbob\r\n\+OK\r\n$/s);
  });

  it('--require-sasl without users: everything but AUTH/HELLO/QUIT is refused', async () => {
    const port = await start({ security: { sasl: { users: [], allowAnonymous: true }, require: { sasl: true } } });
    expect(await resp(port, ['SET /jobs/0 ""', 'AUTH default x'])).to.match(/^-NOAUTH Authentication required\.\r\n-WRONGPASS [^\r]*\r\n\+OK\r\n$/);
  });

  it('applies --access to jobs created (RPUSH /jobs) and started (SET /jobs/ID) over RESP', async () => {
    const port = await start({
      security: { sasl: { users: ['bob:secret', 'amy:pw'] } },
      access: { bob: ['*'], amy: ['echo'] },
      authThrottle: false,
    });
    expect(await resp(port, ['AUTH amy pw', 'RPUSH /jobs cat', 'RPUSH /jobs echo'])).to.match(/^\+OK\r\n-NOPERM 'amy' may not run job 'cat'\r\n:\d+\r\n\+OK\r\n$/);
    const created = await resp(port, ['AUTH bob secret', 'RPUSH /jobs cat']);
    const id = Number(/:(\d+)\r\n/.exec(created)![1]) - 1;
    // amy may not start bob's cat job either.
    expect(await resp(port, ['AUTH amy pw', `SET /jobs/${id} ""`])).to.equal(`+OK\r\n-NOPERM 'amy' may not run job 'cat'\r\n+OK\r\n`);
    expect(await resp(port, ['AUTH bob secret', `SET /jobs/${id} ""`])).to.equal('+OK\r\n+OK\r\n+OK\r\n');
  });

  it('applies --access to the RESP profile over BEEP with the session\'s SASL identity', async () => {
    await start({ security: { sasl: { users: ['amy:pw'] } }, access: { amy: ['echo'], '': [] } });
    const gwPort = gw!.beepAddress.port;
    const s = await connect({ port: gwPort }, { sasl: { mechanism: 'SCRAM-SHA-256', authcid: 'amy', password: 'pw' } });
    sessions.push(s);
    const ch = await s.startChannel(RESP_PROFILE_URI);
    const r = await ch.request(Buffer.from('*3\r\n$5\r\nRPUSH\r\n$5\r\n/jobs\r\n$3\r\ncat\r\n'));
    expect(r.payload.toString()).to.equal("-NOPERM 'amy' may not run job 'cat'\r\n");
    const anon = await connect({ port: gwPort });
    sessions.push(anon);
    const ach = await anon.startChannel(RESP_PROFILE_URI);
    const a = await ach.request(Buffer.from('*3\r\n$5\r\nRPUSH\r\n$5\r\n/jobs\r\n$4\r\necho\r\n'));
    expect(a.payload.toString()).to.equal("-NOPERM job 'echo' needs an authenticated session\r\n");
  });

  it('refuses SHUTDOWN over RESP; the context keeps serving', async () => {
    const port = await start({});
    expect(await resp(port, ['SHUTDOWN NOSAVE', 'SHUTDOWN'])).to.match(/^-ERR SHUTDOWN is not allowed here: the gateway owns this server \(send SIGTERM[^\r]*\r\n-ERR SHUTDOWN is not allowed here/);
    expect(await resp(port, ['RPUSH /jobs echo'])).to.match(/^:\d+\r\n\+OK\r\n$/);
    expect(gw!.draining).to.equal(false);
  });

  it('the beep handler reaches no target by default, with a clear error', async () => {
    const port = await start({});
    const created = await resp(port, ['RPUSH /jobs beep']);
    const id = Number(/:(\d+)\r\n/.exec(created)![1]) - 1;
    await resp(port, [`RPUSH /jobs/${id}/args beep beep://127.0.0.1:1 urn:x`, `SET /jobs/${id} ""`]);
    expect(await resp(port, [`BLPOP /jobs/${id}/wait 10`, `LRANGE /jobs/${id}/out 0 -1`])).to.match(
      /^\*2\r\n\$\d+\r\n\/jobs\/\d+\/wait\r\n\$1\r\n2\r\n\*\d\r\n\$\d+\r\n2:beep: target 127\.0\.0\.1:1 refused: the beep handler reaches no target unless allowed \(beamgate serve --allow-beep-targets HOST:PORT\)\n/,
    );
  });

  it('without users: protected mode refuses non-local RESP clients (counted); 127.0.0.1 is served', async () => {
    const port = await start({});
    expect(await resp(port, ['PING'], '127.0.0.2')).to.equal(PROTECTED_MODE_DENIED);
    expect(await metric('beamgate_resp_denied_total')).to.equal(1);
    expect(await resp(port, ['PING'])).to.equal('+PONG\r\n+OK\r\n');
  });

  it('throttles RESP AUTH and BEEP SASL, and counts the failures by listener', async () => {
    const port = await start({ security: { sasl: { users: ['bob:secret'] } }, authThrottle: { freeFailures: 2, baseLockoutMs: 60_000 } });
    expect(await resp(port, ['AUTH bob a', 'AUTH bob b', 'AUTH bob c', 'AUTH bob secret'])).to.match(
      /^(-WRONGPASS [^\r]*\r\n){3}-ERR too many failed authentication attempts [^\r]*retry in 60 s\r\n\+OK\r\n$/,
    );
    expect(await metric('beamgate_auth_failures_total{listener="resp",reason="failed"}')).to.equal(3);
    expect(await metric('beamgate_auth_failures_total{listener="resp",reason="locked"}')).to.equal(1);
    // The BEEP listener has its own throttle with the same settings: from a fresh session, 535 then 454.
    const codes: number[] = [];
    for (const password of ['x', 'y', 'z', 'secret']) {
      const s = await connect({ port: gw!.beepAddress.port });
      sessions.push(s);
      codes.push(await s.authenticate({ mechanism: 'CRAM-MD5', authcid: 'bob', password }).then(() => 200, (e: { replyCode?: number }) => e.replyCode ?? 0));
    }
    expect(codes).to.deep.equal([535, 535, 535, 454]);
    expect(await metric('beamgate_auth_failures_total{listener="beep",reason="failed"}')).to.equal(3);
    expect(await metric('beamgate_auth_failures_total{listener="beep",reason="locked"}')).to.equal(1);
  });
});
