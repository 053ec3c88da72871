import { ReplicationError } from './errors.js';

/** One command of a replication stream and the number of stream bytes it took (for offsets). */
export interface StreamCommand {
  argv: Buffer[];
  bytes: number;
}

export interface StreamReaderOptions {
  /** Longest bulk string accepted (default 512 MiB). */
  maxBulk?: number;
  /** Most arguments in one command (default 1M). */
  maxArgs?: number;
}

class NeedMore {
  constructor(readonly need: number) {}
}

/**
 * Incremental reader of the replica side of a replication stream: RESP arrays of bulk strings, plus the bare
 * newlines a master may send as keep-alives (counted as bytes, yielding no command). Chunks are only joined
 * once enough bytes for the next command are in, so a large value arriving in many chunks costs O(size).
 * Malformed input throws ReplicationError `REPL_PROTOCOL`.
 */
export class ReplicationStreamReader {
  private rest: Buffer = Buffer.alloc(0);
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private need = 0;
  private readonly maxBulk: number;
  private readonly maxArgs: number;

  constructor(opts: StreamReaderOptions = {}) {
    this.maxBulk = opts.maxBulk ?? 512 * 1024 * 1024;
    this.maxArgs = opts.maxArgs ?? 1024 * 1024;
  }

  /** Bytes received but not yet part of a whole command. */
  get buffered(): number {
    return this.rest.length + this.queuedBytes;
  }

  push(chunk: Buffer): StreamCommand[] {
    this.queued.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.rest.length + this.queuedBytes < this.need) return [];
    const buf = this.queued.length === 1 && this.rest.length === 0 ? this.queued[0]! : Buffer.concat([this.rest, ...this.queued]);
    this.queued = [];
    this.queuedBytes = 0;
    const out: StreamCommand[] = [];
    let pos = 0;
    try {
      while (pos < buf.length) {
        const start = pos;
        const r = this.one(buf, pos);
        pos = r.end;
        if (r.argv !== null) out.push({ argv: r.argv, bytes: pos - start });
        else if (out.length > 0) out[out.length - 1]!.bytes += pos - start;
        else out.push({ argv: [], bytes: pos - start });
      }
      this.need = 0;
    } catch (e) {
      if (!(e instanceof NeedMore)) throw e;
      this.need = e.need - pos;
    }
    this.rest = buf.subarray(pos);
    return out;
  }

  private line(buf: Buffer, pos: number): number {
    const eol = buf.indexOf(13, pos);
    if (eol < 0 || eol + 1 >= buf.length) {
      if (buf.length - pos > 64) throw new ReplicationError('REPL_PROTOCOL', 'replication stream: header line too long');
      throw new NeedMore(buf.length + 1);
    }
    if (buf[eol + 1] !== 10) throw new ReplicationError('REPL_PROTOCOL', 'replication stream: CR without LF');
    return eol;
  }

  private int(buf: Buffer, from: number, to: number): number {
    const s = buf.toString('latin1', from, to);
    if (!/^-?\d{1,12}$/.test(s)) throw new ReplicationError('REPL_PROTOCOL', `replication stream: bad length ${JSON.stringify(s)}`);
    return Number(s);
  }

  private one(buf: Buffer, pos: number): { argv: Buffer[] | null; end: number } {
    const c = buf[pos];
    if (c === 10) return { argv: null, end: pos + 1 };
    if (c !== 42) throw new ReplicationError('REPL_PROTOCOL', `replication stream: expected '*', got byte ${c}`);
    let eol = this.line(buf, pos);
    const n = this.int(buf, pos + 1, eol);
    if (n < 0 || n > this.maxArgs) throw new ReplicationError('REPL_PROTOCOL', `replication stream: bad argument count ${n}`);
    let p = eol + 2;
    const argv: Buffer[] = new Array<Buffer>(n);
    for (let i = 0; i < n; i++) {
      if (p >= buf.length) throw new NeedMore(buf.length + 1);
      if (buf[p] !== 36) throw new ReplicationError('REPL_PROTOCOL', `replication stream: expected '$', got byte ${buf[p]}`);
      eol = this.line(buf, p);
      const len = this.int(buf, p + 1, eol);
      if (len < 0 || len > this.maxBulk) throw new ReplicationError('REPL_PROTOCOL', `replication stream: bad bulk length ${len}`);
      const start = eol + 2;
      if (start + len + 2 > buf.length) throw new NeedMore(start + len + 2);
      argv[i] = buf.subarray(start, start + len);
      p = start + len + 2;
    }
    return { argv, end: p };
  }
}
