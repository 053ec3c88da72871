/**
 * Finds the boundaries of complete RESP2/RESP3 replies in a byte stream (for relaying a remote context's replies
 * without re-encoding them), and reads the kind of a pub/sub reply. Pure: no I/O.
 */
import { GatewayRespError } from '../errors.js';

const CR = 13;
const LF = 10;

/** End offset of the CRLF-terminated line starting at `pos` (index after LF), or -1 if incomplete. */
function lineEnd(buf: Buffer, pos: number): number {
  const cr = buf.indexOf(CR, pos);
  if (cr < 0 || cr + 1 >= buf.length) return -1;
  if (buf[cr + 1] !== LF) throw new GatewayRespError('RESP reply line not terminated by CRLF');
  return cr + 2;
}

function lineInt(buf: Buffer, start: number, end: number): number {
  const s = buf.toString('latin1', start, end - 2);
  if (!/^-?[0-9]{1,19}$/.test(s)) throw new GatewayRespError(`bad RESP length '${s.slice(0, 20)}'`);
  return Number(s);
}

/**
 * Returns the offset just after the complete reply that starts at `pos`, or -1 if `buf` ends inside it.
 * `maxDepth` bounds nesting.
 */
export function scanReply(buf: Buffer, pos: number, maxDepth = 64): number {
  // Iterative: a stack of "elements still to read" counts.
  const stack: number[] = [];
  let p = pos;
  for (;;) {
    if (p >= buf.length) return -1;
    const type = buf[p]!;
    const end = lineEnd(buf, p + 1);
    if (end < 0) return -1;
    let children = 0;
    switch (type) {
      case 0x2b: // + simple
      case 0x2d: // - error
      case 0x3a: // : integer
      case 0x5f: // _ null
      case 0x23: // # boolean
      case 0x2c: // , double
      case 0x28: // ( big number
        p = end;
        break;
      case 0x24: // $ bulk
      case 0x21: // ! bulk error
      case 0x3d: {
        // = verbatim
        const n = lineInt(buf, p + 1, end);
        if (n < 0) {
          p = end;
          break;
        }
        if (end + n + 2 > buf.length) return -1;
        if (buf[end + n] !== CR || buf[end + n + 1] !== LF) throw new GatewayRespError('bulk reply not terminated by CRLF');
        p = end + n + 2;
        break;
      }
      case 0x2a: // * array
      case 0x7e: // ~ set
      case 0x3e: // > push
      case 0x25: // % map
      case 0x7c: {
        // | attribute (precedes a reply: counts as its pairs plus the reply itself)
        const n = lineInt(buf, p + 1, end);
        p = end;
        if (n < 0) break;
        children = type === 0x25 ? 2 * n : type === 0x7c ? 2 * n + 1 : n;
        break;
      }
      default:
        throw new GatewayRespError(`unknown RESP reply type 0x${type.toString(16)}`);
    }
    if (children > 0) {
      if (stack.length >= maxDepth) throw new GatewayRespError('RESP reply nested too deeply');
      stack.push(children);
      continue;
    }
    // One element done: pop finished aggregates.
    for (;;) {
      if (stack.length === 0) return p;
      const top = stack.length - 1;
      stack[top]!--;
      if (stack[top]! > 0) break;
      stack.pop();
    }
  }
}

/** Splits a buffer into complete replies; returns them and the unconsumed rest. */
export function splitReplies(buf: Buffer): { replies: Buffer[]; rest: Buffer } {
  const replies: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const end = scanReply(buf, pos);
    if (end < 0) break;
    replies.push(buf.subarray(pos, end));
    pos = end;
    if (pos >= buf.length) break;
  }
  return { replies, rest: buf.subarray(pos) };
}

export interface PubSubInfo {
  /** `subscribe`, `unsubscribe`, `psubscribe`, `punsubscribe`, `ssubscribe`, `sunsubscribe`, `message`, `pmessage`, `smessage`, `pong`... */
  kind: string;
  /** Subscription count of a (un)subscribe confirmation. */
  count?: number;
}

/** The kind of an array or push reply whose first element is a bulk or simple string; undefined otherwise. */
export function pubSubInfo(reply: Buffer): PubSubInfo | undefined {
  const t = reply[0];
  if (t !== 0x2a && t !== 0x3e) return undefined;
  const e1 = lineEnd(reply, 1);
  if (e1 < 0) return undefined;
  const n = lineInt(reply, 1, e1);
  if (n < 1) return undefined;
  let p = e1;
  let kind: string;
  if (reply[p] === 0x24) {
    const e2 = lineEnd(reply, p + 1);
    const len = lineInt(reply, p + 1, e2);
    if (len < 0) return undefined;
    kind = reply.toString('latin1', e2, e2 + len).toLowerCase();
    p = e2 + len + 2;
  } else if (reply[p] === 0x2b) {
    const e2 = lineEnd(reply, p + 1);
    kind = reply.toString('latin1', p + 1, e2 - 2).toLowerCase();
    p = e2;
  } else return undefined;
  if (n === 3 && /subscribe$/.test(kind)) {
    const after = scanReply(reply, p);
    if (after > 0 && reply[after] === 0x3a) {
      const e3 = lineEnd(reply, after + 1);
      return { kind, count: lineInt(reply, after + 1, e3) };
    }
  }
  return { kind };
}
