/**
 * `beep conform --listen PORT`: we play the listener (our own Session, serving the test profiles) and judge the
 * initiator that connects: whether it greets without waiting for us (our greeting is held back until it has sent
 * its own, or until the step timeout), the channel numbers it starts, its seqnos, windows, SEQs, replies and
 * channel-0 XML (WireJudge), and any rule our Session had to end the session for.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { listenOn } from '../api/connect.js';
import type { Session } from '../session/session.js';
import { testProfiles } from '../testing/test-profiles.js';
import { ruleForCode } from './error-rules.js';
import { WireJudge } from './judge.js';
import { Tally, type RuleReport } from './report.js';
import { loadRules } from './vectors.js';

export interface InitiatorCheckOptions {
  host: string;
  port: number;
  /** Report after this many sessions ended. */
  sessions: number;
  /** Report after this long even if fewer sessions came. */
  waitMs: number;
  stepTimeout: number;
  vectorsDir: string;
  /** Called once listening, with the bound port. */
  onListening?: (port: number) => void;
}

/** Hold back what we write until the peer has sent something (its greeting) or `ms` passed. */
function holdWrites(sock: Duplex, ms: number, onRelease: (peerFirst: boolean) => void): void {
  const write = sock.write;
  const held: unknown[][] = [];
  let holding = true;
  const release = (peerFirst: boolean): void => {
    if (!holding) return;
    holding = false;
    clearTimeout(timer);
    sock.write = write;
    onRelease(peerFirst);
    for (const args of held) (write as (...a: unknown[]) => boolean).apply(sock, args);
  };
  const timer = setTimeout(() => release(false), ms);
  sock.once('data', () => release(true));
  sock.once('close', () => clearTimeout(timer));
  sock.write = function (this: Duplex, ...args: unknown[]): boolean {
    if (!holding) return (write as (...a: unknown[]) => boolean).apply(this, args);
    held.push(args);
    return true;
  } as Duplex['write'];
}

function tapJudge(sock: Duplex, judge: WireJudge, last: { chunk: Buffer }): void {
  sock.on('data', (d: Buffer) => {
    last.chunk = d;
    judge.theirs(d);
  });
  const write = sock.write;
  sock.write = function (this: Duplex, chunk: unknown, ...rest: unknown[]): boolean {
    if (Buffer.isBuffer(chunk)) judge.ours(chunk);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as Duplex['write'];
}

export async function judgeInitiators(o: InitiatorCheckOptions): Promise<{ reports: RuleReport[]; sessions: number }> {
  const rules = loadRules(o.vectorsDir);
  const tally = new Tally();
  const server = net.createServer();
  let n = 0;
  let ended = 0;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const perSocket = new Map<net.Socket, { judge: WireJudge; last: { chunk: Buffer }; id: string }>();
  server.on('connection', (sock: net.Socket) => {
    const id = `session-${++n}`;
    const judge = new WireJudge({ peerRole: 'initiator' });
    const last = { chunk: Buffer.alloc(0) };
    perSocket.set(sock, { judge, last, id });
    tapJudge(sock, judge, last);
    holdWrites(sock, o.stepTimeout, (peerFirst) =>
      tally.add(
        'F.34',
        peerFirst
          ? { source: id, verdict: 'PASS' }
          : { source: id, verdict: 'FAIL', detail: `the initiator sent nothing for ${o.stepTimeout} ms while we withheld our greeting`, bytes: '' },
      ),
    );
    sock.once('close', () => {
      tally.addFindings(id, judge.findings);
      for (const r of judge.observed) tally.add(r, { source: id, verdict: 'PASS' });
      if (++ended >= o.sessions) finish();
    });
  });
  const listener = listenOn(server, { profiles: testProfiles(), receiveWindow: 4096 });
  listener.on('session', (session: Session) => {
    const sock = [...perSocket.keys()].at(-1);
    const ctx = sock ? perSocket.get(sock) : undefined;
    session.once('close', (reason?: Error) => {
      const code = (reason as { code?: string } | undefined)?.code;
      const rule = code ? ruleForCode(code) : undefined;
      if (rule) tally.add(rule, { source: ctx?.id ?? 'session', verdict: 'FAIL', detail: `our listener ended the session: ${code}: ${reason?.message}`, bytes: ctx?.last.chunk.toString('latin1').slice(0, 200) ?? '' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address() as net.AddressInfo;
  o.onListening?.(addr.port);
  const timer = setTimeout(finish, o.waitMs);
  await done;
  clearTimeout(timer);
  await listener.close(500).catch(() => undefined);
  return { reports: tally.report(rules.filter((r) => /^[A-K]\./.test(r.id))), sessions: ended };
}
