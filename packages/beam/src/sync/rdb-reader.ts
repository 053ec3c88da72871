import { Crc64 } from './crc64.js';
import { RdbError } from './errors.js';
import { decodeIntset, decodeListpack, decodeZiplist } from './rdb-encodings.js';
import {
  QUICKLIST_NODE_PACKED,
  QUICKLIST_NODE_PLAIN,
  RDB_ENC_INT16,
  RDB_ENC_INT32,
  RDB_ENC_INT8,
  RDB_ENC_LZF,
  RDB_MAGIC,
  RDB_MAX_READ_VERSION,
  RdbOpcode,
  RdbType,
} from './rdb-format.js';
import { lzfDecompress } from './lzf.js';

/**
 * Incremental RDB parser for strings, lists, sets, hashes and sorted sets in every encoding Redis 2.x-7.2 writes
 * (plain, ziplist, listpack, intset, quicklist v1/v2, LZF-compressed strings). Streams and module types are refused
 * with `RDB_UNSUPPORTED_TYPE`. Feed it chunks; it returns whole keys as soon as their bytes are in.
 */

interface EntryBase {
  db: number;
  key: Buffer;
  /** Absolute expiry in ms since the epoch, or null. */
  expireAt: number | null;
  /** The RDB object type byte the value was stored with (RdbType). */
  encoding: number;
}

export type RdbEntry = EntryBase &
  (
    | { type: 'string'; value: Buffer }
    | { type: 'list'; value: Buffer[] }
    | { type: 'set'; value: Buffer[] }
    | { type: 'hash'; value: Array<[Buffer, Buffer]> }
    | { type: 'zset'; value: Array<[Buffer, number]> }
    | { type: 'stream'; value: RdbStream }
  );

/** A stream as an RDB holds it (types 15, 19 and 21). IDs are ms << 64 | seq. */
export interface RdbStream {
  /** Live entries in ID order: id and field, value, field, value... */
  entries: Array<{ id: bigint; fields: Buffer[] }>;
  lastId: bigint;
  /** 0 when the RDB type predates them (15). */
  firstId: bigint;
  maxDeletedId: bigint;
  entriesAdded: number;
  /** Written by Redis < 7 (type 15): entries-read of the groups is not recorded (the loader estimates it). */
  legacy: boolean;
  groups: Array<{
    name: Buffer;
    lastId: bigint;
    /** -1 when unknown. */
    entriesRead: number;
    pel: Array<{ id: bigint; deliveryTime: number; deliveryCount: number }>;
    consumers: Array<{ name: Buffer; seenTime: number; pending: bigint[] }>;
  }>;
}

export interface RdbReadOptions {
  /** Longest string accepted (default 512 MiB, Redis' proto-max-bulk-len). */
  maxBulk?: number;
  /** Most elements accepted in one collection (default 2^32). */
  maxElements?: number;
  /** Verify the CRC64 trailer when it is not zero (default true). */
  verifyChecksum?: boolean;
}

/** Thrown inside the parser when the buffer ends mid-record; `need` is the buffer length that would suffice. */
class Incomplete {
  constructor(readonly need: number) {}
}

class Cursor {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    private readonly maxBulk: number,
  ) {}

  private want(n: number): void {
    if (this.pos + n > this.buf.length) throw new Incomplete(this.pos + n);
  }

  u8(): number {
    this.want(1);
    return this.buf[this.pos++]!;
  }

  take(n: number): Buffer {
    this.want(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A length; `encoded` is set (and `len` is the encoding type) for the 11xxxxxx special string encodings. */
  length(): { len: number; encoded: boolean } {
    const first = this.u8();
    const kind = first >> 6;
    if (kind === 0) return { len: first & 0x3f, encoded: false };
    if (kind === 1) return { len: ((first & 0x3f) << 8) | this.u8(), encoded: false };
    if (kind === 3) return { len: first & 0x3f, encoded: true };
    if (first === 0x80) {
      this.want(4);
      const v = this.buf.readUInt32BE(this.pos);
      this.pos += 4;
      return { len: v, encoded: false };
    }
    if (first === 0x81) {
      this.want(8);
      const v = this.buf.readBigUInt64BE(this.pos);
      this.pos += 8;
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RdbError('RDB_LIMIT', 'length does not fit in 53 bits');
      return { len: Number(v), encoded: false };
    }
    throw new RdbError('RDB_BAD_ENCODING', `unknown length prefix 0x${first.toString(16)}`);
  }

  /** A length as a bigint (stream IDs and counters use all 64 bits). */
  bigLength(): bigint {
    const first = this.u8();
    const kind = first >> 6;
    if (kind === 0) return BigInt(first & 0x3f);
    if (kind === 1) return BigInt(((first & 0x3f) << 8) | this.u8());
    if (first === 0x80) {
      this.want(4);
      const v = this.buf.readUInt32BE(this.pos);
      this.pos += 4;
      return BigInt(v);
    }
    if (first === 0x81) {
      this.want(8);
      const v = this.buf.readBigUInt64BE(this.pos);
      this.pos += 8;
      return v;
    }
    throw new RdbError('RDB_BAD_ENCODING', `unknown length prefix 0x${first.toString(16)}`);
  }

  plainLength(): number {
    const { len, encoded } = this.length();
    if (encoded) throw new RdbError('RDB_BAD_ENCODING', 'string encoding where a length was expected');
    return len;
  }

  string(): Buffer {
    const { len, encoded } = this.length();
    if (!encoded) {
      if (len > this.maxBulk) throw new RdbError('RDB_LIMIT', `string of ${len} bytes exceeds maxBulk`);
      return this.take(len);
    }
    switch (len) {
      case RDB_ENC_INT8:
        return Buffer.from(String(this.take(1).readInt8(0)), 'latin1');
      case RDB_ENC_INT16:
        return Buffer.from(String(this.take(2).readInt16LE(0)), 'latin1');
      case RDB_ENC_INT32:
        return Buffer.from(String(this.take(4).readInt32LE(0)), 'latin1');
      case RDB_ENC_LZF: {
        const clen = this.plainLength();
        const ulen = this.plainLength();
        if (ulen > this.maxBulk || clen > this.maxBulk) throw new RdbError('RDB_LIMIT', 'compressed string exceeds maxBulk');
        return lzfDecompress(this.take(clen), ulen);
      }
      default:
        throw new RdbError('RDB_BAD_ENCODING', `unknown string encoding ${len}`);
    }
  }

  /** Score of a RDB_TYPE_ZSET (v1) member: a length byte and ASCII, with 253/254/255 for nan/+inf/-inf. */
  textDouble(): number {
    const n = this.u8();
    if (n === 253) return NaN;
    if (n === 254) return Infinity;
    if (n === 255) return -Infinity;
    return Number(this.take(n).toString('latin1'));
  }

  binaryDouble(): number {
    return this.take(8).readDoubleLE(0);
  }
}

function pairUp(items: Buffer[], what: string): Array<[Buffer, Buffer]> {
  if (items.length % 2 !== 0) throw new RdbError('RDB_BAD_ENCODING', `${what} with an odd number of entries`);
  const out: Array<[Buffer, Buffer]> = [];
  for (let i = 0; i < items.length; i += 2) out.push([items[i]!, items[i + 1]!]);
  return out;
}

function scored(items: Buffer[], what: string): Array<[Buffer, number]> {
  // Listpack/ziplist scores are text as Redis formats doubles: inf/-inf included.
  return pairUp(items, what).map(([m, s]) => {
    const t = s.toString('latin1');
    return [m, t === 'inf' || t === '+inf' ? Infinity : t === '-inf' ? -Infinity : Number(t)];
  });
}

export class RdbParser {
  version = 0;
  readonly aux = new Map<string, Buffer>();
  /** FUNCTION2 payloads (Lua/engine library code), kept as they are. */
  readonly functions: Buffer[] = [];
  /** RESIZEDB hints per db. */
  readonly sizes = new Map<number, { size: number; expires: number }>();
  /** CRC64 stored in the trailer (0n when the writer disabled checksums). */
  storedChecksum: bigint | null = null;
  done = false;

  private stage: 'header' | 'body' | 'checksum' = 'header';
  private readonly crc = new Crc64();
  private rest: Buffer = Buffer.alloc(0);
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private need = 0;
  private db = 0;
  private expireAt: number | null = null;
  private readonly maxBulk: number;
  private readonly maxElements: number;
  private readonly verify: boolean;

  constructor(opts: RdbReadOptions = {}) {
    this.maxBulk = opts.maxBulk ?? 512 * 1024 * 1024;
    this.maxElements = opts.maxElements ?? 2 ** 32;
    this.verify = opts.verifyChecksum ?? true;
  }

  /** Feeds bytes; returns the keys completed by them. After `done`, further bytes accumulate in `remainder()`. */
  push(chunk: Buffer): RdbEntry[] {
    if (this.done) {
      this.rest = this.rest.length === 0 ? chunk : Buffer.concat([this.rest, chunk]);
      return [];
    }
    this.queued.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.rest.length + this.queuedBytes < this.need) return [];
    const buf = Buffer.concat([this.rest, ...this.queued]);
    this.queued = [];
    this.queuedBytes = 0;
    const cur = new Cursor(buf, this.maxBulk);
    const out: RdbEntry[] = [];
    let start = 0;
    try {
      while (!this.done) {
        start = cur.pos;
        const stage = this.stage;
        this.step(cur, out);
        // Everything up to and including the EOF opcode is covered by the checksum, the trailer is not.
        if (stage !== 'checksum') this.crc.update(buf, start, cur.pos);
      }
      this.need = 0;
      this.rest = buf.subarray(cur.pos);
    } catch (e) {
      if (!(e instanceof Incomplete)) throw e;
      this.need = e.need - start;
      this.rest = buf.subarray(start);
    }
    return out;
  }

  /** Bytes received after the RDB ended (e.g. the command stream of a SYNC). */
  remainder(): Buffer {
    return this.done ? this.rest : Buffer.alloc(0);
  }

  /** Declares the input finished: throws `RDB_TRUNCATED` unless the EOF opcode (and checksum) arrived. */
  end(): void {
    if (!this.done) throw new RdbError('RDB_TRUNCATED', 'RDB ended before its EOF opcode');
  }

  private step(cur: Cursor, out: RdbEntry[]): void {
    if (this.stage === 'header') {
      const head = cur.take(9);
      if (!head.subarray(0, 5).equals(RDB_MAGIC)) throw new RdbError('RDB_BAD_MAGIC', 'not an RDB file (no REDIS magic)');
      const digits = head.subarray(5, 9).toString('latin1');
      const version = /^\d{4}$/.test(digits) ? Number(digits) : NaN;
      if (!(version >= 1 && version <= RDB_MAX_READ_VERSION)) {
        throw new RdbError('RDB_BAD_VERSION', `unsupported RDB version ${JSON.stringify(digits)}`);
      }
      this.version = version;
      this.stage = 'body';
      return;
    }
    if (this.stage === 'checksum') {
      const stored = cur.take(8).readBigUInt64LE(0);
      this.storedChecksum = stored;
      if (this.verify && stored !== 0n && stored !== this.crc.value) {
        throw new RdbError('RDB_BAD_CHECKSUM', 'RDB checksum mismatch');
      }
      this.done = true;
      return;
    }
    const op = cur.u8();
    switch (op) {
      case RdbOpcode.EOF:
        if (this.version >= 5) this.stage = 'checksum';
        else this.done = true;
        return;
      case RdbOpcode.SELECTDB:
        this.db = cur.plainLength();
        return;
      case RdbOpcode.RESIZEDB: {
        const size = cur.plainLength();
        const expires = cur.plainLength();
        this.sizes.set(this.db, { size, expires });
        return;
      }
      case RdbOpcode.EXPIRETIME_MS:
        this.expireAt = Number(cur.take(8).readBigInt64LE(0));
        return;
      case RdbOpcode.EXPIRETIME:
        this.expireAt = cur.take(4).readInt32LE(0) * 1000;
        return;
      case RdbOpcode.AUX: {
        const name = cur.string();
        const value = cur.string();
        this.aux.set(name.toString('latin1'), value);
        return;
      }
      case RdbOpcode.IDLE:
        cur.plainLength();
        return;
      case RdbOpcode.FREQ:
        cur.u8();
        return;
      case RdbOpcode.FUNCTION2:
        this.functions.push(cur.string());
        return;
      case RdbOpcode.MODULE_AUX:
      case RdbOpcode.FUNCTION_PRE_GA:
        throw new RdbError('RDB_UNSUPPORTED_TYPE', `unsupported RDB opcode 0x${op.toString(16)}`);
      default: {
        const key = cur.string();
        const entry = this.value(op, cur, key);
        out.push(entry);
        this.expireAt = null;
      }
    }
  }

  private count(cur: Cursor): number {
    const n = cur.plainLength();
    if (n > this.maxElements) throw new RdbError('RDB_LIMIT', `collection of ${n} elements exceeds maxElements`);
    return n;
  }

  private strings(cur: Cursor, n: number): Buffer[] {
    const out: Buffer[] = [];
    for (let i = 0; i < n; i++) out.push(cur.string());
    return out;
  }

  /** rdbLoadObject's stream branch. */
  private stream(type: number, cur: Cursor): RdbStream {
    const max = this.maxElements;
    const id = (): bigint => (cur.bigLength() << 64n) | cur.bigLength();
    const rawId = (): bigint => {
      const b = cur.take(16);
      return (b.readBigUInt64BE(0) << 64n) | b.readBigUInt64BE(8);
    };
    const ms = (): number => {
      const b = cur.take(8);
      return Number(b.readBigInt64LE(0));
    };
    const MASK = (1n << 64n) - 1n;
    const entries: RdbStream['entries'] = [];
    const nodes = cur.plainLength();
    for (let n = 0; n < nodes; n++) {
      const key = cur.string();
      if (key.length !== 16) throw new RdbError('RDB_BAD_ENCODING', 'stream node key is not 16 bytes');
      const master = (key.readBigUInt64BE(0) << 64n) | key.readBigUInt64BE(8);
      const lp = decodeListpack(cur.string(), max);
      let i = 0;
      const next = (): Buffer => {
        const v = lp[i++];
        if (v === undefined) throw new RdbError('RDB_BAD_ENCODING', 'truncated stream listpack');
        return v;
      };
      const int = (): bigint => BigInt(next().toString('latin1'));
      const live = Number(int());
      const deleted = Number(int());
      const mf = Number(int());
      const masterFields: Buffer[] = [];
      for (let f = 0; f < mf; f++) masterFields.push(next());
      next(); // master entry terminator
      for (let k = 0; k < live + deleted; k++) {
        const flags = Number(int());
        const eid = ((((master >> 64n) + int()) & MASK) << 64n) | (((master & MASK) + int()) & MASK);
        const fields: Buffer[] = [];
        if (flags & 2) {
          for (let f = 0; f < mf; f++) fields.push(masterFields[f]!, next());
        } else {
          const nf = Number(int());
          for (let f = 0; f < 2 * nf; f++) fields.push(next());
        }
        next(); // lp-count
        if (!(flags & 1)) entries.push({ id: eid, fields });
        if (entries.length > max) throw new RdbError('RDB_LIMIT', 'stream exceeds maxElements');
      }
    }
    cur.plainLength(); // length: the live entries, counted above
    const lastId = id();
    let firstId = 0n;
    let maxDeletedId = 0n;
    let entriesAdded = entries.length;
    if (type >= RdbType.STREAM_LISTPACKS_2) {
      firstId = id();
      maxDeletedId = id();
      entriesAdded = Number(cur.bigLength());
    } else if (entries.length > 0) firstId = entries[0]!.id;
    const groups: RdbStream['groups'] = [];
    const ng = cur.plainLength();
    for (let g = 0; g < ng; g++) {
      const name = cur.string();
      const glast = id();
      let entriesRead = -1;
      if (type >= RdbType.STREAM_LISTPACKS_2) {
        const v = cur.bigLength();
        entriesRead = v === MASK ? -1 : Number(v);
      }
      const pel: RdbStream['groups'][number]['pel'] = [];
      const np = cur.plainLength();
      for (let p = 0; p < np; p++) pel.push({ id: rawId(), deliveryTime: ms(), deliveryCount: Number(cur.bigLength()) });
      const consumers: RdbStream['groups'][number]['consumers'] = [];
      const nc = cur.plainLength();
      for (let c = 0; c < nc; c++) {
        const cname = cur.string();
        const seenTime = ms();
        if (type >= RdbType.STREAM_LISTPACKS_3) ms(); // active-time (Redis 7.2)
        const pending: bigint[] = [];
        const n = cur.plainLength();
        for (let p = 0; p < n; p++) pending.push(rawId());
        consumers.push({ name: cname, seenTime, pending });
      }
      groups.push({ name, lastId: glast, entriesRead, pel, consumers });
    }
    return { entries, lastId, firstId, maxDeletedId, entriesAdded, legacy: type === RdbType.STREAM_LISTPACKS, groups };
  }

  private value(type: number, cur: Cursor, key: Buffer): RdbEntry {
    const base = { db: this.db, key, expireAt: this.expireAt, encoding: type };
    const max = this.maxElements;
    switch (type) {
      case RdbType.STRING:
        return { ...base, type: 'string', value: cur.string() };
      case RdbType.LIST:
        return { ...base, type: 'list', value: this.strings(cur, this.count(cur)) };
      case RdbType.SET:
        return { ...base, type: 'set', value: this.strings(cur, this.count(cur)) };
      case RdbType.HASH:
        return { ...base, type: 'hash', value: pairUp(this.strings(cur, this.count(cur) * 2), 'hash') };
      case RdbType.ZSET:
      case RdbType.ZSET_2: {
        const n = this.count(cur);
        const value: Array<[Buffer, number]> = [];
        for (let i = 0; i < n; i++) {
          const m = cur.string();
          value.push([m, type === RdbType.ZSET ? cur.textDouble() : cur.binaryDouble()]);
        }
        return { ...base, type: 'zset', value };
      }
      case RdbType.LIST_ZIPLIST:
        return { ...base, type: 'list', value: decodeZiplist(cur.string(), max) };
      case RdbType.SET_INTSET:
        return { ...base, type: 'set', value: decodeIntset(cur.string()) };
      case RdbType.SET_LISTPACK:
        return { ...base, type: 'set', value: decodeListpack(cur.string(), max) };
      case RdbType.ZSET_ZIPLIST:
        return { ...base, type: 'zset', value: scored(decodeZiplist(cur.string(), max * 2), 'zset ziplist') };
      case RdbType.ZSET_LISTPACK:
        return { ...base, type: 'zset', value: scored(decodeListpack(cur.string(), max * 2), 'zset listpack') };
      case RdbType.HASH_ZIPLIST:
        return { ...base, type: 'hash', value: pairUp(decodeZiplist(cur.string(), max * 2), 'hash ziplist') };
      case RdbType.HASH_LISTPACK:
        return { ...base, type: 'hash', value: pairUp(decodeListpack(cur.string(), max * 2), 'hash listpack') };
      case RdbType.LIST_QUICKLIST:
      case RdbType.LIST_QUICKLIST_2: {
        const nodes = cur.plainLength();
        const value: Buffer[] = [];
        for (let i = 0; i < nodes; i++) {
          const container = type === RdbType.LIST_QUICKLIST_2 ? cur.plainLength() : QUICKLIST_NODE_PACKED;
          const blob = cur.string();
          if (container === QUICKLIST_NODE_PLAIN) value.push(blob);
          else if (container === QUICKLIST_NODE_PACKED) {
            for (const item of type === RdbType.LIST_QUICKLIST ? decodeZiplist(blob, max) : decodeListpack(blob, max)) {
              value.push(item);
            }
          } else throw new RdbError('RDB_BAD_ENCODING', `unknown quicklist container ${container}`);
          if (value.length > max) throw new RdbError('RDB_LIMIT', 'list exceeds maxElements');
        }
        return { ...base, type: 'list', value };
      }
      case RdbType.STREAM_LISTPACKS:
      case RdbType.STREAM_LISTPACKS_2:
      case RdbType.STREAM_LISTPACKS_3:
        return { ...base, type: 'stream', value: this.stream(type, cur) };
      default:
        throw new RdbError('RDB_UNSUPPORTED_TYPE', `unsupported RDB object type ${type}`);
    }
  }
}

export interface RdbFile {
  version: number;
  aux: Map<string, Buffer>;
  functions: Buffer[];
  entries: RdbEntry[];
  storedChecksum: bigint | null;
}

/** Parses a complete RDB held in memory. Bytes after the trailer are an error unless `allowTrailing`. */
export function parseRdb(data: Buffer, opts: RdbReadOptions & { allowTrailing?: boolean } = {}): RdbFile {
  const p = new RdbParser(opts);
  const entries = p.push(data);
  p.end();
  if (!opts.allowTrailing && p.remainder().length > 0) {
    throw new RdbError('RDB_TRAILING_DATA', `${p.remainder().length} bytes after the RDB trailer`);
  }
  return { version: p.version, aux: p.aux, functions: p.functions, entries, storedChecksum: p.storedChecksum };
}
