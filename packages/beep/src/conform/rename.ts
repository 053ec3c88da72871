/**
 * Point a vector at the peer's own profiles (`--echo URI` ...): the test profile URIs in what we send are replaced
 * and our frames re-sized, with the seqnos of later frames on the same channel shifted to match. Returns
 * undefined when the vector cannot be renamed faithfully (exact expected octets or our SEQs depend on the URI).
 */
import { decodeFrames } from '../wire/frame-parser.js';
import type { SessionStep, SessionVector } from './vectors.js';
import { LEGACY_PROFILE_PREFIX, TEST_PROFILE_PREFIX } from './vectors.js';

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

export function renameProfiles(v: SessionVector, map: ReadonlyMap<string, string>): SessionVector | undefined {
  const pairs: [string, string][] = [];
  for (const [name, uri] of map) {
    for (const prefix of [TEST_PROFILE_PREFIX, LEGACY_PROFILE_PREFIX]) if (prefix + name !== uri) pairs.push([prefix + name, uri]);
  }
  const text = JSON.stringify(v.steps);
  if (!pairs.some(([from]) => text.includes(from))) return v;
  const shift = new Map<number, number>();
  const steps: SessionStep[] = [];
  for (const step of v.steps) {
    if (step.expect !== undefined && pairs.some(([from]) => step.expect?.includes(from))) return undefined;
    if (step.expect_match !== undefined) {
      let re = step.expect_match;
      for (const [from, to] of pairs) re = re.split(escapeRe(from)).join(escapeRe(to)).split(from).join(escapeRe(to));
      steps.push({ ...step, expect_match: re });
      continue;
    }
    if (step.send === undefined) {
      steps.push(step);
      continue;
    }
    let frames;
    try {
      frames = decodeFrames(Buffer.from(step.send, 'latin1'), { maxFrameSize: 2 ** 31 - 1 });
    } catch {
      if (pairs.some(([from]) => step.send?.includes(from))) return undefined;
      steps.push(step);
      continue;
    }
    let out = '';
    for (const f of frames) {
      if (f.type === 'SEQ') {
        if (shift.size) return undefined;
        out += `SEQ ${f.channel} ${f.ackno} ${f.window}\r\n`;
        continue;
      }
      let payload = f.payload.toString('latin1');
      for (const [from, to] of pairs) payload = payload.split(from).join(to);
      const seqno = (f.seqno + (shift.get(f.channel) ?? 0)) % 2 ** 32;
      const size = Buffer.byteLength(payload, 'latin1');
      shift.set(f.channel, (shift.get(f.channel) ?? 0) + size - f.payload.length);
      out += `${f.type} ${f.channel} ${f.msgno} ${f.more ? '*' : '.'} ${seqno} ${size}${f.type === 'ANS' ? ` ${f.ansno}` : ''}\r\n${payload}END\r\n`;
    }
    steps.push({ ...step, send: out });
  }
  return { ...v, steps };
}
