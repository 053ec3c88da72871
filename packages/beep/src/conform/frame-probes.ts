/**
 * Malformed-frame probes: the frame vectors (test-vectors/beep/frames.json) whose very first frame is refused
 * are sent to a live peer right after the greetings; the peer must end the session (RFC 3080 §2.2.1: a frame
 * that breaks the syntax is a protocol violation). Vectors that need parser options, stop inside a frame
 * (BEEP_TRUNCATED) or hit a local limit (BEEP_FRAME_TOO_LARGE) are left out.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Wire, type Target } from './replay.js';

export interface FrameVector {
  id: string;
  rule: string;
  description: string;
  input?: string;
  input_b64?: string;
  options?: unknown;
  expect: { frames: unknown[]; error?: string };
}

export interface ProbeOutcome {
  id: string;
  rule: string;
  status: 'pass' | 'fail';
  detail?: string;
  bytes?: string;
}

const SKIPPED_ERRORS = new Set(['BEEP_TRUNCATED', 'BEEP_FRAME_TOO_LARGE']);

export function malformedFrameVectors(dir: string): FrameVector[] {
  const doc = JSON.parse(readFileSync(join(dir, 'beep', 'frames.json'), 'utf8')) as { vectors: FrameVector[] };
  return doc.vectors.filter(
    (v) => v.expect.error !== undefined && !SKIPPED_ERRORS.has(v.expect.error) && v.expect.frames.length === 0 && v.options === undefined,
  );
}

const GREETING = 'Content-Type: application/beep+xml\r\n\r\n<greeting />';
const GREETING_FRAME = `RPY 0 0 . 0 ${GREETING.length}\r\n${GREETING}END\r\n`;
const PEER_GREETING = /^(?:SEQ \d+ \d+ \d+\r\n)*RPY 0 0 [.*] 0 (\d+)\r\n/;

/** Greet, wait for the peer's greeting, send the malformed octets, and expect the connection to end. */
export async function probeFrame(v: FrameVector, target: Target, timeout: number): Promise<ProbeOutcome> {
  const input = v.input !== undefined ? Buffer.from(v.input, 'latin1') : Buffer.from(v.input_b64 ?? '', 'base64');
  const wire = await Wire.connect(target, timeout);
  try {
    wire.send(Buffer.from(GREETING_FRAME, 'latin1'));
    const greeted = await wire.until(() => {
      const m = PEER_GREETING.exec(wire.buf.toString('latin1'));
      return m !== null && wire.buf.length >= m[0].length + Number(m[1]) + 5;
    }, timeout);
    if (!greeted) return { id: v.id, rule: v.rule, status: 'fail', detail: 'no greeting from the peer', bytes: wire.buf.toString('latin1') };
    const before = wire.buf.length;
    wire.send(input);
    const closed = await wire.until(() => wire.closed, timeout);
    if (!closed) {
      return {
        id: v.id,
        rule: v.rule,
        status: 'fail',
        detail: `${v.description}: the session is still up ${timeout} ms after this malformed frame (expected ${v.expect.error})`,
        bytes: input.toString('latin1'),
      };
    }
    const extra = wire.buf.subarray(before).toString('latin1');
    return { id: v.id, rule: v.rule, status: 'pass', ...(extra ? { detail: `sent ${JSON.stringify(extra.slice(0, 80))} before closing` } : {}) };
  } finally {
    wire.close();
  }
}
