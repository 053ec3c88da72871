import { expect } from 'chai';
import net, { type AddressInfo } from 'node:net';
import { Session, type SessionBinding } from '../../src/session/session.js';
import { bindSession } from '../../src/transport/duplex-binding.js';
import type { ProfileDefinition } from '../../src/session/types.js';
import type { Responder } from '../../src/session/message.js';
import { BeepClosedError, BeepUsageError } from '../../src/errors.js';

/** Two sessions wired back to back in memory (bytes delivered on the next turn). */
/** `n` turns of the event loop: lets every ready callback run, whatever the machine's load (unlike a timer). */
async function turns(n: number): Promise<void> {
  for (let k = 0; k < n; k++) await new Promise((r) => setImmediate(r));
}

function pair(a: ProfileDefinition[], b: ProfileDefinition[], opts: Record<string, unknown> = {}): [Session, Session] {
  const i = new Session({ role: 'initiator', profiles: a, ...opts });
  const l = new Session({ role: 'listener', profiles: b, ...opts });
  const link = (from: Session, to: Session): SessionBinding => ({
    write(chunk) {
      setImmediate(() => to.receive(chunk));
      return true;
    },
    end() {
      setImmediate(() => to.transportClosed());
    },
    destroy() {
      setImmediate(() => to.transportClosed());
    },
  });
  i.attach(link(i, l));
  l.attach(link(l, i));
  return [i, l];
}

describe('session: state machine', function () {
  this.timeout(10000);

  it('keeps replies in MSG order when handlers finish out of order', async () => {
    const held: Responder[] = [];
    const slow: ProfileDefinition = { uri: 'urn:slow', onMessage: (_m, r) => void held.push(r) };
    const [i] = pair([], [slow]);
    await i.ready;
    const ch = await i.startChannel('urn:slow');
    const order: string[] = [];
    const ps = ['a', 'b', 'c'].map((x) => ch.request(x).then((r) => order.push(r.text())));
    while (held.length < 3) await new Promise((r) => setImmediate(r));
    held[2]?.rpy('c');
    held[1]?.rpy('b');
    await turns(20);
    expect(order).to.deep.equal([]);
    held[0]?.rpy('a');
    await Promise.all(ps);
    expect(order).to.deep.equal(['a', 'b', 'c']);
  });

  it('refuses a second final reply and rpy after ans', async () => {
    let err1: unknown;
    let err2: unknown;
    const p: ProfileDefinition = {
      uri: 'urn:p',
      onMessage(_m, r) {
        void r.ans('x');
        try {
          r.rpy('no');
        } catch (e) {
          err1 = e;
        }
        r.nul();
        try {
          r.nul();
        } catch (e) {
          err2 = e;
        }
      },
    };
    const [i] = pair([], [p]);
    const ch = await i.startChannel('urn:p');
    const res = await ch.request('go');
    expect(res.answers?.length).to.equal(1);
    expect(err1).to.be.instanceOf(BeepUsageError);
    expect(err2).to.be.instanceOf(BeepUsageError);
  });

  it('copies a small payload out of a large read instead of keeping the whole read alive', async () => {
    const got: Buffer[] = [];
    const p: ProfileDefinition = { uri: 'urn:keep', onMessage: (m, r) => (got.push(m.raw), r.rpy('ok')) };
    const i = new Session({ role: 'initiator', profiles: [] });
    const l = new Session({ role: 'listener', profiles: [p] });
    // Every write reaches the listener as a view of a 1 MiB read buffer.
    const link = (to: Session, big: boolean): SessionBinding => ({
      write(chunk) {
        const copy = Buffer.from(chunk);
        setImmediate(() => {
          if (!big) return to.receive(copy);
          const read = Buffer.alloc(1 << 20);
          copy.copy(read);
          to.receive(read.subarray(0, copy.length));
        });
        return true;
      },
      end: () => setImmediate(() => to.transportClosed()),
      destroy: () => setImmediate(() => to.transportClosed()),
    });
    i.attach(link(l, true));
    l.attach(link(i, false));
    const ch = await i.startChannel('urn:keep');
    await ch.request('hello');
    expect(got).to.have.length(1);
    expect(got[0]!.toString()).to.equal('\r\nhello');
    expect(got[0]!.buffer.byteLength, 'bytes kept alive by the payload').to.be.below(64 * 1024);
  });

  it('a handler that throws yields ERR 451', async () => {
    const p: ProfileDefinition = {
      uri: 'urn:p',
      onMessage() {
        throw new Error('boom');
      },
    };
    const [i] = pair([], [p]);
    const ch = await i.startChannel('urn:p');
    const e = await ch.request('x').catch((x: unknown) => x);
    expect((e as { replyCode: number }).replyCode).to.equal(451);
  });

  it('request honours AbortSignal', async () => {
    const p: ProfileDefinition = { uri: 'urn:p', onMessage: () => undefined };
    const [i] = pair([], [p]);
    const ch = await i.startChannel('urn:p');
    const ac = new AbortController();
    const pr = ch.request('x', { signal: ac.signal });
    ac.abort();
    const e = await pr.catch((x: unknown) => x);
    expect((e as Error).name).to.equal('AbortError');
  });

  it('ans() applies back-pressure when the reader is slow', async () => {
    let produced = 0;
    const p: ProfileDefinition = {
      uri: 'urn:p',
      async onMessage(_m, r) {
        for (let k = 0; k < 200; k++) {
          await r.ans(Buffer.alloc(4000));
          produced++;
        }
        r.nul();
      },
    };
    const [i] = pair([], [p], { receiveWindow: 16384 });
    const ch = await i.startChannel('urn:p');
    const it = ch.requestMany('go');
    const first = await it.next();
    expect(first.done).to.equal(false);
    await turns(100); // the producer goes on until the window is full, then waits
    expect(produced).to.be.lessThan(40);
    let n = 1;
    for (;;) {
      const x = await it.next();
      if (x.done) break;
      n++;
    }
    expect(n).to.equal(200);
    expect(produced).to.equal(200);
  });

  it('records a typed close reason on garbage and refuses use afterwards', async () => {
    const s = new Session({ role: 'listener' });
    const out: Buffer[] = [];
    s.attach({ write: (c) => (out.push(c), true), end: () => undefined, destroy: () => undefined });
    const reasons: unknown[] = [];
    s.on('close', (r) => reasons.push(r));
    s.receive(Buffer.from('HELLO\r\n'));
    expect(s.closed).to.equal(true);
    expect((s.closeReason as unknown as { code: string }).code).to.equal('BEEP_BAD_KEYWORD');
    expect(reasons).to.have.length(1);
    const e = await s.startChannel('urn:x').catch((x: unknown) => x);
    expect(e).to.be.instanceOf(BeepClosedError);
  });

  it('greeting timeout terminates', async () => {
    const s = new Session({ role: 'initiator', greetingTimeout: 30 });
    s.attach({ write: () => true, end: () => undefined, destroy: () => undefined });
    const e = await s.ready.catch((x: unknown) => x);
    expect((e as { code: string }).code).to.equal('BEEP_GREETING_TIMEOUT');
  });

  it('tuning reset: quiet reply, stream swap, new greetings with a new profile set', async () => {
    const TUNE = 'urn:test:tune';
    const ECHO = 'urn:test:echo';
    const echo: ProfileDefinition = { uri: ECHO, onMessage: (m, r) => r.rpy(m.payload) };
    let serverTuned: Promise<unknown> | undefined;
    const tune: ProfileDefinition = {
      uri: TUNE,
      onStart: (info) => ({
        content: '<proceed />',
        quiet: true,
        onSent: () => {
          serverTuned = info.session.tune({ profiles: [echo], wrap: (old) => old });
        },
      }),
    };
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    let listenerSession: Session | undefined;
    server.on('connection', (sock) => {
      listenerSession = new Session({ role: 'listener', profiles: [tune] });
      bindSession(listenerSession, sock);
    });
    const sock = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const s = new Session({ role: 'initiator' });
    bindSession(s, sock);
    try {
      const g = await s.ready;
      expect(g.profiles).to.deep.equal([TUNE]);
      const ch = await s.startChannel(TUNE, { content: '<ready />', tuning: true });
      expect(ch.startReplyContent?.toString()).to.equal('<proceed />');
      const g2 = await s.tune({ wrap: (old) => old });
      expect(g2.profiles).to.deep.equal([ECHO]);
      expect(ch.isOpen).to.equal(false);
      await serverTuned;
      const ch2 = await s.startChannel(ECHO);
      expect(ch2.number).to.equal(1);
      expect((await ch2.request('after tuning')).text()).to.equal('after tuning');
      expect(listenerSession?.peerGreeting?.profiles).to.deep.equal([]);
    } finally {
      s.destroy();
      listenerSession?.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});
