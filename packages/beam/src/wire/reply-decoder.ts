/**
 * The one decoder of RESP2/RESP3 replies (client, gateway relay): incremental and bounded. A cursor remembers
 * where the last chunk stopped (the element being read and where to resume looking for its CR), so every byte is
 * examined once however the replies are chunked; a reply may not exceed `maxReplyBytes` (a bulk header is checked
 * before its payload arrives) nor nest deeper than `maxDepth`. Pure: no I/O.
 *
 * It either hands out each complete reply as its bytes (`onRaw`, for relaying unchanged) or as a value (`onReply`).
 */
import { BeamError } from '../errors.js';
import { ErrorReply } from './reply.js';
import { parseStrictInt } from './request-decoder.js';

/**
 * A malformed reply stream or a limit exceeded. Codes: `RESP_BAD_REPLY`, `RESP_REPLY_TOO_LARGE`,
 * `RESP_REPLY_TOO_DEEP`. The stream cannot be resynchronised after one.
 */
export class RespReplyError extends BeamError {
  override name = 'RespReplyError';
}

/**
 * A decoded reply. Simple, bulk and verbatim strings are Buffers (a verbatim string without its `txt:` prefix),
 * integers numbers (bigint beyond 2^53, and big numbers), doubles numbers, booleans booleans, null bulk/array and
 * RESP3 null `null`, error replies (also nested, e.g. in EXEC) ErrorReply, arrays, sets and pushes arrays, maps flat
 * key/value arrays as in RESP2. Attributes are dropped (the reply they annotate is kept).
 */
export type ReplyValue = Buffer | number | bigint | boolean | null | ErrorReply | ReplyValue[];

export interface ReplyDecoderOptions {
  /** Largest reply accepted, in bytes (default 512 MiB, Redis' proto-max-bulk-len). */
  maxReplyBytes?: number;
  /** Deepest nesting of aggregates (default 64). */
  maxDepth?: number;
}

export interface ReplySink {
  /** Each complete reply as a value; `push` is true for a RESP3 push (`>`). */
  onReply?: (reply: ReplyValue, push: boolean) => void;
  /** Each complete reply as its bytes (a copy); used instead of onReply when given. */
  onRaw?: (bytes: Buffer, push: boolean) => void;
}

const CR = 13;
const LF = 10;
const EMPTY = Buffer.alloc(0);

interface Open {
  /** Elements still expected. */
  left: number;
  /** Their values (value mode only). */
  items: ReplyValue[];
  type: number;
}

export class ReplyDecoder {
  private buf: Buffer = EMPTY;
  /** Bytes held in buf. */
  private len = 0;
  /** Start of the reply being read. */
  private start = 0;
  /** Next element to read. */
  private pos = 0;
  /** Where to resume looking for the CR of the line at `pos`. */
  private crFrom = 0;
  private readonly stack: Open[] = [];
  private readonly maxReplyBytes: number;
  private readonly maxDepth: number;
  private readonly values: boolean;
  private readonly onReply: ReplySink['onReply'];
  private readonly onRaw: ReplySink['onRaw'];
  private failed: RespReplyError | null = null;

  constructor(sink: ReplySink, opts: ReplyDecoderOptions = {}) {
    this.maxReplyBytes = opts.maxReplyBytes ?? 512 * 1024 * 1024;
    this.maxDepth = opts.maxDepth ?? 64;
    this.values = sink.onRaw === undefined;
    this.onRaw = sink.onRaw;
    this.onReply = this.values ? sink.onReply : undefined;
  }

  /** Bytes buffered towards the next reply. */
  get pending(): number {
    return this.len - this.start;
  }

  /** Feeds a chunk; completed replies go to the sink in order. Throws RespReplyError on bad input (and on every later call). */
  feed(chunk: Buffer): void {
    if (this.failed) throw this.failed;
    try {
      this.append(chunk);
      while (this.next());
      if (this.len - this.start > this.maxReplyBytes) throw this.tooLarge();
    } catch (e) {
      if (e instanceof RespReplyError) {
        this.failed = e;
        this.buf = EMPTY;
        this.len = this.start = this.pos = this.crFrom = 0;
      }
      throw e;
    }
  }

  private tooLarge(): RespReplyError {
    return new RespReplyError('RESP_REPLY_TOO_LARGE', `RESP reply larger than ${this.maxReplyBytes} bytes`);
  }

  private bad(message: string): RespReplyError {
    return new RespReplyError('RESP_BAD_REPLY', message);
  }

  /**
   * Handed-out values may be views of `buf`, so bytes before `len` are never written again: a drained buffer is
   * replaced by the chunk itself (no copy), a pending reply is moved to a new buffer at least twice its size.
   */
  private append(chunk: Buffer): void {
    if (this.start === this.len) {
      this.buf = chunk;
      this.len = chunk.length;
      this.start = this.pos = this.crFrom = 0;
      return;
    }
    if (this.len + chunk.length > this.buf.length) {
      const keep = this.len - this.start;
      const next = Buffer.allocUnsafe(Math.max(keep + chunk.length, keep * 2, 4096));
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

  /** End of the line starting at `pos` (after its LF), or -1 when not all in. */
  private lineEnd(): number {
    const buf = this.buf;
    const len = this.len;
    let cr = Math.max(this.crFrom, this.pos + 1);
    // Most lines are a few bytes: a loop beats indexOf's native call; long ones go to indexOf (bounded by len).
    const stop = Math.min(len, cr + 32);
    while (cr < stop && buf[cr] !== CR) cr++;
    if (cr === stop && stop < len) {
      const i = buf.indexOf(CR, stop);
      cr = i < 0 || i >= len ? len : i;
    }
    this.crFrom = cr;
    if (cr + 1 >= len) return -1;
    if (buf[cr + 1] !== LF) throw this.bad('RESP reply line not terminated by CRLF');
    return cr + 2;
  }

  private lineInt(end: number): number {
    const n = parseStrictInt(this.buf, this.pos + 1, end - 2);
    if (Number.isNaN(n) || n < -1) throw this.bad(`bad RESP length '${this.buf.toString('latin1', this.pos + 1, Math.min(end - 2, this.pos + 21))}'`);
    return n;
  }

  /** Reads elements until a reply is complete (handed to the sink: true) or the bytes run out (false). */
  private next(): boolean {
    const buf = this.buf;
    const values = this.values;
    for (;;) {
      if (this.pos >= this.len) return false;
      const at = this.pos;
      const type = buf[at]!;
      const end = this.lineEnd();
      if (end < 0) return false;
      let next = end;
      let children = 0;
      let value: ReplyValue = null;
      switch (type) {
        case 0x2b: // + simple
          if (values) value = buf.subarray(at + 1, end - 2);
          break;
        case 0x2d: // - error
          if (values) value = new ErrorReply(buf.toString('utf8', at + 1, end - 2));
          break;
        case 0x3a: // : integer
          if (values) value = this.integer(at + 1, end - 2);
          break;
        case 0x5f: // _ null
          break;
        case 0x23: // # boolean
          if (values) value = buf[at + 1] === 0x74;
          break;
        case 0x2c: // , double
          if (values) value = double(buf.toString('latin1', at + 1, end - 2));
          break;
        case 0x28: // ( big number
          if (values) value = this.bigNumber(at + 1, end - 2);
          break;
        case 0x24: // $ bulk
        case 0x21: // ! bulk error
        case 0x3d: {
          // = verbatim
          const n = this.lineInt(end);
          if (n < 0) break;
          if (n > this.maxReplyBytes) throw this.tooLarge();
          if (end + n + 2 > this.len) return false;
          if (buf[end + n] !== CR || buf[end + n + 1] !== LF) throw this.bad('bulk reply not terminated by CRLF');
          next = end + n + 2;
          if (values) {
            if (type === 0x24) value = buf.subarray(end, end + n);
            else if (type === 0x21) value = new ErrorReply(buf.toString('utf8', end, end + n));
            else value = buf.subarray(Math.min(end + 4, end + n), end + n);
          }
          break;
        }
        case 0x2a: // * array
        case 0x7e: // ~ set
        case 0x3e: // > push
        case 0x25: // % map
        case 0x7c: {
          // | attribute: its pairs, then the reply it annotates (the value kept)
          const n = this.lineInt(end);
          if (n < 0) break;
          children = type === 0x25 ? 2 * n : type === 0x7c ? 2 * n + 1 : n;
          if (children === 0) value = [];
          break;
        }
        default:
          throw this.bad(`unknown RESP reply type 0x${type.toString(16)}`);
      }
      this.pos = next;
      this.crFrom = next;
      if (children > 0) {
        if (this.stack.length >= this.maxDepth) throw new RespReplyError('RESP_REPLY_TOO_DEEP', 'RESP reply nested too deeply');
        this.stack.push({ left: children, items: [], type });
        continue;
      }
      const stack = this.stack;
      for (;;) {
        // Checked by length: reading stack[-1] would take V8's slow path on every top-level reply.
        if (stack.length === 0) {
          this.emit(value);
          return true;
        }
        const top = stack[stack.length - 1]!;
        if (values) top.items.push(value);
        if (--top.left > 0) break;
        stack.pop();
        value = top.type === 0x7c ? top.items[top.items.length - 1]! : top.items;
      }
    }
  }

  private emit(value: ReplyValue): void {
    const start = this.start;
    this.start = this.pos;
    const push = this.buf[start] === 0x3e;
    if (this.onReply !== undefined) this.onReply(value, push);
    else this.onRaw!(Buffer.from(this.buf.subarray(start, this.pos)), push);
  }

  private integer(from: number, to: number): number | bigint {
    const n = parseStrictInt(this.buf, from, to);
    if (Number.isSafeInteger(n)) return n;
    return this.bigNumber(from, to);
  }

  private bigNumber(from: number, to: number): bigint {
    const s = this.buf.toString('latin1', from, to);
    if (!/^[-+]?[0-9]+$/.test(s)) throw this.bad(`bad RESP integer '${s.slice(0, 24)}'`);
    return BigInt(s);
  }
}

function double(s: string): number {
  if (s === 'inf') return Infinity;
  if (s === '-inf') return -Infinity;
  return Number(s);
}

/** Decodes one buffer holding exactly one complete reply (throws RespReplyError otherwise). */
export function decodeReply(bytes: Buffer, opts: ReplyDecoderOptions = {}): ReplyValue {
  const out: ReplyValue[] = [];
  const d = new ReplyDecoder({ onReply: (r) => out.push(r) }, { maxReplyBytes: bytes.length, ...opts });
  d.feed(bytes);
  if (out.length !== 1 || d.pending > 0) throw new RespReplyError('RESP_BAD_REPLY', 'not exactly one complete RESP reply');
  return out[0]!;
}
