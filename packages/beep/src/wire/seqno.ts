/**
 * Sequence-number arithmetic modulo 2^32 (RFC 3080 §2.2.1.1 seqno, RFC 3081 §3.1 ackno/window).
 * Every value is an unsigned 32-bit integer held in a JS number.
 */
import { MAX_32 } from './frame.js';

export const SEQ_MODULUS = MAX_32 + 1;

/** (a + n) mod 2^32, for a in 0..2^32-1 and n a non-negative safe integer. */
export function seqAdd(a: number, n: number): number {
  return (a + n) % SEQ_MODULUS;
}

/** Distance from `from` forward to `to`, mod 2^32 (0..2^32-1). */
export function seqDistance(from: number, to: number): number {
  return (to - from + SEQ_MODULUS) % SEQ_MODULUS;
}

/** RFC 1982 serial comparison: true when a precedes b (their distance is below 2^31). */
export function seqLessThan(a: number, b: number): boolean {
  const d = seqDistance(a, b);
  return d !== 0 && d < 0x80000000;
}

/**
 * RFC 3081 §3.1.4: may a frame of `size` octets starting at `seqno` be received when the peer may send up to
 * `ackno + window`? (seqno must lie within [ackno, ackno + window] and seqno + size must not pass the right edge.)
 */
export function fitsWindow(seqno: number, size: number, ackno: number, window: number): boolean {
  const used = seqDistance(ackno, seqno);
  return used <= window && used + size <= window;
}

/** Octets still allowed by a window whose left edge is `ackno`, when `nextSeqno` is the next octet to send. */
export function windowRemaining(nextSeqno: number, ackno: number, window: number): number {
  const used = seqDistance(ackno, nextSeqno);
  return used > window ? 0 : window - used;
}

/** The right edge `ackno + window` mod 2^32. */
export function rightEdge(ackno: number, window: number): number {
  return seqAdd(ackno, window);
}

/**
 * Does a SEQ moving the right edge from `oldEdge` to `newEdge` shrink the window (RFC 1122 SHOULD NOT)?
 * Edges within 2^31 are compared in serial arithmetic.
 */
export function edgeMovesLeft(oldEdge: number, newEdge: number): boolean {
  return seqLessThan(newEdge, oldEdge);
}
