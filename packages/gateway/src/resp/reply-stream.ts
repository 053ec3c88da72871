/**
 * Splits a byte stream of RESP2/RESP3 replies into complete replies, incrementally: every byte is examined once
 * however the replies are chunked (the scan resumes where the last chunk ended), the buffer grows by doubling,
 * and one reply may not exceed `maxReplyBytes` (checked from bulk headers before their payload arrives).
 * Pure: no I/O.
 */
import { GatewayRespError } from '../errors.js';

const CR = 13;
const LF = 10;

export class ReplyStream {
  private buf = Buffer.alloc(0);
  /** Bytes held in buf. */
  private len = 0;
  /** Start of the reply being scanned. */
  private start = 0;
  /** Next element to parse (absolute offset in buf). */
  private pos = 0;
  /** Where to resume looking for the CR of the line at `pos`. */
  private crFrom = 0;
  /** Elements still expected by each open aggregate. */
  private readonly stack: number[] = [];

  constructor(
    private readonly maxReplyBytes: number,
    private readonly maxDepth = 64,
  ) {}

  /** Bytes buffered towards the next reply. */
  get pending(): number {
    return this.len - this.start;
  }

  /** Feeds a chunk; returns the replies it completed (copies, in order). Throws GatewayRespError on bad input. */
  push(chunk: Buffer): Buffer[] {
    this.append(chunk);
    const out: Buffer[] = [];
    for (;;) {
      const end = this.scan();
      if (end < 0) break;
      out.push(Buffer.from(this.buf.subarray(this.start, end)));
      this.start = end;
    }
    if (this.len - this.start > this.maxReplyBytes) throw new GatewayRespError(`RESP reply larger than ${this.maxReplyBytes} bytes`);
    return out;
  }

  private append(chunk: Buffer): void {
    if (this.start > 0 && this.start === this.len) {
      this.pos -= this.start;
      this.crFrom -= this.start;
      this.len = 0;
      this.start = 0;
    }
    const need = this.len + chunk.length;
    if (need > this.buf.length) {
      const keep = this.len - this.start;
      // Compact (drop consumed bytes) and grow to at least double: amortized linear copying.
      const next = Buffer.allocUnsafe(Math.max(keep + chunk.length, this.buf.length * 2, 4096));
      this.buf.copy(next, 0, this.start, this.len);
      this.pos -= this.start;
      this.crFrom -= this.start;
      this.len = keep;
      this.start = 0;
      this.buf = next;
    }
    chunk.copy(this.buf, this.len);
    this.len += chunk.length;
  }

  /** End of the line starting at `pos` (after its LF), or -1. */
  private lineEnd(): number {
    const from = Math.max(this.crFrom, this.pos + 1);
    const cr = this.buf.subarray(0, this.len).indexOf(CR, from);
    if (cr < 0) {
      this.crFrom = this.len;
      return -1;
    }
    this.crFrom = cr;
    if (cr + 1 >= this.len) return -1;
    if (this.buf[cr + 1] !== LF) throw new GatewayRespError('RESP reply line not terminated by CRLF');
    return cr + 2;
  }

  private lineInt(end: number): number {
    const s = this.buf.toString('latin1', this.pos + 1, end - 2);
    if (!/^-?[0-9]{1,19}$/.test(s)) throw new GatewayRespError(`bad RESP length '${s.slice(0, 20)}'`);
    return Number(s);
  }

  /** Continues the current reply; its end offset once complete, else -1 (state kept for the next chunk). */
  private scan(): number {
    for (;;) {
      if (this.pos >= this.len) return -1;
      const type = this.buf[this.pos]!;
      const end = this.lineEnd();
      if (end < 0) return -1;
      let next = end;
      let children = 0;
      switch (type) {
        case 0x2b: // + simple
        case 0x2d: // - error
        case 0x3a: // : integer
        case 0x5f: // _ null
        case 0x23: // # boolean
        case 0x2c: // , double
        case 0x28: // ( big number
          break;
        case 0x24: // $ bulk
        case 0x21: // ! bulk error
        case 0x3d: {
          // = verbatim
          const n = this.lineInt(end);
          if (n < 0) break;
          if (n > this.maxReplyBytes) throw new GatewayRespError(`RESP reply larger than ${this.maxReplyBytes} bytes`);
          if (end + n + 2 > this.len) return -1;
          if (this.buf[end + n] !== CR || this.buf[end + n + 1] !== LF) throw new GatewayRespError('bulk reply not terminated by CRLF');
          next = end + n + 2;
          break;
        }
        case 0x2a: // * array
        case 0x7e: // ~ set
        case 0x3e: // > push
        case 0x25: // % map
        case 0x7c: {
          // | attribute (precedes a reply: its pairs plus the reply itself)
          const n = this.lineInt(end);
          if (n > 0) children = type === 0x25 ? 2 * n : type === 0x7c ? 2 * n + 1 : n;
          break;
        }
        default:
          throw new GatewayRespError(`unknown RESP reply type 0x${type.toString(16)}`);
      }
      this.pos = next;
      this.crFrom = next;
      if (children > 0) {
        if (this.stack.length >= this.maxDepth) throw new GatewayRespError('RESP reply nested too deeply');
        this.stack.push(children);
        continue;
      }
      for (;;) {
        if (this.stack.length === 0) return this.pos;
        const top = this.stack.length - 1;
        this.stack[top]!--;
        if (this.stack[top]! > 0) break;
        this.stack.pop();
      }
    }
  }
}
