import { Buffer } from 'node:buffer';
import { splitInlineArgs } from './inline-args.js';
import { BeamError } from '../errors.js';

/**
 * Server-side incremental RESP request decoder: arrays of bulk strings (what clients send) and inline
 * commands (what people type). Sans-IO: feed it chunks, it appends complete argv vectors to an array.
 * The checks and error texts follow Redis 7 (networking.c, processMultibulkBuffer/processInlineBuffer).
 */

export interface RequestDecoderLimits {
  /** Largest bulk string accepted (Redis `proto-max-bulk-len`). Default 512 MiB. */
  maxBulkLength?: number;
  /**
   * Largest multibulk count. Redis accepts up to INT_MAX; every argument costs a Buffer object here,
   * so the default is 1024 * 1024 arguments.
   */
  maxArrayLength?: number;
  /** Longest inline command line and longest `*`/`$` count line (Redis PROTO_INLINE_MAX_SIZE). Default 64 KiB. */
  maxInlineLength?: number;
  /**
   * Most bytes held for one client (Redis `client-query-buffer-limit`): raw unparsed bytes, the arguments of
   * the unfinished command and decoded commands not yet run, each argument counted with its object overhead
   * (see ARG_OVERHEAD). Default 1 GiB.
   */
  maxQueryBuffer?: number;
}

export const DEFAULT_DECODER_LIMITS: Required<RequestDecoderLimits> = {
  maxBulkLength: 512 * 1024 * 1024,
  maxArrayLength: 1024 * 1024,
  maxInlineLength: 64 * 1024,
  maxQueryBuffer: 1024 * 1024 * 1024,
};

/** A protocol violation. `message` is the text Redis replies after `-` (e.g. `ERR Protocol error: ...`). */
export class RespProtocolError extends BeamError {
  override readonly name = 'RespProtocolError';
  declare readonly code: 'invalid-bulk-length' | 'invalid-multibulk-length' | 'expected-dollar' | 'inline-too-big'
    | 'unbalanced-quotes' | 'mbulk-count-too-big' | 'bulk-count-too-big' | 'query-buffer-limit';
  constructor(code: RespProtocolError['code'], message: string) {
    super(code, message);
  }
}

const CR = 13;
const STAR = 42;
const DOLLAR = 36;
const NL = 10;
/** Bulks at least this long that arrive split are collected as pieces and joined once. */
const BIG_BULK = 32 * 1024;
const EMPTY = Buffer.alloc(0);
/**
 * What one decoded argument costs beyond its bytes: a Buffer object (about 110 octets of V8 heap, measured on
 * Node 20) and its array slot. Empty arguments share one Buffer and cost only the slot.
 */
export const ARG_OVERHEAD = 128;
const SLOT = 8;
/** The argv between commands; never written to (every multibulk starts with a fresh array). */
const NO_ARGS: Buffer[] = [];

/**
 * Parses a decimal the way Redis' string2ll does: optional '-', no '+', no leading zeros, no spaces.
 * Returns NaN when invalid. Values beyond 2^53 come back inexact but still huge, which every caller rejects.
 */
export function parseStrictInt(buf: Buffer, start: number, end: number): number {
  const len = end - start;
  if (len <= 0 || len > 20) return NaN;
  let p = start;
  let neg = false;
  if (buf[p] === 45) {
    neg = true;
    p++;
    if (p === end) return NaN;
  }
  const first = buf[p]!;
  if (first === 48) return len === 1 ? 0 : NaN;
  if (first < 49 || first > 57) return NaN;
  let v = 0;
  for (; p < end; p++) {
    const c = buf[p]!;
    if (c < 48 || c > 57) return NaN;
    v = v * 10 + (c - 48);
  }
  if (v > 9223372036854775807) return NaN;
  return neg ? -v : v;
}

function sameBytes(a: Buffer, buf: Buffer, at: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== buf[at + i]) return false;
  return true;
}

/** Position of the first CR in buf[pos, end), or -1. Count lines are a few bytes: a loop beats indexOf's native call. */
function findCR(buf: Buffer, pos: number, end: number): number {
  const stop = Math.min(end, pos + 32);
  for (let i = pos; i < stop; i++) if (buf[i] === CR) return i;
  return stop === end ? -1 : buf.indexOf(CR, stop);
}

export class RequestDecoder {
  private readonly limits: Required<RequestDecoderLimits>;
  /** Unconsumed bytes (start of an unfinished command). */
  private buf: Buffer = EMPTY;
  /** Arguments still expected in the current multibulk, 0 when between commands. */
  private remaining = 0;
  private argv: Buffer[] = [];
  /** Arguments of the current multibulk received so far. */
  private argc = 0;
  /** Where quickCount() found the CR. */
  private cr = 0;
  /** A big bulk being collected in pieces: its declared length, pieces so far, byte count. */
  private bigLen = -1;
  private bigPieces: Buffer[] = [];
  private bigHave = 0;
  /** The destination of a big bulk once half of it arrived (the pieces are copied in then, never joined twice). */
  private bigBuf: Buffer | null = null;
  /**
   * Half of a big bulk arrived: its destination is allocated at the next feed. Counted at its full size from now,
   * so that the owner's limits refuse the client before the allocation rather than after it.
   */
  private bigDue = false;
  /** Cost of the unfinished command's decoded arguments (bytes plus ARG_OVERHEAD each). */
  private argBytes = 0;
  /**
   * Cost of the commands handed out since the owner last called `executed()`: what the owner's queue holds
   * until it runs them.
   */
  completedBytes = 0;
  /** Bytes of the trailing CRLF after a big bulk still to skip. */
  private skip = 0;
  private failed: RespProtocolError | null = null;
  /**
   * The last command name handed out: a client sending the same name again gets the same Buffer instead
   * of a copy (argv Buffers are never written to by the dispatcher or the commands).
   */
  private lastName: Buffer = EMPTY;

  constructor(limits: RequestDecoderLimits = {}) {
    this.limits = { ...DEFAULT_DECODER_LIMITS, ...limits };
  }

  /** Bytes currently held for an unfinished command (raw bytes plus its decoded arguments). */
  get bufferedBytes(): number {
    return this.buf.length + (this.bigBuf === null && !this.bigDue ? this.bigHave : this.bigLen) + this.argBytes;
  }

  /** True between commands: nothing of an unfinished command is held (a half-read multibulk keeps no bytes). */
  get idle(): boolean {
    return this.remaining === 0 && this.bigLen < 0 && this.skip === 0 && this.buf.length === 0;
  }

  /** Everything this decoder holds or handed out and not yet run. */
  get heldBytes(): number {
    return this.bufferedBytes + this.completedBytes;
  }

  /** The owner ran (or dropped) every command handed out so far. */
  executed(): void {
    this.completedBytes = 0;
  }

  /** Drops everything held (the client is being closed); later feeds return `err`. */
  abort(err: RespProtocolError): void {
    this.failed = err;
    this.buf = EMPTY;
    this.argv = [];
    this.bigPieces = [];
    this.bigBuf = null;
    this.bigDue = false;
    this.argBytes = 0;
    this.completedBytes = 0;
  }

  /**
   * Decodes as many commands as `chunk` completes, appending each argv to `out`. Returns the protocol
   * error that stops the stream (after the commands before it were appended), or undefined.
   * Once an error is returned, later calls return it again without decoding.
   */
  feed(chunk: Buffer, out: Buffer[][]): RespProtocolError | undefined {
    if (this.failed) return this.failed;
    let data = chunk;
    if (this.bigLen >= 0 || this.skip > 0) {
      const consumed = this.feedBig(data, out);
      if (consumed === data.length) return this.checkBuffered();
      data = data.subarray(consumed);
    }
    const buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    this.buf = EMPTY;
    const e = this.parse(buf, 0, out);
    if (e) {
      this.abort(e);
      return e;
    }
    return this.checkBuffered();
  }

  /** The per-client limit on the unfinished command (the owner adds `completedBytes` it has not run yet). */
  private checkBuffered(): RespProtocolError | undefined {
    if (this.bufferedBytes > this.limits.maxQueryBuffer) {
      const e = new RespProtocolError('query-buffer-limit', 'ERR Protocol error: query buffer limit reached');
      this.abort(e);
      return e;
    }
    return undefined;
  }

  /** A command is complete: its cost moves from the unfinished command to the handed-out ones. */
  private complete(out: Buffer[][]): void {
    out.push(this.argv);
    // Let go of it: a decoder kept its last argv (a million Buffers after one huge request) until the next one.
    this.argv = NO_ARGS;
    this.completedBytes += this.argBytes;
    this.argBytes = 0;
  }

  /** Continues a big bulk (and its CRLF); returns bytes of `data` consumed. */
  private feedBig(data: Buffer, out: Buffer[][]): number {
    let used = 0;
    if (this.bigLen >= 0) {
      if (this.bigDue) {
        // Half of it is here: allocate the argument once and copy the pieces in. Joining them at the end
        // would hold the bulk twice; allocating on the `$` line alone would let 20 header bytes reserve 512 MiB.
        const dest = Buffer.allocUnsafe(this.bigLen);
        let at = 0;
        for (const p of this.bigPieces) at += p.copy(dest, at);
        this.bigPieces = [];
        this.bigBuf = dest;
        this.bigDue = false;
      }
      const need = this.bigLen - this.bigHave;
      const take = Math.min(need, data.length);
      if (this.bigBuf !== null) data.copy(this.bigBuf, this.bigHave, 0, take);
      else this.bigPieces.push(data.subarray(0, take));
      this.bigHave += take;
      used = take;
      if (this.bigBuf === null && this.bigHave * 2 >= this.bigLen && this.bigHave < this.bigLen) this.bigDue = true;
      if (this.bigHave < this.bigLen) return used;
      const whole = this.bigBuf ?? (this.bigPieces.length === 1 ? Buffer.from(this.bigPieces[0]!) : Buffer.concat(this.bigPieces, this.bigLen));
      this.bigPieces = [];
      this.bigBuf = null;
      this.bigDue = false;
      this.argBytes += this.bigLen + ARG_OVERHEAD;
      this.bigLen = -1;
      this.bigHave = 0;
      this.skip = 2;
      this.argv[this.argc++] = whole;
    }
    const s = Math.min(this.skip, data.length - used);
    this.skip -= s;
    used += s;
    if (this.skip === 0) {
      this.remaining--;
      if (this.remaining === 0) this.complete(out);
    }
    return used;
  }

  /**
   * One pass over a plain "<prefix><positive decimal>\r" line at pos: returns the number and leaves the CR's
   * position in this.cr, or -1 for anything else (zero, sign, junk, no CR yet), which the strict path handles.
   */
  private quickCount(buf: Buffer, pos: number, end: number): number {
    let p = pos + 1;
    if (p >= end) return -1;
    const c0 = buf[p]!;
    if (c0 < 49 || c0 > 57) return -1;
    let v = c0 - 48;
    const stop = Math.min(end, p + 16);
    for (p++; p < stop; p++) {
      const c = buf[p]!;
      if (c === CR) {
        this.cr = p;
        return v;
      }
      if (c < 48 || c > 57) return -1;
      v = v * 10 + (c - 48);
    }
    return -1;
  }

  private parse(buf: Buffer, start: number, out: Buffer[][]): RespProtocolError | undefined {
    let pos = start;
    const end = buf.length;
    const lim = this.limits;
    while (pos < end) {
      if (this.remaining === 0) {
        if (buf[pos] !== STAR) {
          // Inline command: one line up to '\n'.
          const nl = buf.indexOf(NL, pos);
          if (nl < 0) {
            if (end - pos > lim.maxInlineLength) {
              return new RespProtocolError('inline-too-big', 'ERR Protocol error: too big inline request');
            }
            break;
          }
          let lineEnd = nl;
          if (lineEnd > pos && buf[lineEnd - 1] === CR) lineEnd--;
          const args = splitInlineArgs(buf, pos, lineEnd);
          if (args === null) {
            return new RespProtocolError('unbalanced-quotes', 'ERR Protocol error: unbalanced quotes in request');
          }
          if (args.length > 0) {
            out.push(args);
            this.completedBytes += nl - pos + args.length * ARG_OVERHEAD;
          }
          pos = nl + 1;
          continue;
        }
        let n = this.quickCount(buf, pos, end);
        let cr: number;
        if (n >= 0) {
          cr = this.cr;
        } else {
          cr = findCR(buf, pos, end);
          if (cr < 0) {
            if (end - pos > lim.maxInlineLength) {
              return new RespProtocolError('mbulk-count-too-big', 'ERR Protocol error: too big mbulk count string');
            }
            break;
          }
          n = parseStrictInt(buf, pos + 1, cr);
        }
        if (cr + 1 >= end) break; // the '\n' has not arrived
        if (Number.isNaN(n) || n > lim.maxArrayLength || n > 2147483647) {
          return new RespProtocolError('invalid-multibulk-length', 'ERR Protocol error: invalid multibulk length');
        }
        pos = cr + 2;
        if (n <= 0) continue; // Redis ignores empty and negative multibulks
        this.remaining = n;
        // Small vectors are allocated at their final size (bounded, so a huge count costs nothing up front).
        this.argv = n <= 16 ? new Array<Buffer>(n) : [];
        this.argc = 0;
        this.argBytes = 0;
      }
      // Inside a multibulk: read "$len\r\n" then the bytes and CRLF.
      let len = buf[pos] === DOLLAR ? this.quickCount(buf, pos, end) : -1;
      let cr: number;
      if (len >= 0) {
        cr = this.cr;
        if (cr + 1 >= end) break;
        if (len > lim.maxBulkLength) {
          return new RespProtocolError('invalid-bulk-length', 'ERR Protocol error: invalid bulk length');
        }
      } else {
        cr = findCR(buf, pos, end);
        if (cr < 0) {
          if (end - pos > lim.maxInlineLength) {
            return new RespProtocolError('bulk-count-too-big', 'ERR Protocol error: too big bulk count string');
          }
          break;
        }
        if (cr + 1 >= end) break;
        if (buf[pos] !== DOLLAR) {
          return new RespProtocolError('expected-dollar', `ERR Protocol error: expected '$', got '${String.fromCharCode(buf[pos]!)}'`);
        }
        len = parseStrictInt(buf, pos + 1, cr);
        if (Number.isNaN(len) || len < 0 || len > lim.maxBulkLength) {
          return new RespProtocolError('invalid-bulk-length', 'ERR Protocol error: invalid bulk length');
        }
      }
      const dataStart = cr + 2;
      if (end - dataStart >= len + 2) {
        const first = this.argc === 0;
        let arg: Buffer;
        if (len === 0) {
          // One shared empty Buffer: a million empty arguments must not cost a million objects.
          arg = EMPTY;
          this.argBytes += SLOT;
        } else if (first && len === this.lastName.length && sameBytes(this.lastName, buf, dataStart)) {
          arg = this.lastName;
        } else {
          arg = Buffer.allocUnsafe(len);
          if (len <= 32) for (let i = 0; i < len; i++) arg[i] = buf[dataStart + i]!;
          else buf.copy(arg, 0, dataStart, dataStart + len);
          if (first && len <= 32) this.lastName = arg;
        }
        if (len > 0) this.argBytes += len + ARG_OVERHEAD;
        this.argv[this.argc++] = arg;
        pos = dataStart + len + 2; // Redis skips the two bytes after the data without looking at them
        if (--this.remaining === 0) this.complete(out);
        continue;
      }
      if (len >= BIG_BULK) {
        // Known length, data still arriving: collect pieces and join once at the end.
        this.bigLen = len;
        this.bigHave = 0;
        this.bigPieces = [];
        this.bigBuf = null;
        this.bigDue = false;
        const rest = buf.subarray(dataStart);
        pos = end;
        if (rest.length > 0) this.feedBig(Buffer.from(rest), out);
        return undefined;
      }
      break;
    }
    if (pos < end) this.buf = pos === 0 ? buf : buf.subarray(pos);
    return undefined;
  }
}
