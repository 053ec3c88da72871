import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { encodeCommand } from '../../src/wire/command-encoder.js';
import { ErrorReply } from '../../src/wire/reply.js';
import { ReplyDecoder } from '../../src/wire/reply-decoder.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SnapshotEntry, SnapshotValueType } from '../../src/sync/snapshot-source.js';
import type { SnapshotKeyspace } from '../../src/sync/snapshot.js';
import { members, pairs } from '../../src/sync/values.js';

/** Test helpers for the sync tests: real redis-server processes, a mini keyspace, a RESP request splitter. */

export function which(cmd: string): Promise<boolean> {
  return new Promise((resolve) => execFile('sh', ['-c', `command -v ${cmd}`], (err) => resolve(!err)));
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'beam-sync-'));
}

import { freePort, run, waitFor } from '../../src/testing/redis-servers.js';

export { freePort, run, waitFor };

export interface RedisProcess {
  port: number;
  dir: string;
  proc: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

/** Starts redis-server on 127.0.0.1 with persistence off and waits until it answers PING. */
export async function startRedis(extra: string[] = [], dir = tempDir()): Promise<RedisProcess> {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...extra];
  const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(`redis-server on ${port}`, async () => {
      if (proc.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
      const r = await run('redis-cli', ['-p', String(port), 'PING'], 2000);
      return r.stdout.trim() === 'PONG';
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, dir, proc, log: () => output, stop };
}

/** Splits RESP multibulk requests (and inline ones) out of a byte stream. Test-only, trusts its input. */
export class RequestSplitter {
  private buf = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[][] {
    this.buf = Buffer.concat([this.buf, chunk]);
    const out: Buffer[][] = [];
    for (;;) {
      const cmd = this.one();
      if (cmd === null) break;
      if (cmd.length > 0) out.push(cmd);
    }
    return out;
  }

  private one(): Buffer[] | null {
    const b = this.buf;
    const eol = b.indexOf('\r\n');
    if (eol < 0) return null;
    if (b[0] !== 0x2a) {
      this.buf = b.subarray(eol + 2);
      const line = b.subarray(0, eol).toString('latin1').trim();
      return line === '' ? [] : line.split(/\s+/).map((s) => Buffer.from(s, 'latin1'));
    }
    const n = Number(b.subarray(1, eol).toString('latin1'));
    let p = eol + 2;
    const argv: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const e = b.indexOf('\r\n', p);
      if (e < 0) return null;
      const len = Number(b.subarray(p + 1, e).toString('latin1'));
      if (e + 2 + len + 2 > b.length) return null;
      argv.push(b.subarray(e + 2, e + 2 + len));
      p = e + 2 + len + 2;
    }
    this.buf = b.subarray(p);
    return argv;
  }
}

interface Item {
  key: Buffer;
  type: SnapshotValueType;
  value: Buffer | Buffer[] | Map<string, Buffer> | Set<string>;
  expireAt: number | null;
}

/**
 * A tiny keyspace that mutates containers in place (like the real Context) and reports it through the
 * onBeforeMutate hook. Hash fields and set members are latin1 strings (binary safe), list items Buffers.
 */
export class MiniKeyspace implements SnapshotKeyspace {
  readonly databases = 16;
  readonly dbs = new Map<number, Map<string, Item>>();
  private readonly listeners = new Set<(c: object) => void>();
  hookEnabled = true;

  get onBeforeMutate(): SnapshotKeyspace['onBeforeMutate'] {
    if (!this.hookEnabled) return undefined;
    return (listener) => {
      this.listeners.add(listener);
      return () => this.listeners.delete(listener);
    };
  }

  get hookListeners(): number {
    return this.listeners.size;
  }

  *entries(db: number): Iterable<SnapshotEntry> {
    for (const it of this.dbs.get(db)?.values() ?? []) yield { key: it.key, type: it.type, value: it.value, expireAt: it.expireAt };
  }

  /** Inserts raw entries, normalized to the shapes apply() mutates (Buffer[] / Map / Set with latin1 strings). */
  load(db: number, entries: Iterable<SnapshotEntry>): void {
    const m = this.db(db);
    const str = (x: unknown): string => (Buffer.isBuffer(x) ? x.toString('latin1') : String(x));
    const buf = (x: unknown): Buffer => (Buffer.isBuffer(x) ? x : Buffer.from(String(x), 'latin1'));
    for (const e of entries) {
      const key = buf(e.key);
      let value: Item['value'];
      if (e.type === 'string') value = buf(e.value);
      else if (e.type === 'list') value = [...members(e.value).items].map(buf);
      else if (e.type === 'set') value = new Set([...members(e.value).items].map(str));
      else value = new Map([...pairs(e.value).items].map(([f, v]) => [str(f), buf(v)]));
      if (e.type !== 'string' && (Array.isArray(value) ? value.length : (value as Set<string>).size) === 0) continue;
      m.set(key.toString('latin1'), { key, type: e.type, value, expireAt: e.expireAt });
    }
  }

  private touch(c: object): void {
    for (const l of this.listeners) l(c);
  }

  private db(db: number): Map<string, Item> {
    let m = this.dbs.get(db);
    if (!m) this.dbs.set(db, (m = new Map()));
    return m;
  }

  /** Applies SET/RPUSH/HSET/SADD/DEL/PEXPIREAT/APPEND; returns the argv to propagate. */
  apply(db: number, argv: Array<Buffer | string>): { db: number; argv: Buffer[] } {
    const a = argv.map((x) => (Buffer.isBuffer(x) ? x : Buffer.from(x, 'latin1')));
    const cmd = a[0]!.toString().toLowerCase();
    const k = a[1]!.toString('latin1');
    const m = this.db(db);
    const cur = m.get(k);
    switch (cmd) {
      case 'set':
        m.set(k, { key: a[1]!, type: 'string', value: a[2]!, expireAt: null });
        break;
      case 'append': {
        // in place into the same Buffer object is impossible (fixed size): model it as a new Buffer
        const old = (cur?.value as Buffer | undefined) ?? Buffer.alloc(0);
        m.set(k, { key: a[1]!, type: 'string', value: Buffer.concat([old, a[2]!]), expireAt: cur?.expireAt ?? null });
        break;
      }
      case 'rpush': {
        const it = cur ?? { key: a[1]!, type: 'list' as const, value: [] as Buffer[], expireAt: null };
        this.touch(it.value as object);
        (it.value as Buffer[]).push(...a.slice(2));
        m.set(k, it);
        break;
      }
      case 'hset': {
        const it = cur ?? { key: a[1]!, type: 'hash' as const, value: new Map<string, Buffer>(), expireAt: null };
        this.touch(it.value as object);
        for (let i = 2; i + 1 < a.length; i += 2) (it.value as Map<string, Buffer>).set(a[i]!.toString('latin1'), a[i + 1]!);
        m.set(k, it);
        break;
      }
      case 'sadd': {
        const it = cur ?? { key: a[1]!, type: 'set' as const, value: new Set<string>(), expireAt: null };
        this.touch(it.value as object);
        for (const x of a.slice(2)) (it.value as Set<string>).add(x.toString('latin1'));
        m.set(k, it);
        break;
      }
      case 'del':
        m.delete(k);
        break;
      case 'pexpireat':
        if (cur) cur.expireAt = Number(a[2]!.toString());
        break;
      default:
        throw new Error(`MiniKeyspace: unsupported ${cmd}`);
    }
    return { db, argv: a };
  }
}

/** Canonical, comparable form of a keyspace: db -> key(hex) -> "type:..." with sorted hash/set content. */
export type Canon = Map<number, Map<string, string>>;

export function canonValue(type: string, value: unknown): string {
  const hex = (b: unknown): string => (Buffer.isBuffer(b) ? b.toString('hex') : Buffer.from(String(b), 'latin1').toString('hex'));
  switch (type) {
    case 'string':
      return `string:${hex(value)}`;
    case 'list':
      return `list:${(value as unknown[]).map(hex).join(',')}`;
    case 'set':
      return `set:${[...(value as Iterable<unknown>)].map(hex).sort().join(',')}`;
    case 'hash': {
      const pairs = value instanceof Map ? [...value] : (value as Array<[unknown, unknown]>);
      return `hash:${pairs.map(([f, v]) => `${hex(f)}=${hex(v)}`).sort().join(',')}`;
    }
    default:
      return `${type}:?`;
  }
}

export function canonOf(entries: Iterable<{ db: number; key: Buffer | string; type: string; value: unknown }>): Canon {
  const out: Canon = new Map();
  for (const e of entries) {
    let m = out.get(e.db);
    if (!m) out.set(e.db, (m = new Map()));
    const key = Buffer.isBuffer(e.key) ? e.key.toString('hex') : Buffer.from(e.key, 'latin1').toString('hex');
    m.set(key, canonValue(e.type, e.value));
  }
  return out;
}

export function canonOfKeyspace(ks: MiniKeyspace): Canon {
  const all: Array<{ db: number; key: Buffer; type: string; value: unknown }> = [];
  for (const [db, m] of ks.dbs) for (const it of m.values()) all.push({ db, key: it.key, type: it.type, value: it.value });
  return canonOf(all);
}

/** Plain objects for chai deep equality with readable diffs. */
export function plain(c: Canon): Record<string, Record<string, string>> {
  const o: Record<string, Record<string, string>> = {};
  for (const [db, m] of [...c].sort((a, b) => a[0] - b[0])) if (m.size > 0) o[db] = Object.fromEntries([...m].sort());
  return o;
}

/** A minimal RESP client over the ReplyDecoder (binary replies as Buffers) for checking real servers. */
export class RespClient {
  private readonly queue: Array<{ resolve: (v: unknown) => void; reject: (e: Error) => void }> = [];
  private constructor(private readonly sock: Socket) {
    const decoder = new ReplyDecoder({
      onReply: (r) => {
        const q = this.queue.shift();
        if (r instanceof ErrorReply) q?.reject(new Error(r.message));
        else q?.resolve(r);
      },
    });
    sock.on('data', (d: Buffer) => decoder.feed(d));
    sock.on('error', () => {});
    sock.on('close', () => {
      for (const q of this.queue.splice(0)) q.reject(new Error('connection closed'));
    });
  }

  static connect(port: number): Promise<RespClient> {
    return new Promise((resolve, reject) => {
      const sock = connect(port, '127.0.0.1');
      sock.once('error', reject);
      sock.once('connect', () => resolve(new RespClient(sock)));
    });
  }

  call(...args: Array<string | Buffer | number>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queue.push({ resolve, reject });
      this.sock.write(encodeCommand(args.map((a) => (typeof a === 'number' ? String(a) : a))));
    });
  }

  async str(...args: Array<string | Buffer | number>): Promise<string> {
    const r = await this.call(...args);
    return Buffer.isBuffer(r) ? r.toString('latin1') : String(r);
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Reads every key of dbs 0..15 of a real server into canonical form, with each key's PTTL (-1 for none). */
export async function readRedis(c: RespClient): Promise<{ canon: Canon; ttl: Map<string, number> }> {
  const entries: Array<{ db: number; key: Buffer; type: string; value: unknown }> = [];
  const ttl = new Map<string, number>();
  for (let db = 0; db < 16; db++) {
    await c.call('SELECT', db);
    const keys = (await c.call('KEYS', '*')) as Buffer[];
    for (const key of keys) {
      const type = await c.str('TYPE', key);
      let value: unknown;
      if (type === 'string') value = await c.call('GET', key);
      else if (type === 'list') value = await c.call('LRANGE', key, 0, -1);
      else if (type === 'set') value = await c.call('SMEMBERS', key);
      else if (type === 'hash') {
        const flat = (await c.call('HGETALL', key)) as Buffer[];
        const pairs: Array<[Buffer, Buffer]> = [];
        for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
        value = pairs;
      } else if (type === 'zset') value = await c.call('ZRANGE', key, 0, -1, 'WITHSCORES');
      entries.push({ db, key, type, value });
      ttl.set(`${db}:${key.toString('hex')}`, Number(await c.call('PTTL', key)));
    }
  }
  await c.call('SELECT', 0);
  return { canon: canonOf(entries), ttl };
}
