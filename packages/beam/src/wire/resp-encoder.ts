import { Buffer } from 'node:buffer';
import {
  ErrorReply, MultiReply, NULL_ARRAY, OK, PONG, QUEUED, RespDouble, RespMap, RespPush, RespSet, RespVerbatim, SimpleString, type Reply,
} from './reply.js';
import { formatDouble } from './double-format.js';
import { BeamOptionError } from '../errors.js';

export type RespVersion = 2 | 3;

const CRLF = '\r\n';
const SMALL_INTS: Buffer[] = [];
for (let i = 0; i < 1024; i++) SMALL_INTS.push(Buffer.from(`:${i}\r\n`));
const BULK_HEADERS: Buffer[] = [];
for (let i = 0; i < 1024; i++) BULK_HEADERS.push(Buffer.from(`$${i}\r\n`));
const NULL2 = Buffer.from('$-1\r\n');
const NULL_ARRAY2 = Buffer.from('*-1\r\n');
const NULL3 = Buffer.from('_\r\n');
const CRLF_BUF = Buffer.from(CRLF);
const TRUE3 = Buffer.from('#t\r\n');
const OK_BUF = Buffer.from('+OK\r\n');
const PONG_BUF = Buffer.from('+PONG\r\n');
const QUEUED_BUF = Buffer.from('+QUEUED\r\n');
const FALSE3 = Buffer.from('#f\r\n');

/** Error lines must not contain CR/LF (Redis replaces them with spaces). */
function sanitizeLine(s: string): string {
  return /[\r\n]/.test(s) ? s.replace(/[\r\n]/g, ' ') : s;
}

/**
 * Appends encoded replies to one growing buffer, so that all replies produced in a tick leave in one
 * write. `take()` hands out the bytes so far and starts over.
 */
export class RespWriter {
  private buf: Buffer;
  private len = 0;

  constructor(initialSize = 16 * 1024) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  get length(): number {
    return this.len;
  }

  /**
   * The bytes written since the last take()/release(), as a view of the internal buffer. Call release()
   * before writing again: release(true) when nobody holds the view any more (the buffer is reused),
   * release(false) when someone still does (e.g. a socket write still in flight; a new buffer is used).
   */
  view(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  release(reuse: boolean): void {
    this.len = 0;
    if (!reuse || this.buf.length > 1024 * 1024) this.buf = Buffer.allocUnsafe(16 * 1024);
  }

  /** The bytes written since the last take(), as a fresh Buffer. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.len);
    this.buf.copy(out, 0, 0, this.len);
    this.len = 0;
    if (this.buf.length > 1024 * 1024) this.buf = Buffer.allocUnsafe(16 * 1024);
    return out;
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const nb = Buffer.allocUnsafe(size);
    this.buf.copy(nb, 0, 0, this.len);
    this.buf = nb;
  }

  raw(b: Buffer): void {
    const n = b.length;
    this.reserve(n);
    if (n <= 32) {
      // Small constants: a loop beats the native copy call.
      const buf = this.buf;
      let o = this.len;
      for (let i = 0; i < n; i++) buf[o++] = b[i]!;
    } else {
      b.copy(this.buf, this.len);
    }
    this.len += n;
  }

  /** ASCII-only text. */
  private ascii(s: string): void {
    this.reserve(s.length);
    this.len += this.buf.write(s, this.len, 'latin1');
  }

  write(r: Reply, proto: RespVersion): void {
    if (r === null) {
      this.raw(proto === 3 ? NULL3 : NULL2);
    } else if (typeof r === 'string') {
      const n = Buffer.byteLength(r);
      this.header(n);
      this.reserve(n + 2);
      this.len += this.buf.write(r, this.len, 'utf8');
      this.raw(CRLF_BUF);
    } else if (typeof r === 'number') {
      if (r >= 0 && r < 1024 && Number.isInteger(r)) this.raw(SMALL_INTS[r]!);
      else this.counted(58, Number.isInteger(r) ? r : Math.trunc(r));
    } else if (r instanceof Buffer) {
      const n = r.length;
      this.header(n);
      this.reserve(n + 2);
      const buf = this.buf;
      let o = this.len;
      // Short values: a loop beats copy(), which builds a Uint8Array view per call.
      if (n <= 64) for (let i = 0; i < n; i++) buf[o++] = r[i]!;
      else o += r.copy(buf, o);
      buf[o++] = 13;
      buf[o++] = 10;
      this.len = o;
    } else if (r instanceof SimpleString) {
      if (r === OK) this.raw(OK_BUF);
      else if (r === PONG) this.raw(PONG_BUF);
      else if (r === QUEUED) this.raw(QUEUED_BUF);
      else this.line('+', sanitizeLine(r.value));
    } else if (r instanceof ErrorReply) {
      this.line('-', sanitizeLine(r.message));
    } else if (Array.isArray(r)) {
      this.counted(42, r.length);
      for (const item of r) this.write(item, proto);
    } else if (r === NULL_ARRAY) {
      this.raw(proto === 3 ? NULL3 : NULL_ARRAY2);
    } else if (typeof r === 'bigint') {
      this.ascii(`:${r}\r\n`);
    } else if (typeof r === 'boolean') {
      if (proto === 3) this.raw(r ? TRUE3 : FALSE3);
      else this.raw(SMALL_INTS[r ? 1 : 0]!);
    } else if (r instanceof RespMap) {
      this.ascii(proto === 3 ? `%${r.entries.length}\r\n` : `*${r.entries.length * 2}\r\n`);
      for (const [k, v] of r.entries) {
        this.write(k, proto);
        this.write(v, proto);
      }
    } else if (r instanceof RespSet) {
      this.ascii(`${proto === 3 ? '~' : '*'}${r.items.length}\r\n`);
      for (const item of r.items) this.write(item, proto);
    } else if (r instanceof RespPush) {
      this.ascii(`${proto === 3 ? '>' : '*'}${r.items.length}\r\n`);
      for (const item of r.items) this.write(item, proto);
    } else if (r instanceof RespDouble) {
      const s = formatDouble(r.value);
      if (proto === 3) this.ascii(`,${s}\r\n`);
      else this.ascii(`$${s.length}\r\n${s}\r\n`);
    } else if (r instanceof RespVerbatim) {
      const body = Buffer.from(r.text);
      if (proto === 3) {
        this.ascii(`=${body.length + 4}\r\n${r.format}:`);
        this.raw(body);
        this.raw(CRLF_BUF);
      } else {
        this.write(body, 2);
      }
    } else if (r instanceof MultiReply) {
      for (const item of r.replies) this.write(item, proto);
    } else {
      throw new BeamOptionError(`not a Reply: ${String(r)}`, 'BEAM_NOT_A_REPLY');
    }
  }

  private header(n: number): void {
    if (n < 1024) this.raw(BULK_HEADERS[n]!);
    else this.counted(36, n);
  }

  /** `<prefix><n>\r\n` for an integer n, digits written in place (no string, no native call). */
  private counted(prefix: number, n: number): void {
    if (!Number.isSafeInteger(n)) {
      this.ascii(`${String.fromCharCode(prefix)}${n}\r\n`);
      return;
    }
    this.reserve(24);
    const buf = this.buf;
    let o = this.len;
    buf[o++] = prefix;
    if (n < 0) {
      buf[o++] = 45;
      n = -n;
    }
    let digits = 1;
    for (let p = 10; p <= n; p *= 10) digits++;
    o += digits;
    for (let i = 1; i <= digits; i++) {
      buf[o - i] = 48 + (n % 10);
      n = Math.floor(n / 10);
    }
    buf[o++] = 13;
    buf[o++] = 10;
    this.len = o;
  }

  private line(prefix: string, text: string): void {
    const n = Buffer.byteLength(text);
    this.reserve(n + 3);
    this.buf.write(prefix, this.len, 'latin1');
    this.len++;
    this.len += this.buf.write(text, this.len, 'utf8');
    this.buf[this.len++] = 13;
    this.buf[this.len++] = 10;
  }
}

/** Encodes one reply on its own (tests, one-off writes). */
export function encodeReply(r: Reply, proto: RespVersion): Buffer {
  const w = new RespWriter(256);
  w.write(r, proto);
  return w.take();
}
