/**
 * Fit a receive-window vector to the window the peer actually announced. RFC 3081 lets a receiver advertise any
 * window with SEQ (§3.1.3-3.1.5), so a vector written for 4096 octets checks the same rule against a peer that
 * announced k × 4096: every octet count on the test channels (frame sizes, seqnos, the ackno and window of the SEQs
 * we expect) is multiplied by k, so each frame sits at the same fraction of the window (half of it, exactly all of
 * it, past its edge) as in the original. Only vectors where the peer never sends on the test channels except SEQ
 * (the hold profile) are scaled: their expected octets there are SEQs alone. Returns undefined when the vector
 * cannot be scaled faithfully (k not a whole number, payloads that are not one repeated octet, a SEQ we send on a
 * test channel, an expected frame on a test channel other than an exact SEQ).
 */
import { decodeFrames } from '../wire/frame-parser.js';
import { needsOf, rulesOf, type SessionStep, type SessionVector } from './vectors.js';

const SEQ_EXACT = /^SEQ (\d+) (\d+) (\d+)\r\n$/;
const HEADER_ONLY = /^(MSG|RPY|ERR) (\d+) (\d+) ([.*]) (\d+) (\d+)\r\n$/;

/** The vector depends on the IUT's exact receive window: it expects its SEQs on a channel, or its refusal of a frame past it. */
export function windowBound(v: SessionVector): boolean {
  return (
    (rulesOf(v).includes('D.25') && v.steps.some((s) => s.expect_close !== undefined)) ||
    v.steps.some((s) => /^SEQ [1-9]/.test(s.expect ?? s.expect_match ?? ''))
  );
}

export function scaleWindow(v: SessionVector, from: number, to: number): SessionVector | undefined {
  if (from === to) return v;
  const k = to / from;
  if (!Number.isInteger(k) || k < 1) return undefined;
  if (needsOf(v).some((n) => n !== 'channel0' && n !== 'hold')) return undefined;
  const steps: SessionStep[] = [];
  for (const step of v.steps) {
    if (step.expect_match !== undefined) {
      // Channel 0 only: a pattern on a test channel cannot be scaled.
      if (!/^(?:[A-Z]{3}) 0 /.test(step.expect_match)) return undefined;
      steps.push(step);
    } else if (step.expect !== undefined) {
      if (step.expect.startsWith('SEQ ')) {
        const m = SEQ_EXACT.exec(step.expect);
        if (!m) return undefined;
        const ch = Number(m[1]);
        steps.push(ch === 0 ? step : { ...step, expect: `SEQ ${ch} ${Number(m[2]) * k} ${Number(m[3]) * k}\r\n` });
      } else if (/^[A-Z]{3} 0 /.test(step.expect)) steps.push(step);
      else return undefined;
    } else if (step.send !== undefined) {
      const out = scaleSend(step.send, k);
      if (out === undefined) return undefined;
      steps.push({ ...step, send: out });
    } else if (step.send_base64 !== undefined) return undefined;
    else steps.push(step);
  }
  return { ...v, steps };
}

/** A scaled frame still has a valid header: seqno and size within their ranges, no wrap (RFC 3080 §2.2.1.1). */
const fits = (seqno: number, size: number): boolean => seqno + size <= 2 ** 32 - 1 && size <= 2 ** 31 - 1;

function scaleSend(send: string, k: number): string | undefined {
  const header = HEADER_ONLY.exec(send);
  if (header) {
    // A lone header (its payload never follows): the receiver judges it from the header alone.
    const [, type, ch, msgno, more, seqno, size] = header;
    if (ch === '0') return send;
    if (!fits(Number(seqno) * k, Number(size) * k)) return undefined;
    return `${type} ${ch} ${msgno} ${more} ${Number(seqno) * k} ${Number(size) * k}\r\n`;
  }
  let frames;
  try {
    frames = decodeFrames(Buffer.from(send, 'latin1'), { maxFrameSize: 2 ** 31 - 1 });
  } catch {
    return undefined;
  }
  let out = '';
  for (const f of frames) {
    if (f.type === 'SEQ') {
      if (f.channel !== 0) return undefined;
      out += `SEQ ${f.channel} ${f.ackno} ${f.window}\r\n`;
      continue;
    }
    const payload = f.payload.toString('latin1');
    if (f.channel === 0) {
      out += `${f.type} ${f.channel} ${f.msgno} ${f.more ? '*' : '.'} ${f.seqno} ${f.payload.length}${f.type === 'ANS' ? ` ${f.ansno}` : ''}\r\n${payload}END\r\n`;
      continue;
    }
    if (f.type === 'ANS' || !fits(f.seqno * k, f.payload.length * k)) return undefined;
    const c = payload[0] ?? '';
    if (payload !== c.repeat(payload.length)) return undefined;
    out += `${f.type} ${f.channel} ${f.msgno} ${f.more ? '*' : '.'} ${f.seqno * k} ${f.payload.length * k}\r\n${c.repeat(f.payload.length * k)}END\r\n`;
  }
  return out;
}
