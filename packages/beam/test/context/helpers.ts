import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  ErrorReply,
  NULL_ARRAY,
  RespDouble,
  RespMap,
  RespPush,
  RespSet,
  RespVerbatim,
  SimpleString,
  type Reply,
} from '../../src/wire/reply.js';
import type { ClientState } from '../../src/context/api.js';
import type { Context } from '../../src/context/context.js';

/** Splits a command line: spaces separate words, "double quotes" with \xHH, \n, \" escapes, "" = empty word. */
export function words(line: string): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] === ' ') {
      i++;
      continue;
    }
    if (line[i] === '"') {
      const bytes: number[] = [];
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\') {
          const n = line[i + 1];
          if (n === 'x') {
            bytes.push(parseInt(line.slice(i + 2, i + 4), 16));
            i += 4;
            continue;
          }
          bytes.push(n === 'n' ? 10 : n === 'r' ? 13 : n!.charCodeAt(0));
          i += 2;
          continue;
        }
        bytes.push(...Buffer.from(line[i]!, 'utf8'));
        i++;
      }
      i++;
      out.push(Buffer.from(bytes));
      continue;
    }
    let j = i;
    while (j < line.length && line[j] !== ' ') j++;
    out.push(Buffer.from(line.slice(i, j), 'utf8'));
    i = j;
  }
  return out;
}

export function client(db = 0, resp: 2 | 3 = 2): ClientState & { abort: () => void } {
  const ac = new AbortController();
  return { id: 1, db, resp, name: null, inExec: false, internal: false, signal: ac.signal, abort: () => ac.abort() };
}

/** Runs one command line synchronously (fails the test if it returns a Promise). */
export function run(ctx: Context, c: ClientState, line: string): Reply {
  const r = ctx.call(c, words(line));
  if (r instanceof Promise) throw new Error(`unexpected blocking reply for ${line}`);
  return r;
}

/** RESP2 bytes of a reply, as Redis would send them to a RESP2 client. */
export function resp2(r: Reply): Buffer {
  const parts: Buffer[] = [];
  const enc = (x: Reply): void => {
    if (x === null) parts.push(Buffer.from('$-1\r\n'));
    else if (x === NULL_ARRAY) parts.push(Buffer.from('*-1\r\n'));
    else if (Buffer.isBuffer(x) || typeof x === 'string') {
      const b = Buffer.isBuffer(x) ? x : Buffer.from(x);
      parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
    } else if (typeof x === 'number' || typeof x === 'bigint') parts.push(Buffer.from(`:${x}\r\n`));
    else if (typeof x === 'boolean') parts.push(Buffer.from(`:${x ? 1 : 0}\r\n`));
    else if (Array.isArray(x)) {
      parts.push(Buffer.from(`*${x.length}\r\n`));
      x.forEach(enc);
    } else if (x instanceof SimpleString) parts.push(Buffer.from(`+${x.value}\r\n`));
    else if (x instanceof ErrorReply) parts.push(Buffer.from(`-${x.message}\r\n`));
    else if (x instanceof RespMap) {
      parts.push(Buffer.from(`*${x.entries.length * 2}\r\n`));
      for (const [k, v] of x.entries) (enc(k), enc(v));
    } else if (x instanceof RespSet || x instanceof RespPush) {
      parts.push(Buffer.from(`*${x.items.length}\r\n`));
      x.items.forEach(enc);
    } else if (x instanceof RespDouble) enc(String(x.value));
    else if (x instanceof RespVerbatim) enc(x.text);
    else throw new Error('unknown reply');
  };
  enc(r);
  return Buffer.concat(parts);
}

export type Parsed = string | number | null | Parsed[] | { err: string } | { simple: string } | { nullArray: true };

/** Parses one RESP2 reply from buf at off; returns [value, next offset] or null when incomplete. */
export function parseResp2(buf: Buffer, off: number): [Parsed, number] | null {
  const eol = buf.indexOf('\r\n', off);
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[off]!);
  const line = buf.toString('latin1', off + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+':
      return [{ simple: line }, next];
    case '-':
      return [{ err: line }, next];
    case ':':
      return [Number(line) === Number(BigInt(line)) && Number.isSafeInteger(Number(line)) ? Number(line) : line, next];
    case '$': {
      const n = Number(line);
      if (n < 0) return [null, next];
      if (buf.length < next + n + 2) return null;
      return [buf.toString('latin1', next, next + n), next + n + 2];
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return [{ nullArray: true }, next];
      const items: Parsed[] = [];
      let o = next;
      for (let i = 0; i < n; i++) {
        const r = parseResp2(buf, o);
        if (r === null) return null;
        items.push(r[0]);
        o = r[1];
      }
      return [items, o];
    }
    default:
      throw new Error(`bad RESP type ${type}`);
  }
}

/** Minimal RESP2 connection to a real redis-server. */
export class RespConn {
  private buf = Buffer.alloc(0);
  private waiting: Array<(p: Parsed) => void> = [];
  private constructor(private readonly sock: net.Socket) {
    sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (;;) {
        if (this.waiting.length === 0) break;
        const r = parseResp2(this.buf, 0);
        if (r === null) break;
        this.buf = this.buf.subarray(r[1]);
        this.waiting.shift()!(r[0]);
      }
    });
  }

  static connect(port: number): Promise<RespConn> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new RespConn(s)));
      s.once('error', reject);
    });
  }

  send(argv: Buffer[]): Promise<Parsed> {
    const parts: Buffer[] = [Buffer.from(`*${argv.length}\r\n`)];
    for (const a of argv) parts.push(Buffer.from(`$${a.length}\r\n`), a, Buffer.from('\r\n'));
    this.sock.write(Buffer.concat(parts));
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  close(): void {
    this.sock.destroy();
  }
}

export function hasRedisServer(): boolean {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

/** Starts redis-server on a free 127.0.0.1 port; resolves once it accepts connections. */
export async function startRedis(): Promise<{ proc: ChildProcess; port: number }> {
  const port = await new Promise<number>((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
  // Its own dir: SYNC (disk-based replication) makes redis-server write dump.rdb there, not in the test's cwd.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'beam-ref-redis-'));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir], {
    stdio: 'ignore',
  });
  proc.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  for (let i = 0; i < 100; i++) {
    try {
      const c = await RespConn.connect(port);
      c.close();
      return { proc, port };
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  proc.kill();
  throw new Error('redis-server did not start');
}
