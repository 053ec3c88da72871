import { expect } from 'chai';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { listen, type Listener } from '../../src/api/connect.js';
import type { Session } from '../../src/session/session.js';
import { runBeep } from './cli-helpers.js';

const ECHO = 'urn:test:connect:echo';
const SILENT = 'urn:test:connect:silent';

describe('cli: beep connect interop flags (--timeout, --content, --serverName, several --msg, --allow-cleartext)', function () {
  this.timeout(30000);
  let listener: Listener;
  let target: string;
  const events: string[] = [];
  const starts: Array<{ content: string | undefined; serverName: string | undefined }> = [];

  before(async () => {
    listener = await listen({
      port: 0,
      profiles: [
        {
          uri: ECHO,
          onStart: (info) => {
            starts.push({ content: info.content?.toString('utf8'), serverName: info.serverName });
            return info.content === undefined ? true : { content: info.content.toString('utf8') };
          },
          onChannel: (ch) => ch.once('close', () => events.push(`channel ${ch.number} closed`)),
          onMessage: (m, r) => r.rpy(m.payload),
        },
        { uri: SILENT, onMessage: () => undefined },
      ],
      sasl: { users: ['bob:secret'], allowCleartext: true },
    });
    listener.on('session', (s: Session) => s.once('close', () => events.push('session closed')));
    target = `127.0.0.1:${(listener.address() as AddressInfo).port}`;
  });

  after(async () => {
    await listener.close(100);
  });

  it('sends several --msg in order on one channel, and closes the channel before the session', async () => {
    events.length = 0;
    const r = await runBeep(['connect', target, '--profile', ECHO, '--msg', 'one', '--msg', 'two', '--msg', 'three']);
    expect(r.stderr).to.equal('');
    expect(r.code).to.equal(0);
    // Not a terminal: no trailing newline is added.
    expect(r.stdout.toString()).to.equal('onetwothree');
    const deadline = Date.now() + 5000;
    while (!events.includes('session closed') && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    expect(events).to.deep.equal(['channel 1 closed', 'session closed']);
  });

  it('--content is piggybacked in the start and --serverName is the start attribute', async () => {
    starts.length = 0;
    const r = await runBeep(['connect', target, '--profile', ECHO, '--content', "<hello to='you'/>", '--serverName', 'example.org', '--msg', 'x']);
    expect(r.code).to.equal(0);
    expect(starts).to.deep.equal([{ content: "<hello to='you'/>", serverName: 'example.org' }]);
  });

  it('--timeout ends a wait for a reply that never comes: exit 2 with a message', async () => {
    const t0 = Date.now();
    const r = await runBeep(['connect', target, '--profile', SILENT, '--msg', 'x', '--timeout', '1']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('BEEP_TIMEOUT').and.to.contain('no reply within 1 s');
    expect(Date.now() - t0).to.be.lessThan(15000);
  });

  it('--timeout ends the wait for a greeting from a peer that accepts the connection and says nothing', async () => {
    const mute = net.createServer(() => undefined);
    await new Promise<void>((res) => mute.listen(0, '127.0.0.1', res));
    try {
      const port = (mute.address() as AddressInfo).port;
      const r = await runBeep(['connect', `127.0.0.1:${port}`, '--profile', ECHO, '--msg', 'x', '--timeout', '1']);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.contain('greeting');
    } finally {
      mute.close();
    }
  });

  it('SASL PLAIN without TLS needs --allow-cleartext', async () => {
    const refused = await runBeep(['connect', target, '--profile', ECHO, '--sasl', 'bob:secret', '--mech', 'PLAIN', '--msg', 'x']);
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.contain('538');
    const ok = await runBeep(['connect', target, '--profile', ECHO, '--sasl', 'bob:secret', '--mech', 'PLAIN', '--allow-cleartext', '--msg', 'x']);
    expect(ok.stderr).to.equal('');
    expect(ok.code).to.equal(0);
    expect(ok.stdout.toString()).to.equal('x');
  });

  it('refuses flags that do not go together', async () => {
    expect((await runBeep(['connect', target, '--profile', ECHO, '--allow-cleartext'])).code).to.equal(2);
    expect((await runBeep(['connect', target, '--profile', ECHO, '--count', '3', '--msg', 'x'])).code).to.equal(2);
    expect((await runBeep(['connect', target, '--profile', ECHO, '--timeout', '0'])).code).to.equal(2);
  });
});
