import { Buffer } from 'node:buffer';
import type { Impl } from './keyspace.js';
import type { CommandMeta } from './command-table.js';
import { ErrorReply, OK } from '../wire/reply.js';
import { Deque } from './deque.js';
import { ZSet } from './zset.js';
import { T_HASH, T_LIST, T_SET, T_STREAM, T_STRING, T_ZSET, TYPE_NAMES, type Value, keyString as kstr } from './store.js';
import { streamFromData, type StreamNodeLimits } from './stream.js';
import { parseInt64 } from './numbers.js';
import { E_NOT_INT, E_SYNTAX } from './replies.js';
import { crc64 } from '../sync/crc64.js';
import { parseRdb } from '../sync/rdb-reader.js';
import { writeRdbSync } from '../sync/rdb-writer.js';
import { staticSnapshot } from '../sync/snapshot-source.js';

/**
 * DUMP and RESTORE with Redis' payload format: one RDB object (type byte and value), the RDB version as two bytes
 * little-endian, and the CRC64 (Jones, as in RDB files) of all that, little-endian. Values are written by the RDB
 * writer (plain encodings Redis 7 loads and converts) and read by the RDB reader (every encoding Redis 7 writes).
 */

export const DUMP_TABLE: readonly CommandMeta[] = [
  ['dump', 2, ['readonly'], 1, 1, 1, ['@keyspace', '@read', '@slow']],
  ['restore', -4, ['write', 'denyoom'], 1, 1, 1, ['@keyspace', '@write', '@slow', '@dangerous']],
];

/** The RDB version Redis 7.0 stamps on its payloads; RESTORE refuses higher ones, as Redis 7.0 does. */
export const DUMP_RDB_VERSION = 10;

/** Appends the DUMP trailer (version + CRC64) to an RDB object body. */
export function withDumpTrailer(body: Buffer): Buffer {
  const head = Buffer.alloc(body.length + 2);
  body.copy(head);
  head.writeUInt16LE(DUMP_RDB_VERSION, body.length);
  const crc = Buffer.alloc(8);
  crc.writeBigUInt64LE(crc64(head), 0);
  return Buffer.concat([head, crc]);
}

/** verifyDumpPayload: the body without its trailer, or null when the version or checksum is wrong. */
export function dumpBody(payload: Buffer): Buffer | null {
  if (payload.length < 10) return null;
  if (payload.readUInt16LE(payload.length - 10) > DUMP_RDB_VERSION) return null;
  if (payload.readBigUInt64LE(payload.length - 8) !== crc64(payload.subarray(0, payload.length - 8))) return null;
  return payload.subarray(0, payload.length - 10);
}

/** Wraps an object body as a one-key RDB file (empty key) so the RDB reader can parse it. */
export function bodyAsRdb(body: Buffer, keyFirst: boolean): Buffer {
  const parts: Buffer[] = [Buffer.from('REDIS0010')];
  if (keyFirst && body.length > 0) parts.push(body.subarray(0, 1), Buffer.from([0]), body.subarray(1));
  else parts.push(body);
  parts.push(Buffer.from([0xff]), Buffer.alloc(8));
  return Buffer.concat(parts);
}

/** Skips an RDB length or encoded string header at `pos` and returns the position after the whole item. */
function skipItem(b: Buffer, pos: number, isString: boolean): number {
  const first = b[pos]!;
  const kind = first >> 6;
  if (kind === 0) return pos + 1 + (isString ? first & 0x3f : 0);
  if (kind === 1) return pos + 2 + (isString ? ((first & 0x3f) << 8) | b[pos + 1]! : 0);
  if (kind === 3) return pos + 1 + [1, 2, 4][first & 0x3f]!;
  if (first === 0x80) return pos + 5 + (isString ? b.readUInt32BE(pos + 1) : 0);
  return pos + 9 + (isString ? Number(b.readBigUInt64BE(pos + 1)) : 0);
}

/** The object body (type byte and value) of a value, cut out of a one-key RDB the writer produced. */
function dumpValue(type: string, value: Value): Buffer {
  const rdb = writeRdbSync(staticSnapshot(new Map([[0, [{ key: Buffer.alloc(0), type: type as 'string', value, expireAt: null }]]])), { ctime: 0, usedMem: 0 });
  let pos = 9;
  for (;;) {
    const op = rdb[pos]!;
    if (op === 0xfa) pos = skipItem(rdb, skipItem(rdb, pos + 1, true), true);
    else if (op === 0xfe) pos = skipItem(rdb, pos + 1, false);
    else if (op === 0xfb) pos = skipItem(rdb, skipItem(rdb, pos + 1, false), false);
    else break;
  }
  // pos: the type byte; then the empty key (one 0x00 byte); the value runs to the EOF opcode and checksum.
  return Buffer.concat([rdb.subarray(pos, pos + 1), rdb.subarray(pos + 2, rdb.length - 9)]);
}

const dump: Impl = (ctx, client, argv) => {
  const e = ctx.lookup(ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e === undefined) return null;
  return withDumpTrailer(dumpValue(TYPE_NAMES[e.t]!, e.v));
};

/** Parses a DUMP payload into a keyspace value, or null for bad data. */
export function restoreValue(body: Buffer, limits: StreamNodeLimits): { t: number; v: Value } | null {
  let entry;
  try {
    const rdb = parseRdb(bodyAsRdb(body, true));
    if (rdb.entries.length !== 1) return null;
    entry = rdb.entries[0]!;
  } catch {
    return null;
  }
  switch (entry.type) {
    case 'string':
      return { t: T_STRING, v: Buffer.from(entry.value) };
    case 'list':
      if (entry.value.length === 0) return null;
      return { t: T_LIST, v: Deque.from(entry.value.map((b) => Buffer.from(b))) };
    case 'set':
      if (entry.value.length === 0) return null;
      return { t: T_SET, v: new Set(entry.value.map((b) => b.toString('latin1'))) };
    case 'hash': {
      if (entry.value.length === 0) return null;
      const m = new Map<string, Buffer>();
      for (const [f, v] of entry.value) m.set(f.toString('latin1'), Buffer.from(v));
      return { t: T_HASH, v: m };
    }
    case 'zset': {
      if (entry.value.length === 0) return null;
      const z = new ZSet();
      for (const [m, s] of entry.value) {
        if (Number.isNaN(s)) return null;
        z.set(m.toString('latin1'), s);
      }
      return { t: T_ZSET, v: z };
    }
    case 'stream':
      return { t: T_STREAM, v: streamFromData(entry.value, limits) };
    default:
      return null;
  }
}

const B_DEL = Buffer.from('DEL');
const B_ABSTTL = Buffer.from('ABSTTL');

const restore: Impl = (ctx, client, argv) => {
  let replace = false;
  let absttl = false;
  let idle = -1;
  let freq = -1;
  for (let j = 4; j < argv.length; j++) {
    const a = argv[j]!.toString('latin1').toLowerCase();
    const more = argv.length - j - 1;
    if (a === 'replace') replace = true;
    else if (a === 'absttl') absttl = true;
    else if (a === 'idletime' && more >= 1 && freq === -1) {
      const v = parseInt64(argv[++j]!);
      if (v === null) return E_NOT_INT;
      if (v < 0) return new ErrorReply('ERR Invalid IDLETIME value, must be >= 0');
      idle = Number(v);
    } else if (a === 'freq' && more >= 1 && idle === -1) {
      const v = parseInt64(argv[++j]!);
      if (v === null) return E_NOT_INT;
      if (v < 0 || v > 255) return new ErrorReply('ERR Invalid FREQ value, must be >= 0 and <= 255');
      freq = Number(v);
    } else return E_SYNTAX;
  }
  const db = ctx.dbs[client.db]!;
  const key = kstr(argv[1]!);
  if (!replace && ctx.lookup(db, key) !== undefined) return new ErrorReply('BUSYKEY Target key name already exists.');
  const t = parseInt64(argv[2]!);
  if (t === null) return E_NOT_INT;
  if (t < 0) return new ErrorReply('ERR Invalid TTL value, must be >= 0');
  const body = dumpBody(argv[3]!);
  if (body === null) return new ErrorReply('ERR DUMP payload version or checksum are wrong');
  const val = restoreValue(body, ctx.streamLimits);
  if (val === null) return new ErrorReply('ERR Bad data format');
  const deleted = replace && ctx.deleteKey(db, key);
  let ttl = Number(t);
  if (ttl !== 0 && !absttl) ttl += ctx.t;
  if (ttl !== 0 && ttl <= ctx.t) {
    if (deleted) {
      ctx.propagateAs([[B_DEL, argv[1]!]]);
      ctx.notify(db.id, 'del', argv[1]!, 'g');
      ctx.dirty++;
    } else {
      ctx.propagateAs([]);
    }
    return OK;
  }
  const e = ctx.addKey(db, key, val.t, val.v);
  if (ttl !== 0) {
    ctx.setExpire(db, key, e, ttl);
    if (!absttl) ctx.propagateAs([[...argv.slice(0, 2), Buffer.from(String(ttl)), ...argv.slice(3), B_ABSTTL]]);
  }
  ctx.notify(db.id, 'restore', argv[1]!, 'g');
  ctx.dirty++;
  return OK;
};

export const DUMP_COMMANDS: Record<string, Impl> = { dump, restore };
