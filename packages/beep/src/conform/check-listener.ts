/**
 * `beep conform HOST:PORT`: we play the initiator against a live listener. A greeting probe (F.34, and the
 * profiles the peer offers), then every applicable session vector, then the optional ANS probe; each rule gets
 * PASS, FAIL (with the octets that prove it) or N/A.
 */
import { parseEntity } from '../wire/mime.js';
import { parseChannel0 } from '../wire/xml/channel0.js';
import { FrameParser } from '../wire/frame-parser.js';
import type { DataFrame } from '../wire/frame.js';
import { malformedFrameVectors, probeFrame, type FrameVector, type ProbeOutcome } from './frame-probes.js';
import { renameProfiles } from './rename.js';
import { scaleWindow, windowBound } from './scale-window.js';
import { replayVector, Wire, wireOrder, type ReplayOptions, type Target, type VectorOutcome } from './replay.js';
import { Tally, type RuleReport } from './report.js';
import { loadRules, loadSessionVectors, needsOf, rulesOf, TEST_PROFILE_PREFIX, type SessionVector } from './vectors.js';

export interface ListenerCheckOptions extends ReplayOptions {
  target: Target;
  vectorsDir: string;
  /** The peer's profiles that play the test roles (default: the beamgate test profile, when the peer offers it). */
  echo?: string;
  ans?: string;
  hold?: string;
  /** The --echo profile returns piggybacked start content in its <profile> reply. */
  echoContent?: boolean;
  /** A one-to-many probe: start `uri`, send `body`, judge the ANS ... NUL that comes back. */
  ansProbe?: { uri: string; body: string };
  /** The peer offers TLS (any certificate): run the TLS vectors. */
  tls?: boolean;
  /** The peer accepts these SASL credentials (`user:password`), PLAIN allowed in the clear: run the SASL vectors. */
  sasl?: string;
  /** The peer accepts SASL ANONYMOUS. */
  saslAnonymous?: boolean;
  /** Also run vectors pinned to this implementation's exact output (`iut` field). */
  iut?: string;
  /** Vectors run at once (each on its own connection). */
  concurrency: number;
  /** Only vectors of these rules. */
  only?: string[];
  onVector?: (v: SessionVector, o: VectorOutcome | { id: string; status: 'n/a'; reason: string }) => void;
  onFrameProbe?: (p: ProbeOutcome) => void;
}

export interface CheckResult {
  reports: RuleReport[];
  outcomes: (VectorOutcome | { id: string; status: 'n/a'; reason: string })[];
  greeting?: { profiles: string[] };
}

/** Option values a live peer is assumed to run with; a vector needing others is N/A. */
const DEFAULT_OPTIONS: Record<string, unknown> = { receiveWindow: 4096, strict: false };

function securityKey(o: unknown): string {
  return JSON.stringify(o);
}


/** Why a vector cannot run against this peer, or undefined when it can. */
function notApplicable(
  v: SessionVector,
  o: ListenerCheckOptions,
  offered: ReadonlySet<string>,
  greetsFirst: boolean,
): string | undefined {
  if (v.role !== 'listener') return 'plays the listener role (beep conform --listen)';
  const steps = wireOrder(v.steps);
  const theirGreeting = steps.findIndex((s) => s.expect_match?.startsWith('RPY 0 0 ') === true);
  const oursDone = steps.findIndex((s) => /(?:^|END\r\n)RPY 0 0 \. /.test(s.send ?? ''));
  if (!greetsFirst && theirGreeting >= 0 && !(oursDone >= 0 && oursDone < theirGreeting)) {
    return 'needs a listener that greets first (this one waits for ours, see F.34)';
  }
  if (v.iut !== undefined && v.iut !== o.iut) return `pins ${v.iut}'s own output`;
  for (const [k, val] of Object.entries(v.options ?? {})) {
    if (k === 'security' || k === 'receiveWindow') continue;
    if (!(k in DEFAULT_OPTIONS) || DEFAULT_OPTIONS[k] !== val) return `needs the peer configured with ${k}=${JSON.stringify(val)}`;
  }
  const needs = needsOf(v);
  if (needs.includes('script')) return 'needs a scripted initiator';
  for (const p of ['echo', 'ans', 'hold'] as const) {
    if (needs.includes(p) && !offered.has(p)) return `needs an ${p} profile (--${p} URI)`;
  }
  if (needs.includes('echo-content') && !offered.has('echo-content')) return 'needs an echo profile that returns start content (--echo-content)';
  const sec = v.options?.['security'];
  if (sec !== undefined) {
    const plainSasl = securityKey({ sasl: { users: [o.sasl], allowCleartext: true } });
    const anon = securityKey({ sasl: { users: [], allowAnonymous: true } });
    const tls = securityKey({ tls: { selfSigned: true } });
    const k = securityKey(sec);
    if (k === tls && o.tls) return undefined;
    if (k === plainSasl && o.sasl !== undefined) return undefined;
    if (k === anon && o.saslAnonymous) return undefined;
    return `needs the peer's security configured as ${k}`;
  }
  if (needs.includes('tls') || needs.includes('sasl')) return 'needs TLS/SASL (--tls, --sasl)';
  return undefined;
}

/**
 * A vector bound to the IUT's receive window, fitted to the window the peer announced (see scale-window.ts), or
 * why it cannot be.
 */
function fitWindow(v: SessionVector, peerWindow: number): SessionVector | string {
  const assumed = (v.options?.['receiveWindow'] as number | undefined) ?? 4096;
  if (!windowBound(v) || assumed === peerWindow) return v;
  return scaleWindow(v, assumed, peerWindow) ?? `assumes a ${assumed}-octet receive window and cannot be scaled to the ${peerWindow} octets the peer announced`;
}

/** Connect, withhold our greeting, and wait for the peer's (RFC 3080 §2.3.1.1: sent at once, independently). */
async function greetingProbe(o: ListenerCheckOptions, tally: Tally): Promise<{ profiles: string[] | undefined; first: boolean }> {
  const wire = await Wire.connect(o.target, o.stepTimeout);
  let greeting: DataFrame | undefined;
  const parser = new FrameParser({
    onFrame: (f) => {
      if (greeting === undefined && f.type !== 'SEQ') greeting = f;
    },
  });
  let seen = 0;
  const pump = (): void => {
    if (wire.buf.length > seen) {
      try {
        parser.push(wire.buf.subarray(seen));
      } catch {
        // judged by the WireJudge
      }
      seen = wire.buf.length;
    }
  };
  try {
    const first = await wire.until(() => (pump(), greeting !== undefined), o.stepTimeout);
    const result = (profiles: string[] | undefined): { profiles: string[] | undefined; first: boolean } => ({ profiles, first });
    if (first) tally.add('F.34', { source: 'greeting-probe', verdict: 'PASS' });
    else {
      tally.add('F.34', {
        source: 'greeting-probe',
        verdict: 'FAIL',
        detail: `no greeting within ${o.stepTimeout} ms while we withheld ours: the peer waits for the initiator's greeting`,
        bytes: wire.buf.toString('latin1'),
      });
      wire.send(Buffer.from('RPY 0 0 . 0 50\r\nContent-Type: application/beep+xml\r\n\r\n<greeting />END\r\n', 'latin1'));
      await wire.until(() => (pump(), greeting !== undefined), o.stepTimeout);
    }
    tally.addFindings('greeting-probe', wire.judge.findings);
    if (greeting === undefined) return result(undefined);
    try {
      const m = parseChannel0(parseEntity(greeting.payload).body, { expect: 'rpy' });
      return result(m.type === 'greeting' ? m.profiles : undefined);
    } catch {
      return result(undefined);
    }
  } finally {
    wire.close();
  }
}

/** Start `uri`, send `body`, read the reply to its end (NUL, RPY or ERR); the judge does the checking. */
async function ansProbe(o: ListenerCheckOptions, probe: { uri: string; body: string }, tally: Tally): Promise<void> {
  const wire = await Wire.connect(o.target, o.stepTimeout);
  try {
    const greet = 'Content-Type: application/beep+xml\r\n\r\n<greeting />';
    wire.send(Buffer.from(`RPY 0 0 . 0 ${greet.length}\r\n${greet}END\r\n`, 'latin1'));
    const start = `Content-Type: application/beep+xml\r\n\r\n<start number='1'><profile uri='${probe.uri.replace(/'/g, '&apos;')}'/></start>`;
    const startLen = Buffer.byteLength(start);
    wire.send(Buffer.from(`MSG 0 1 . ${greet.length} ${startLen}\r\n${start}END\r\n`, 'latin1'));
    const started = await wire.until(() => /RPY 0 1 \. \d+ \d+\r\n[\s\S]*?<profile/.test(wire.buf.toString('latin1')), o.stepTimeout);
    if (!started) {
      tally.add('C.16', { source: 'ans-probe', verdict: 'N/A', detail: `the start of ${probe.uri} was not accepted` });
      return;
    }
    const body = `\r\n${probe.body}`;
    wire.send(Buffer.from(`MSG 1 0 . 0 ${Buffer.byteLength(body, 'latin1')}\r\n${body}END\r\n`, 'latin1'));
    const done = /(?:^|\n)(?:NUL 1 0 \. \d+ \d+\r\n[\s\S]*?END\r\n|(?:RPY|ERR) 1 0 \. \d+ \d+\r\n)/;
    // The peer's ANS frames may need more window: acknowledge what arrived, as a reader would.
    let acked = 0;
    const ok = await wire.until(() => {
      const text = wire.buf.toString('latin1');
      const frames = [...text.matchAll(/ANS 1 0 [.*] (\d+) (\d+) \d+\r\n/g)];
      const last = frames[frames.length - 1];
      if (last) {
        const end = Number(last[1]) + Number(last[2]);
        if (end - acked >= 2048) {
          wire.send(Buffer.from(`SEQ 1 ${end} 4096\r\n`, 'latin1'));
          acked = end;
        }
      }
      return done.test(text);
    }, o.vectorTimeout);
    if (!ok) tally.add('C.16', { source: 'ans-probe', verdict: 'FAIL', detail: 'the one-to-many reply did not end with NUL', bytes: wire.buf.subarray(-200).toString('latin1') });
    tally.addFindings('ans-probe', wire.judge.findings);
    for (const r of wire.judge.observed) tally.add(r, { source: 'ans-probe', verdict: 'PASS' });
  } finally {
    wire.close();
  }
}

/**
 * Start a channel of `uri` and see which receive window the peer announces for it (RFC 3081 §3.1.5: a window
 * other than 4096 is advertised with a SEQ at once). Returns 4096 when no SEQ comes.
 */
async function windowProbe(o: ListenerCheckOptions, uri: string, tally: Tally): Promise<number> {
  const wire = await Wire.connect(o.target, o.stepTimeout);
  try {
    const greet = 'Content-Type: application/beep+xml\r\n\r\n<greeting />';
    wire.send(Buffer.from(`RPY 0 0 . 0 ${greet.length}\r\n${greet}END\r\n`, 'latin1'));
    const start = `Content-Type: application/beep+xml\r\n\r\n<start number='1'><profile uri='${uri.replace(/'/g, '&apos;')}'/></start>`;
    wire.send(Buffer.from(`MSG 0 1 . ${greet.length} ${Buffer.byteLength(start)}\r\n${start}END\r\n`, 'latin1'));
    const started = await wire.until(() => /RPY 0 1 \. \d+ \d+\r\n[\s\S]*?END\r\n/.test(wire.buf.toString('latin1')), o.stepTimeout);
    if (!started) return 4096;
    await wire.until(() => /SEQ 1 0 \d+\r\n/.test(wire.buf.toString('latin1')), o.quietMs);
    const m = /SEQ 1 0 (\d+)\r\n/.exec(wire.buf.toString('latin1'));
    if (m && Number(m[1]) !== 4096) tally.add('E.31', { source: 'window-probe', verdict: 'PASS' });
    return m ? Number(m[1]) : 4096;
  } finally {
    wire.close();
  }
}

export async function checkListener(o: ListenerCheckOptions): Promise<CheckResult> {
  const rules = loadRules(o.vectorsDir);
  const tally = new Tally();
  const probe = await greetingProbe(o, tally);
  const peerProfiles = probe.profiles;
  const offeredUris = new Set(peerProfiles ?? []);
  const roles = new Map<string, string>();
  for (const name of ['echo', 'ans', 'hold'] as const) {
    const uri = o[name] ?? TEST_PROFILE_PREFIX + name;
    if (o[name] !== undefined || offeredUris.has(uri)) roles.set(name, uri);
  }
  const offered = new Set<string>(roles.keys());
  // beamgate's echo profile returns piggybacked start content; another echo profile only when the user says so.
  if (o.echoContent || (roles.has('echo') && o.echo === undefined)) offered.add('echo-content');
  // The window each test profile's channel announces: a vector is fitted to the one of the channel it uses.
  const windows = new Map<string, number>();
  for (const name of ['echo', 'hold'] as const) {
    const uri = roles.get(name);
    if (uri !== undefined) windows.set(name, await windowProbe(o, uri, tally));
  }
  const windowFor = (v: SessionVector): number => windows.get(needsOf(v).includes('hold') ? 'hold' : 'echo') ?? 4096;
  if (o.ansProbe !== undefined) await ansProbe(o, o.ansProbe, tally);

  const vectors = loadSessionVectors(o.vectorsDir).filter((v) => o.only === undefined || rulesOf(v).some((r) => o.only?.includes(r)));
  const outcomes: CheckResult['outcomes'] = [];
  const frames = malformedFrameVectors(o.vectorsDir).filter((v) => o.only === undefined || o.only.includes(v.rule));
  const queue: (SessionVector | FrameVector)[] = [...frames, ...vectors];
  const worker = async (): Promise<void> => {
    for (let v = queue.shift(); v !== undefined; v = queue.shift()) {
      if (!('steps' in v)) {
        let p: ProbeOutcome;
        try {
          p = await probeFrame(v, o.target, o.stepTimeout);
        } catch (e) {
          p = { id: v.id, rule: v.rule, status: 'fail', detail: (e as Error).message };
        }
        tally.add(p.rule, { source: `frames.json ${v.id}`, verdict: p.status === 'pass' ? 'PASS' : 'FAIL', ...(p.detail ? { detail: p.detail } : {}), ...(p.bytes !== undefined ? { bytes: p.bytes } : {}) });
        o.onFrameProbe?.(p);
        continue;
      }
      const reason = notApplicable(v, o, offered, probe.first);
      const fitted = reason === undefined ? fitWindow(v, windowFor(v)) : undefined;
      const renamed = fitted !== undefined && typeof fitted !== 'string' ? renameProfiles(fitted, roles) : undefined;
      if (reason !== undefined || renamed === undefined) {
        const r = reason ?? (typeof fitted === 'string' ? fitted : 'its exact expected octets name the test profile');
        for (const rule of rulesOf(v)) tally.add(rule, { source: v.id, verdict: 'N/A', detail: r });
        const na = { id: v.id, status: 'n/a' as const, reason: r };
        outcomes.push(na);
        o.onVector?.(v, na);
        continue;
      }
      let out: VectorOutcome;
      try {
        out = await replayVector(renamed, o.target, o);
      } catch (e) {
        out = { id: v.id, status: 'fail', step: 0, expected: 'a TCP connection', got: (e as Error).message, findings: [], observed: [], ms: 0 };
      }
      outcomes.push(out);
      o.onVector?.(v, out);
      for (const r of out.observed) tally.add(r, { source: v.id, verdict: 'PASS' });
      tally.addFindings(v.id, out.findings);
      if (out.status === 'pass') for (const r of rulesOf(v)) tally.add(r, { source: v.id, verdict: 'PASS' });
      else if (out.findings.length === 0) {
        tally.add(v.rule, { source: v.id, verdict: 'FAIL', detail: `${v.description}: step ${out.step} expected ${JSON.stringify(out.expected)}`, bytes: out.got ?? '' });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
  return { reports: tally.report(rules.filter((r) => /^[A-K]\./.test(r.id))), outcomes, ...(peerProfiles ? { greeting: { profiles: peerProfiles } } : {}) };
}
