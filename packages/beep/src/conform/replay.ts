/**
 * Replays one session vector over TCP against a live peer (we play the vector's replayer, the peer the IUT),
 * with a WireJudge watching both directions. Every wait is bounded by the step timeout and the vector's budget.
 */
import net from 'node:net';
import { WireJudge, type Finding } from './judge.js';
import type { SessionStep, SessionVector } from './vectors.js';
import { BeepClosedError } from '../errors.js';

export interface Target {
  host: string;
  port: number;
}

export interface ReplayOptions {
  /** Longest wait for one expectation (ms). */
  stepTimeout: number;
  /** Longest run of one vector (ms). */
  vectorTimeout: number;
  /** How long `expect_nothing` watches for unexpected output (ms). */
  quietMs: number;
}

export interface VectorOutcome {
  id: string;
  status: 'pass' | 'fail';
  /** For a failure: the step, what was expected, and the octets that arrived instead. */
  step?: number;
  expected?: string;
  got?: string;
  findings: Finding[];
  observed: string[];
  ms: number;
}

const SEQ_FRAME = /^SEQ \d+ \d+ \d+\r\n/;

/** A live connection with the bytes received so far and a way to wait for more. */
export class Wire {
  buf: Buffer = Buffer.alloc(0);
  closed = false;
  private wake: (() => void) | undefined;
  readonly judge: WireJudge;

  constructor(
    readonly socket: net.Socket,
    judge?: WireJudge,
  ) {
    this.judge = judge ?? new WireJudge();
    socket.on('data', (d: Buffer) => {
      this.judge.theirs(d);
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.wake?.();
    });
    const end = (): void => {
      this.closed = true;
      this.wake?.();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }

  static connect(target: Target, timeout: number): Promise<Wire> {
    return new Promise((resolve, reject) => {
      const s = net.connect(target.port, target.host);
      s.setNoDelay(true);
      const t = setTimeout(() => {
        s.destroy();
        reject(new BeepClosedError('BEEP_CONNECT_TIMEOUT', `no TCP connection to ${target.host}:${target.port} within ${timeout} ms`));
      }, timeout);
      s.once('connect', () => {
        clearTimeout(t);
        resolve(new Wire(s));
      });
      s.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
  }

  send(bytes: Buffer): void {
    this.judge.ours(bytes);
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Resolves when `done()` holds, the connection closed, or `ms` passed; returns `done()`'s last value. */
  async until(done: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (this.closed) return done();
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return true;
  }

  /**
   * Drop SEQ frames at the head of the unread input (they are judged, but their timing is the peer's choice),
   * except one that is `keep` (the SEQ a step expects).
   */
  skipSeqs(keep?: (seq: string) => boolean): void {
    for (;;) {
      const m = SEQ_FRAME.exec(this.buf.subarray(0, 64).toString('latin1'));
      if (!m || keep?.(m[0])) return;
      this.buf = this.buf.subarray(m[0].length);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

const show = (b: Buffer | string, n = 240): string => (typeof b === 'string' ? b : b.toString('latin1')).slice(0, n);

/**
 * Steps in wire order. Both greetings are sent independently (RFC 3080 §2.3.1.1), so when a vector first expects
 * the peer's greeting and then sends ours, we send ours first: a peer that waits for the initiator's greeting
 * (Vortex) can still be checked on every other rule; F.34 itself is judged by a separate probe.
 */
export function wireOrder(steps: SessionStep[]): SessionStep[] {
  const s = [...steps];
  const [a, b] = s;
  if (a?.expect_match?.startsWith('RPY 0 0 ') && b?.send?.startsWith('RPY 0 0 ')) {
    s[0] = b;
    s[1] = a;
  }
  return s;
}

export async function replayVector(v: SessionVector, target: Target, opts: ReplayOptions): Promise<VectorOutcome> {
  const t0 = Date.now();
  const deadline = t0 + opts.vectorTimeout;
  const budget = (): number => Math.max(0, Math.min(opts.stepTimeout, deadline - Date.now()));
  const wire = await Wire.connect(target, opts.stepTimeout);
  const fail = (i: number, expected: string, got: string): VectorOutcome => ({
    id: v.id,
    status: 'fail',
    step: i,
    expected,
    got,
    findings: wire.judge.findings,
    observed: [...wire.judge.observed],
    ms: Date.now() - t0,
  });
  try {
    const steps = wireOrder(v.steps);
    // After <proceed/> the peer's TLS layer owns the connection: octets that are not TLS may make it hang up.
    let proceeded = false;
    for (const [i, step] of steps.entries()) {
      if (step.send !== undefined) wire.send(Buffer.from(step.send, 'latin1'));
      else if (step.send_base64 !== undefined) wire.send(Buffer.from(step.send_base64, 'base64'));
      else if (step.expect !== undefined) {
        const want = Buffer.from(step.expect, 'latin1');
        const seq = step.expect.startsWith('SEQ ');
        const ok = await wire.until(() => {
          wire.skipSeqs(seq ? (f) => f === step.expect : undefined);
          return wire.buf.length >= want.length || !want.subarray(0, wire.buf.length).equals(wire.buf);
        }, budget());
        const got = wire.buf.subarray(0, want.length);
        if (!ok || !got.equals(want)) return fail(i, show(step.expect), wire.buf.length ? show(wire.buf) : wire.closed ? 'the connection closed' : 'nothing (timeout)');
        wire.buf = wire.buf.subarray(want.length);
      } else if (step.expect_match !== undefined) {
        const re = new RegExp('^(?:' + step.expect_match + ')');
        const seq = step.expect_match.startsWith('SEQ ');
        let m: RegExpExecArray | null = null;
        await wire.until(() => {
          wire.skipSeqs(seq ? (f) => re.test(f) : undefined);
          m = re.exec(wire.buf.toString('latin1'));
          return m !== null;
        }, budget());
        if (m === null) return fail(i, `/${step.expect_match}/`, wire.buf.length ? show(wire.buf) : wire.closed ? 'the connection closed' : 'nothing (timeout)');
        if (step.expect_match.includes('proceed')) proceeded = true;
        wire.buf = wire.buf.subarray(Buffer.byteLength((m as RegExpExecArray)[0], 'latin1'));
      } else if (step.expect_nothing) {
        await wire.until(() => false, Math.min(opts.quietMs, budget()));
        wire.skipSeqs();
        if (wire.buf.length) return fail(i, 'nothing', show(wire.buf));
        if (wire.closed && !proceeded) return fail(i, 'nothing (session still up)', 'the connection closed');
      } else if (step.expect_close !== undefined) {
        const ok = await wire.until(() => wire.closed, budget());
        wire.skipSeqs();
        if (wire.buf.length) return fail(i, 'the session ends without further output', show(wire.buf));
        if (!ok) return fail(i, step.expect_close === null ? 'an orderly close of the connection' : `the session ends (${step.expect_close})`, 'the connection is still open (timeout)');
      } else if (step.wait_ms !== undefined) {
        await wire.until(() => false, Math.min(step.wait_ms, budget()));
      } else {
        return fail(i, 'a step a TCP replayer can run', JSON.stringify(step));
      }
    }
    return { id: v.id, status: 'pass', findings: wire.judge.findings, observed: [...wire.judge.observed], ms: Date.now() - t0 };
  } finally {
    wire.close();
  }
}
