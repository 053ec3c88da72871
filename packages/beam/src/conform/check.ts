/**
 * `beam conform redis://HOST:PORT`: replays test-vectors/beam/job-transcripts.json against a live Beam server and
 * probes what the vectors cannot script (SYNC, the reserved /beam keys). One verdict per BEAM.* rule of
 * test-vectors/rules.json. Every command has a deadline, and BLPOP ... 0 is bounded by it, so a server that
 * never answers cannot hang the check.
 */
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BeamClient } from '../client/beam-client.js';
import type { RawReply } from '../client/connection.js';
import { BeamConnectionError, BeamReplyError } from '../client/errors.js';
import { resolveTarget } from '../client/target.js';

export type Json = null | number | string | boolean | Json[] | { [k: string]: Json };

/** A step of test-vectors/beam/job-transcripts.json (test-vectors/README.md, Beam job transcripts). */
export interface Step {
  send: string[];
  reply?: Json;
  reply_type?: 'integer';
  reply_error?: string;
  reply_match?: string;
  bind?: string;
}

export interface Vector {
  id: string;
  rule: string;
  description: string;
  options: Record<string, unknown>;
  steps: Step[];
}

export interface Rule {
  id: string;
  force: 'MUST' | 'SHOULD' | 'MAY';
  statement: string;
}

export interface Evidence {
  source: string;
  verdict: 'PASS' | 'FAIL' | 'N/A';
  detail?: string;
}

export interface RuleVerdict {
  id: string;
  force: Rule['force'];
  statement: string;
  verdict: 'PASS' | 'FAIL' | 'N/A';
  evidence: Evidence[];
}

export interface BeamCheckOptions {
  url: string;
  vectorsDir: string;
  /** Longest wait for one reply (ms). */
  timeout: number;
}

export function defaultVectorsDir(): string {
  return fileURLToPath(new URL('../../../../../test-vectors/', import.meta.url));
}

const decode = (r: RawReply | string): Json => (Buffer.isBuffer(r) ? r.toString('latin1') : Array.isArray(r) ? r.map(decode) : (r as Json));
const substitute = (s: string, vars: Map<string, string>): string => s.replace(/\{\{(\w+)\}\}/g, (m, n: string) => vars.get(n) ?? m);

/** Why `actual` does not match `expected` (test-vectors/README.md, Beam job transcripts), or undefined. */
function mismatch(expected: Json, actual: Json, vars: Map<string, string>): string | undefined {
  if (typeof expected === 'string') return actual === substitute(expected, vars) ? undefined : `${JSON.stringify(actual)} is not ${JSON.stringify(substitute(expected, vars))}`;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return `${JSON.stringify(actual)} is not an array of ${expected.length}`;
    for (const [i, e] of expected.entries()) {
      const m = mismatch(e, actual[i] as Json, vars);
      if (m) return m;
    }
    return undefined;
  }
  if (expected !== null && typeof expected === 'object' && 'match' in expected) {
    return typeof actual === 'string' && new RegExp(substitute(String(expected['match']), vars)).test(actual) ? undefined : `${JSON.stringify(actual)} does not match /${String(expected['match'])}/`;
  }
  if (expected !== null && typeof expected === 'object' && 'status' in expected) {
    return actual === expected['status'] ? undefined : `${JSON.stringify(actual)} is not +${String(expected['status'])}`;
  }
  return JSON.stringify(actual) === JSON.stringify(expected) ? undefined : `${JSON.stringify(actual)} is not ${JSON.stringify(expected)}`;
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new BeamConnectionError(`no reply to ${what} within ${ms} ms`, 'BEAM_TIMEOUT')), ms);
    }),
  ]);
}

async function replay(v: Vector, o: BeamCheckOptions): Promise<string | undefined> {
  const client = new BeamClient({ url: o.url });
  await withDeadline(client.connect(), o.timeout, 'connect');
  const vars = new Map<string, string>();
  try {
    for (const [i, step] of v.steps.entries()) {
      let argv = step.send.map((a) => substitute(a, vars));
      // A blocking pop waits at most the timeout (whole seconds), never forever.
      if (/^b[lr]pop$/i.test(argv[0] ?? '') && argv[argv.length - 1] === '0') argv = [...argv.slice(0, -1), String(Math.max(1, Math.ceil(o.timeout / 1000)))];
      const where = `step ${i} (${argv.join(' ').slice(0, 80)})`;
      let actual: Json;
      try {
        actual = decode(await withDeadline(client.callBuffer(...argv), o.timeout + 1000, argv[0] ?? 'command'));
      } catch (e) {
        if (!(e instanceof BeamReplyError)) return `${where}: ${(e as Error).message}`;
        actual = { error: e.message };
      }
      const isError = actual !== null && typeof actual === 'object' && !Array.isArray(actual) && 'error' in actual;
      if (step.reply_error !== undefined) {
        if (!isError || !new RegExp(substitute(step.reply_error, vars)).test(String((actual as { error: Json }).error))) return `${where}: expected -ERR /${step.reply_error}/, got ${JSON.stringify(actual)}`;
      } else {
        if (isError) return `${where}: unexpected ${JSON.stringify(actual)}`;
        if (step.reply_type === 'integer' && typeof actual !== 'number') return `${where}: expected an integer, got ${JSON.stringify(actual)}`;
        if (step.reply !== undefined) {
          const m = mismatch(step.reply, actual, vars);
          if (m) return `${where}: ${m}`;
        }
        if (step.reply_match !== undefined && !(typeof actual === 'string' && new RegExp(substitute(step.reply_match, vars)).test(actual))) return `${where}: ${JSON.stringify(actual)} does not match /${step.reply_match}/`;
      }
      if (step.bind) vars.set(step.bind, String((actual as number) - 1));
    }
    return undefined;
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** SYNC on a fresh connection: a full resynchronisation, i.e. `$<len>` then an RDB file starting with REDIS. */
function syncProbe(o: BeamCheckOptions): Promise<string | undefined> {
  const t = resolveTarget({ url: o.url });
  return new Promise((resolve) => {
    const s = t.kind === 'tcp' ? net.connect(t.port, t.host) : net.connect(t.path);
    let buf = Buffer.alloc(0);
    const done = (r: string | undefined): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done(`no RDB payload within ${o.timeout} ms (got ${JSON.stringify(buf.toString('latin1').slice(0, 60))})`), o.timeout);
    s.on('connect', () => s.write(t.password !== undefined ? `AUTH ${t.password}\r\nSYNC\r\n` : 'SYNC\r\n'));
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const text = buf.toString('latin1').replace(/^\+OK\r\n/, '').replace(/^(?:\r?\n)+/, '');
      if (text.startsWith('-')) return done(`SYNC refused: ${text.split('\r\n')[0]}`);
      const m = /^\$(\d+)\r\n/.exec(text);
      if (m && text.length >= m[0].length + 5) done(text.slice(m[0].length, m[0].length + 5) === 'REDIS' ? undefined : 'the SYNC payload is not an RDB file');
    });
    s.on('error', (e) => done(`SYNC: ${e.message}`));
  });
}

/** Writes under /beam are refused with -ERR and change nothing. */
async function reservedProbe(o: BeamCheckOptions): Promise<string | undefined> {
  const client = new BeamClient({ url: o.url });
  await withDeadline(client.connect(), o.timeout, 'connect');
  try {
    const key = `/beam/conform-${process.pid}`;
    for (const argv of [['SET', key, 'x'], ['RPUSH', key, 'x'], ['DEL', '/beam/handlers']]) {
      try {
        const r = await withDeadline(client.callBuffer(...argv), o.timeout, argv[0] as string);
        if (argv[0] !== 'DEL' || r !== 0) return `${argv.join(' ')} was accepted (${JSON.stringify(decode(r))}); keys under /beam are reserved`;
      } catch (e) {
        if (!(e instanceof BeamReplyError)) return (e as Error).message;
      }
    }
    const left = decode(await withDeadline(client.callBuffer('EXISTS', key), o.timeout, 'EXISTS'));
    return left === 0 ? undefined : `${key} exists after the refused writes`;
  } finally {
    await client.close().catch(() => undefined);
  }
}

export async function checkBeam(o: BeamCheckOptions): Promise<RuleVerdict[]> {
  const rules = (JSON.parse(readFileSync(join(o.vectorsDir, 'rules.json'), 'utf8')) as { rules: Rule[] }).rules.filter((r) => r.id.startsWith('BEAM.'));
  const vectors = (JSON.parse(readFileSync(join(o.vectorsDir, 'beam', 'job-transcripts.json'), 'utf8')) as { vectors: Vector[] }).vectors;
  const ev = new Map<string, Evidence[]>();
  const add = (rule: string, e: Evidence): void => void ev.set(rule, [...(ev.get(rule) ?? []), e]);
  for (const v of vectors) {
    // The job engine's defaults: no exec allow-list. Anything else needs a server started with it.
    const needsConfig = Object.entries(v.options).some(([k, val]) => !(k === 'exec' && Array.isArray(val) && val.length === 0));
    if (needsConfig) {
      add(v.rule, { source: v.id, verdict: 'N/A', detail: `needs the server's job engine configured with ${JSON.stringify(v.options)}` });
      continue;
    }
    let failure: string | undefined;
    try {
      failure = await replay(v, o);
    } catch (e) {
      failure = (e as Error).message;
    }
    add(v.rule, failure === undefined ? { source: v.id, verdict: 'PASS' } : { source: v.id, verdict: 'FAIL', detail: failure });
  }
  const reserved = await reservedProbe(o).catch((e: Error) => e.message);
  add('BEAM.err', reserved === undefined ? { source: 'reserved-keys-probe', verdict: 'PASS' } : { source: 'reserved-keys-probe', verdict: 'FAIL', detail: reserved });
  const sync = await syncProbe(o);
  add('BEAM.sync', sync === undefined ? { source: 'sync-probe', verdict: 'PASS' } : { source: 'sync-probe', verdict: 'FAIL', detail: sync });
  return rules.map((r) => {
    const list = ev.get(r.id) ?? [];
    const verdict = list.some((e) => e.verdict === 'FAIL') ? 'FAIL' : list.some((e) => e.verdict === 'PASS') ? 'PASS' : 'N/A';
    return { id: r.id, force: r.force, statement: r.statement, verdict, evidence: list };
  });
}

export function formatBeamReport(verdicts: readonly RuleVerdict[]): string {
  const lines: string[] = [];
  for (const v of verdicts) {
    const na = v.evidence.find((e) => e.verdict === 'N/A')?.detail;
    lines.push(`${v.verdict.padEnd(4)} ${v.id.padEnd(13)} ${v.force.padEnd(6)} ${v.statement}${v.verdict === 'N/A' ? ` (${na ?? 'no applicable check'})` : ''}`);
    for (const e of v.evidence.filter((x) => x.verdict === 'FAIL')) lines.push(`       ${e.source}: ${e.detail ?? ''}`);
  }
  const n = (x: string): number => verdicts.filter((v) => v.verdict === x).length;
  lines.push(`\n${n('PASS')} PASS, ${n('FAIL')} FAIL, ${n('N/A')} N/A`);
  return lines.join('\n') + '\n';
}

export const beamExitStatus = (verdicts: readonly RuleVerdict[]): number => (verdicts.some((v) => v.verdict === 'FAIL' && v.force === 'MUST') ? 1 : 0);
