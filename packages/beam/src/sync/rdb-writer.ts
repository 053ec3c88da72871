import { Readable } from 'node:stream';
import { Crc64 } from './crc64.js';
import {
  RDB_ENC_INT16,
  RDB_ENC_INT32,
  RDB_ENC_INT8,
  RDB_MAGIC,
  RDB_WRITE_VERSION,
  RdbOpcode,
  RdbType,
} from './rdb-format.js';
import type { SnapshotBytes, SnapshotEntry, SnapshotSource, StreamValue } from './snapshot-source.js';
import { encodeListpack } from './listpack-encoder.js';
import { members, pairs, zsetPairs } from './values.js';
import { RdbError } from './errors.js';

/**
 * RDB serializer (format version 9; see rdb-format.ts for why). Emits strings (type 0, integer-encoded like Redis
 * when the text is a canonical int32), lists as type 1, sets as type 2 and hashes as type 4: the plain encodings
 * every Redis since 2.x loads, and sorted sets as type 5 (ZSET_2, binary scores, Redis 4+); Redis 7 converts them
 * to listpack/quicklist on load. Empty collections are skipped.
 */

export interface RdbWriteOptions {
  /** `repl-id`/`repl-offset` aux fields (omitted when replId is undefined). */
  replId?: string;
  replOffset?: number;
  /** `repl-stream-db` aux field: the db the live stream continues in (default 0). */
  replStreamDb?: number;
  /** `redis-ver` aux field (default '7.0.0'). */
  redisVersion?: string;
  /** `ctime` aux field in seconds (default now). */
  ctime?: number;
  /** `used-mem` aux field (default the process heap in use). */
  usedMem?: number;
  /** `aof-base` aux field (default false: written as 0). */
  aofBase?: boolean;
  /** Encoding of JS-string keys/members/values (default 'latin1', the binary-safe one). */
  stringEncoding?: BufferEncoding;
  /** Size of the chunks yielded (default 64 KiB; values larger than this go out as their own chunk). */
  chunkSize?: number;
  /** The async writer yields to the event loop after this many keys (default 256)... */
  yieldEveryKeys?: number;
  /** ...or this many bytes (default 1 MiB), whichever comes first. */
  yieldEveryBytes?: number;
}

/** Marker yielded by `rdbChunksSync` where the async writer gives the event loop a turn. */
export const YIELD_POINT: unique symbol = Symbol('rdb-yield-point');

class ChunkedOutput {
  readonly ready: Buffer[] = [];
  readonly crc = new Crc64();
  private cur: Buffer;
  private pos = 0;
  total = 0;

  constructor(private readonly chunkSize: number) {
    this.cur = Buffer.allocUnsafe(chunkSize);
  }

  private ensure(n: number): void {
    if (this.pos + n > this.cur.length) this.flush();
  }

  flush(): void {
    if (this.pos === 0) return;
    const chunk = this.cur.subarray(0, this.pos);
    this.crc.update(chunk);
    this.ready.push(chunk);
    this.cur = Buffer.allocUnsafe(this.chunkSize);
    this.pos = 0;
  }

  byte(b: number): void {
    this.ensure(1);
    this.cur[this.pos++] = b;
    this.total += 1;
  }

  bytes(data: Uint8Array): void {
    if (data.length <= this.cur.length - this.pos) {
      this.cur.set(data, this.pos);
      this.pos += data.length;
    } else if (data.length < this.chunkSize / 2) {
      this.flush();
      this.cur.set(data, 0);
      this.pos = data.length;
    } else {
      // Large value: its own chunk, copied so later in-place writes to the keyspace cannot change sent bytes.
      this.flush();
      const copy = Buffer.from(data);
      this.crc.update(copy);
      this.ready.push(copy);
    }
    this.total += data.length;
  }

  length(len: number): void {
    this.ensure(9);
    const b = this.cur;
    if (len < 1 << 6) {
      b[this.pos++] = len;
      this.total += 1;
    } else if (len < 1 << 14) {
      b[this.pos++] = 0x40 | (len >> 8);
      b[this.pos++] = len & 0xff;
      this.total += 2;
    } else if (len <= 0xffffffff) {
      b[this.pos++] = 0x80;
      b.writeUInt32BE(len, this.pos);
      this.pos += 4;
      this.total += 5;
    } else {
      b[this.pos++] = 0x81;
      b.writeBigUInt64BE(BigInt(len), this.pos);
      this.pos += 8;
      this.total += 9;
    }
  }

  /** A length up to 2^64 - 1 (stream IDs and counters); -1 is written as 2^64 - 1, as C's cast does. */
  lengthBig(v: bigint): void {
    if (v < 0n) v += 1n << 64n;
    if (v <= 0xffffffffn) {
      this.length(Number(v));
      return;
    }
    this.ensure(9);
    this.cur[this.pos++] = 0x81;
    this.cur.writeBigUInt64BE(v, this.pos);
    this.pos += 8;
    this.total += 9;
  }

  doubleLE(v: number): void {
    this.ensure(8);
    this.cur.writeDoubleLE(v, this.pos);
    this.pos += 8;
    this.total += 8;
  }

  int64LE(v: number): void {
    this.ensure(8);
    this.cur.writeBigInt64LE(BigInt(Math.trunc(v)), this.pos);
    this.pos += 8;
    this.total += 8;
  }

  /** Integer-encoded string (RDB_ENC_INT8/16/32), as rdbTryIntegerEncoding does. */
  intString(v: number): void {
    this.ensure(5);
    const b = this.cur;
    if (v >= -128 && v <= 127) {
      b[this.pos++] = 0xc0 | RDB_ENC_INT8;
      b.writeInt8(v, this.pos);
      this.pos += 1;
      this.total += 2;
    } else if (v >= -32768 && v <= 32767) {
      b[this.pos++] = 0xc0 | RDB_ENC_INT16;
      b.writeInt16LE(v, this.pos);
      this.pos += 2;
      this.total += 3;
    } else {
      b[this.pos++] = 0xc0 | RDB_ENC_INT32;
      b.writeInt32LE(v, this.pos);
      this.pos += 4;
      this.total += 5;
    }
  }

  take(): Buffer[] {
    return this.ready.splice(0, this.ready.length);
  }
}

/** The int32 a short string spells canonically ("-12", not "012", "+1" or "-0"), or null. */
function canonicalInt32(s: Buffer): number | null {
  const n = s.length;
  if (n === 0 || n > 11) return null;
  let i = 0;
  const neg = s[0] === 0x2d;
  if (neg) {
    if (n === 1) return null;
    i = 1;
  }
  if (s[i] === 0x30 && n > i + 1) return null; // leading zero
  let v = 0;
  for (; i < n; i++) {
    const c = s[i]!;
    if (c < 0x30 || c > 0x39) return null;
    v = v * 10 + (c - 0x30);
  }
  if (neg) {
    if (v === 0) return null;
    v = -v;
  }
  return v >= -2147483648 && v <= 2147483647 ? v : null;
}

class RdbEncoder {
  constructor(
    readonly out: ChunkedOutput,
    private readonly enc: BufferEncoding,
  ) {}

  toBuffer(v: SnapshotBytes | number): Buffer {
    if (Buffer.isBuffer(v)) return v;
    if (typeof v === 'number') return Buffer.from(String(v), 'latin1');
    return Buffer.from(v, this.enc);
  }

  string(v: SnapshotBytes | number): void {
    const b = this.toBuffer(v);
    const asInt = canonicalInt32(b);
    if (asInt !== null) {
      this.out.intString(asInt);
      return;
    }
    this.out.length(b.length);
    this.out.bytes(b);
  }

  aux(name: string, value: string | number): void {
    this.out.byte(RdbOpcode.AUX);
    this.string(Buffer.from(name, 'latin1'));
    this.string(typeof value === 'number' ? String(value) : Buffer.from(value, 'latin1'));
  }

  /** Writes one key; returns false (writing nothing) for an empty collection. */
  entry(e: SnapshotEntry): boolean {
    const out = this.out;
    switch (e.type) {
      case 'string': {
        this.writeHeader(e, RdbType.STRING);
        this.string(e.value as SnapshotBytes);
        return true;
      }
      case 'list':
      case 'set': {
        const { count, items } = members(e.value);
        if (count === 0) return false;
        this.writeHeader(e, e.type === 'list' ? RdbType.LIST : RdbType.SET);
        out.length(count);
        let written = 0;
        for (const item of items) {
          if (written++ === count) break;
          this.string(item);
        }
        if (written < count) throw new RdbError('RDB_BAD_VALUE', `${e.type} value yielded fewer items than its size`);
        return true;
      }
      case 'hash': {
        const { count, items } = pairs(e.value);
        if (count === 0) return false;
        this.writeHeader(e, RdbType.HASH);
        out.length(count);
        let written = 0;
        for (const [field, value] of items) {
          if (written++ === count) break;
          this.string(field);
          this.string(value);
        }
        if (written < count) throw new RdbError('RDB_BAD_VALUE', 'hash value yielded fewer pairs than its size');
        return true;
      }
      case 'zset': {
        // RDB_TYPE_ZSET_2: member strings with binary double scores.
        const { count, items } = zsetPairs(e.value);
        if (count === 0) return false;
        this.writeHeader(e, RdbType.ZSET_2);
        out.length(count);
        let written = 0;
        for (const [member, score] of items) {
          if (written++ === count) break;
          this.string(member);
          out.doubleLE(score);
        }
        if (written < count) throw new RdbError('RDB_BAD_VALUE', 'zset value yielded fewer pairs than its size');
        return true;
      }
      case 'stream':
        this.writeHeader(e, RdbType.STREAM_LISTPACKS_2);
        this.stream(e.value as StreamValue);
        return true;
      default:
        throw new RdbError('RDB_BAD_VALUE', `cannot serialize value type ${String((e as { type: unknown }).type)}`);
    }
  }

  /** RDB_TYPE_STREAM_LISTPACKS_2, as Redis 7.0 writes it (rdbSaveObject). */
  private stream(s: StreamValue): void {
    const out = this.out;
    const MASK = (1n << 64n) - 1n;
    const idParts = (id: bigint): void => {
      out.lengthBig(id >> 64n);
      out.lengthBig(id & MASK);
    };
    const rawId = (id: bigint): Buffer => {
      const b = Buffer.alloc(16);
      b.writeBigUInt64BE(id >> 64n, 0);
      b.writeBigUInt64BE(id & MASK, 8);
      return b;
    };
    out.length(s.nodes.length);
    for (const n of s.nodes) {
      const mf = n.masterFields;
      const items: Array<Buffer | number | bigint> = [n.live, n.entries.length - n.live, mf.length, ...mf, 0];
      const mms = n.master >> 64n;
      const mseq = n.master & MASK;
      for (const e of n.entries) {
        const nf = e.fields.length / 2;
        let same = nf === mf.length;
        for (let i = 0; same && i < nf; i++) if (!e.fields[2 * i]!.equals(mf[i]!)) same = false;
        items.push((e.deleted ? 1 : 0) | (same ? 2 : 0), (e.id >> 64n) - mms, (e.id & MASK) - mseq);
        if (same) {
          for (let i = 0; i < nf; i++) items.push(e.fields[2 * i + 1]!);
          items.push(nf + 3);
        } else {
          items.push(nf, ...e.fields);
          items.push(2 * nf + 4);
        }
      }
      this.string(rawId(n.master));
      const lp = encodeListpack(items);
      out.length(lp.length);
      out.bytes(lp);
    }
    out.length(s.length);
    idParts(s.lastId);
    idParts(s.firstId);
    idParts(s.maxDeletedId);
    out.length(s.entriesAdded);
    const groups = s.sortedGroups();
    out.length(groups.length);
    for (const g of groups) {
      this.string(g.name);
      idParts(g.lastId);
      out.lengthBig(BigInt(g.entriesRead));
      const pel = g.sortedPel();
      out.length(pel.length);
      for (const id of pel) {
        const n = g.pel.get(id)!;
        out.bytes(rawId(id));
        out.int64LE(n.deliveryTime);
        out.length(n.deliveryCount);
      }
      const consumers = g.sortedConsumers();
      out.length(consumers.length);
      for (const c of consumers) {
        this.string(c.name);
        out.int64LE(c.seenTime);
        const cp = g.sortedPel(c.pel);
        out.length(cp.length);
        for (const id of cp) out.bytes(rawId(id));
      }
    }
  }

  private writeHeader(e: SnapshotEntry, type: RdbType): void {
    if (e.expireAt !== null) {
      this.out.byte(RdbOpcode.EXPIRETIME_MS);
      this.out.int64LE(e.expireAt);
    }
    this.out.byte(type);
    this.string(e.key);
  }
}

/**
 * The RDB as a synchronous sequence of chunks, with `YIELD_POINT` markers between keys where an async consumer
 * should give the event loop a turn. Each key is serialized synchronously (its value must not change meanwhile).
 */
export function* rdbChunksSync(source: SnapshotSource, opts: RdbWriteOptions = {}): Generator<Buffer | typeof YIELD_POINT> {
  const out = new ChunkedOutput(opts.chunkSize ?? 64 * 1024);
  const w = new RdbEncoder(out, opts.stringEncoding ?? 'latin1');
  const everyKeys = opts.yieldEveryKeys ?? 256;
  const everyBytes = opts.yieldEveryBytes ?? 1024 * 1024;

  out.bytes(RDB_MAGIC);
  out.bytes(Buffer.from(String(RDB_WRITE_VERSION).padStart(4, '0'), 'latin1'));
  w.aux('redis-ver', opts.redisVersion ?? '7.0.0');
  w.aux('redis-bits', 64);
  w.aux('ctime', opts.ctime ?? Math.floor(Date.now() / 1000));
  w.aux('used-mem', opts.usedMem ?? process.memoryUsage().heapUsed);
  if (opts.replId !== undefined) {
    w.aux('repl-stream-db', opts.replStreamDb ?? 0);
    w.aux('repl-id', opts.replId);
    w.aux('repl-offset', opts.replOffset ?? 0);
  }
  w.aux('aof-base', opts.aofBase ? 1 : 0);

  let keysSinceYield = 0;
  let markAt = out.total;
  for (const db of source.databases()) {
    out.byte(RdbOpcode.SELECTDB);
    out.length(db.db);
    out.byte(RdbOpcode.RESIZEDB);
    out.length(db.size);
    out.length(db.expires);
    for (const entry of db.entries()) {
      w.entry(entry);
      keysSinceYield++;
      if (out.ready.length > 0) yield* out.take();
      if (keysSinceYield >= everyKeys || out.total - markAt >= everyBytes) {
        keysSinceYield = 0;
        markAt = out.total;
        yield YIELD_POINT;
      }
    }
  }
  out.byte(RdbOpcode.EOF);
  out.flush();
  const digest = out.crc.digest();
  const chunks = out.take();
  const last = chunks.pop();
  yield* chunks;
  yield last ? Buffer.concat([last, digest]) : digest;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The RDB as chunks, giving the event loop a turn every `yieldEveryKeys` keys or `yieldEveryBytes` bytes. */
export async function* rdbChunks(source: SnapshotSource, opts: RdbWriteOptions = {}): AsyncGenerator<Buffer> {
  for (const item of rdbChunksSync(source, opts)) {
    if (item === YIELD_POINT) await nextTurn();
    else yield item;
  }
}

/** The whole RDB in one Buffer, synchronously (small keyspaces, tests). */
export function writeRdbSync(source: SnapshotSource, opts: RdbWriteOptions = {}): Buffer {
  const parts: Buffer[] = [];
  for (const item of rdbChunksSync(source, opts)) if (item !== YIELD_POINT) parts.push(item);
  return Buffer.concat(parts);
}

/** The RDB as a byte Readable (back-pressure honoured: production pauses while the consumer is slow). */
export function rdbReadable(source: SnapshotSource, opts: RdbWriteOptions = {}): Readable {
  return Readable.from(rdbChunks(source, opts), { objectMode: false });
}
