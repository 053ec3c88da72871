import { Buffer } from 'node:buffer';
import type { Keyspace, Impl } from './keyspace.js';
import type { CommandMeta } from './command-table.js';
import { ErrorReply, type Reply } from '../wire/reply.js';
import { T_STRING, type Db, keyString as kstr } from './store.js';
import { parseInt64 } from './numbers.js';
import { E_NOT_INT, E_SYNTAX } from './replies.js';
import { MAX_STRING } from './cmd-strings.js';

/** SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO with Redis 7.0's semantics (bitops.c). */

const E_BIT_OFFSET = new ErrorReply('ERR bit offset is not an integer or out of range');
const E_BIT_VALUE = new ErrorReply('ERR bit is not an integer or out of range');
const E_BITFIELD_TYPE = new ErrorReply('ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.');
const EMPTY = Buffer.alloc(0);

export const BIT_TABLE: readonly CommandMeta[] = [
  ['setbit', 4, ['write', 'denyoom'], 1, 1, 1, ['@write', '@bitmap', '@slow']],
  ['getbit', 3, ['readonly', 'fast'], 1, 1, 1, ['@read', '@bitmap', '@fast']],
  ['bitcount', -2, ['readonly'], 1, 1, 1, ['@read', '@bitmap', '@slow']],
  ['bitpos', -3, ['readonly'], 1, 1, 1, ['@read', '@bitmap', '@slow']],
  ['bitop', -4, ['write', 'denyoom'], 2, -1, 1, ['@write', '@bitmap', '@slow']],
  ['bitfield', -2, ['write', 'denyoom'], 1, 1, 1, ['@write', '@bitmap', '@slow']],
  ['bitfield_ro', -2, ['readonly', 'fast'], 1, 1, 1, ['@read', '@bitmap', '@fast']],
];

function eq(b: Buffer, lower: string): boolean {
  return b.length === lower.length && b.toString('latin1').toLowerCase() === lower;
}

/** getBitOffsetFromArgument: a bit offset, `#N` times `bits` when allowed, below proto-max-bulk-len bytes. */
function bitOffset(b: Buffer, hashBits: number): number | null {
  const hash = hashBits > 0 && b[0] === 0x23;
  const v = parseInt64(hash ? b.subarray(1) : b);
  if (v === null) return null;
  const off = Number(v) * (hash ? hashBits : 1);
  if (off < 0 || Math.floor(off / 8) >= MAX_STRING) return null;
  return off;
}

/** The string at key (null when missing), or WRONGTYPE. */
function readString(ctx: Keyspace, db: Db, key: string): Buffer | null | ErrorReply {
  const e = ctx.lookupTyped(db, key, T_STRING);
  if (e instanceof ErrorReply) return e;
  return e === undefined ? null : (e.v as Buffer);
}

/** lookupStringForBitCommand: a private copy of the string grown with zeros to hold byte `maxByte`. */
function writableString(ctx: Keyspace, db: Db, key: string, maxByte: number): { buf: Buffer; grown: boolean; store: (b: Buffer) => void } | ErrorReply {
  const e = ctx.lookupTyped(db, key, T_STRING);
  if (e instanceof ErrorReply) return e;
  const cur = e === undefined ? EMPTY : (e.v as Buffer);
  const len = Math.max(cur.length, maxByte + 1);
  const buf = Buffer.alloc(len);
  cur.copy(buf);
  return {
    buf,
    grown: e === undefined || len !== cur.length,
    store: (b) => {
      if (e === undefined) ctx.addKey(db, key, T_STRING, b);
      else e.v = b;
    },
  };
}

const setbit: Impl = (ctx, client, argv) => {
  const off = bitOffset(argv[2]!, 0);
  if (off === null) return E_BIT_OFFSET;
  const n = parseInt64(argv[3]!);
  if (n === null || (n !== 0 && n !== 1)) return E_BIT_VALUE;
  const on = n === 1;
  const db = ctx.dbs[client.db]!;
  const w = writableString(ctx, db, kstr(argv[1]!), off >> 3);
  if (w instanceof ErrorReply) return w;
  const byte = off >> 3;
  const mask = 1 << (7 - (off & 7));
  const old = (w.buf[byte]! & mask) !== 0 ? 1 : 0;
  if (on) w.buf[byte]! |= mask;
  else w.buf[byte]! &= ~mask;
  w.store(w.buf);
  ctx.notify(db.id, 'setbit', argv[1]!, '$');
  if (w.grown || old !== (on ? 1 : 0)) ctx.dirty++;
  return old;
};

const getbit: Impl = (ctx, client, argv) => {
  const off = bitOffset(argv[2]!, 0);
  if (off === null) return E_BIT_OFFSET;
  const s = readString(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (s instanceof ErrorReply) return s;
  if (s === null || (off >> 3) >= s.length) return 0;
  return (s[off >> 3]! & (1 << (7 - (off & 7)))) !== 0 ? 1 : 0;
};

function popcount(b: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = from; i <= to; i++) {
    let x = b[i]!;
    x = x - ((x >> 1) & 0x55);
    x = (x & 0x33) + ((x >> 2) & 0x33);
    n += (x + (x >> 4)) & 0x0f;
  }
  return n;
}

interface Range {
  start: number;
  end: number;
  firstMask: number;
  lastMask: number;
}

/** Start/end (bytes or BIT) normalized as bitcount/bitpos do; start > end means empty. */
function normRange(start: number, end: number, len: number, isBit: boolean): Range {
  const total = isBit ? len * 8 : len;
  if (start < 0) start = total + start;
  if (end < 0) end = total + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= total) end = total - 1;
  let firstMask = 0;
  let lastMask = 0;
  if (isBit && start <= end) {
    firstMask = ~((1 << (8 - (start & 7))) - 1) & 0xff;
    lastMask = (1 << (7 - (end & 7))) - 1;
    start >>= 3;
    end >>= 3;
  }
  return { start, end, firstMask, lastMask };
}

function bitUnit(b: Buffer | undefined): boolean | null {
  if (b === undefined) return false;
  if (eq(b, 'bit')) return true;
  if (eq(b, 'byte')) return false;
  return null;
}

const bitcount: Impl = (ctx, client, argv) => {
  const s = readString(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (s instanceof ErrorReply) return s;
  if (s === null) return 0;
  let r: Range;
  if (argv.length === 4 || argv.length === 5) {
    const a = parseInt64(argv[2]!);
    const b = parseInt64(argv[3]!);
    if (a === null || b === null) return E_NOT_INT;
    const start = Number(a);
    const end = Number(b);
    if (start < 0 && end < 0 && start > end) return 0;
    const isBit = bitUnit(argv[4]);
    if (isBit === null) return E_SYNTAX;
    r = normRange(start, end, s.length, isBit);
  } else if (argv.length === 2) {
    r = { start: 0, end: s.length - 1, firstMask: 0, lastMask: 0 };
  } else {
    return E_SYNTAX;
  }
  if (r.start > r.end) return 0;
  let count = popcount(s, r.start, r.end);
  if (r.firstMask !== 0 || r.lastMask !== 0) {
    const fl = Buffer.from([r.firstMask !== 0 ? s[r.start]! & r.firstMask : 0, r.lastMask !== 0 ? s[r.end]! & r.lastMask : 0]);
    count -= popcount(fl, 0, 1);
  }
  return count;
};

/** redisBitpos: first bit equal to `bit` in b[from..from+count), relative; count*8 when looking for 0 and none, -1 for 1. */
function findBit(b: Uint8Array, from: number, count: number, bit: number): number {
  const skip = bit ? 0 : 0xff;
  for (let i = 0; i < count; i++) {
    const x = b[from + i]!;
    if (x === skip) continue;
    for (let k = 0; k < 8; k++) {
      if (((x >> (7 - k)) & 1) === bit) return i * 8 + k;
    }
  }
  return bit ? -1 : count * 8;
}

const bitpos: Impl = (ctx, client, argv) => {
  const bv = parseInt64(argv[2]!);
  if (bv === null) return E_NOT_INT;
  if (bv !== 0 && bv !== 1) return new ErrorReply('ERR The bit argument must be 1 or 0.');
  const bit = Number(bv);
  const s = readString(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (s instanceof ErrorReply) return s;
  if (s === null) return bit ? -1 : 0;
  let r: Range;
  let endGiven = false;
  if (argv.length >= 4 && argv.length <= 6) {
    const a = parseInt64(argv[3]!);
    if (a === null) return E_NOT_INT;
    const isBit = bitUnit(argv[5]);
    if (isBit === null) return E_SYNTAX;
    let end: number;
    if (argv.length >= 5) {
      const b = parseInt64(argv[4]!);
      if (b === null) return E_NOT_INT;
      end = Number(b);
      endGiven = true;
    } else {
      end = isBit ? s.length * 8 + 7 : s.length - 1;
    }
    r = normRange(Number(a), end, s.length, isBit);
  } else if (argv.length === 3) {
    r = { start: 0, end: s.length - 1, firstMask: 0, lastMask: 0 };
  } else {
    return E_SYNTAX;
  }
  if (r.start > r.end) return -1;
  let { start } = r;
  let bytes = r.end - r.start + 1;
  let pos: number;
  done: {
    if (r.firstMask) {
      let t = bit ? s[start]! & ~r.firstMask : s[start]! | r.firstMask;
      if (r.lastMask && bytes === 1) t = bit ? t & ~r.lastMask : t | r.lastMask;
      pos = findBit(Uint8Array.of(t & 0xff), 0, 1, bit);
      if (bytes === 1 || (pos !== -1 && pos !== 8)) break done;
      start++;
      bytes--;
    }
    const cur = bytes - (r.lastMask ? 1 : 0);
    if (cur > 0) {
      pos = findBit(s, start, cur, bit);
      if (bytes === cur || (pos !== -1 && pos !== cur * 8)) break done;
      start += cur;
      bytes -= cur;
    }
    const t = bit ? s[r.end]! & ~r.lastMask : s[r.end]! | r.lastMask;
    pos = findBit(Uint8Array.of(t & 0xff), 0, 1, bit);
  }
  if (endGiven && bit === 0 && pos === bytes * 8) return -1;
  if (pos !== -1) pos += start * 8;
  return pos;
};

const bitop: Impl = (ctx, client, argv) => {
  const op = argv[1]!.toString('latin1').toLowerCase();
  if (op !== 'and' && op !== 'or' && op !== 'xor' && op !== 'not') return E_SYNTAX;
  if (op === 'not' && argv.length !== 4) return new ErrorReply('ERR BITOP NOT must be called with a single source key.');
  const db = ctx.dbs[client.db]!;
  const srcs: Buffer[] = [];
  let maxlen = 0;
  for (let i = 3; i < argv.length; i++) {
    const s = readString(ctx, db, kstr(argv[i]!));
    if (s instanceof ErrorReply) return s;
    const b = s ?? EMPTY;
    srcs.push(b);
    if (b.length > maxlen) maxlen = b.length;
  }
  const destKey = kstr(argv[2]!);
  if (maxlen === 0) {
    if (ctx.deleteKey(db, destKey)) {
      ctx.notify(db.id, 'del', argv[2]!, 'g');
      ctx.dirty++;
    }
    return 0;
  }
  const res = Buffer.alloc(maxlen);
  for (let i = 0; i < maxlen; i++) {
    let out = srcs[0]![i] ?? 0;
    if (op === 'not') out = ~out & 0xff;
    for (let k = 1; k < srcs.length; k++) {
      const x = srcs[k]![i] ?? 0;
      if (op === 'and') out &= x;
      else if (op === 'or') out |= x;
      else out ^= x;
    }
    res[i] = out;
  }
  ctx.addKey(db, destKey, T_STRING, res);
  ctx.notify(db.id, 'set', argv[2]!, '$');
  ctx.dirty++;
  return maxlen;
};

// ---- BITFIELD ------------------------------------------------------------------------------------

const OP_GET = 0;
const OP_SET = 1;
const OP_INCRBY = 2;
const OW_WRAP = 0;
const OW_SAT = 1;
const OW_FAIL = 2;

interface FieldOp {
  op: number;
  offset: number;
  value: bigint;
  ow: number;
  bits: number;
  signed: boolean;
}

function getField(b: Uint8Array, offset: number, bits: number, signed: boolean): bigint {
  let v = 0n;
  for (let i = 0; i < bits; i++) {
    const pos = offset + i;
    const byte = b[pos >> 3] ?? 0;
    v = (v << 1n) | BigInt((byte >> (7 - (pos & 7))) & 1);
  }
  return signed ? BigInt.asIntN(bits, v) : v;
}

function setField(b: Buffer, offset: number, bits: number, value: bigint): void {
  const v = BigInt.asUintN(bits, value);
  for (let i = 0; i < bits; i++) {
    const bit = Number((v >> BigInt(bits - 1 - i)) & 1n);
    const pos = offset + i;
    const mask = 1 << (7 - (pos & 7));
    if (bit) b[pos >> 3]! |= mask;
    else b[pos >> 3]! &= ~mask;
  }
}

/** The value to store after old+incr (incr = 0 for SET of `value`), or null when FAIL refuses it. */
function overflow(value: bigint, incr: bigint, bits: number, signed: boolean, ow: number): bigint | null {
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  const min = signed ? -max - 1n : 0n;
  const v = value + incr;
  if (v > max || v < min) {
    if (ow === OW_FAIL) return null;
    if (ow === OW_SAT) return v > max ? max : min;
    return signed ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v);
  }
  return v;
}

function bitfieldGeneric(readonlyCmd: boolean): Impl {
  return (ctx, client, argv) => {
    const ops: FieldOp[] = [];
    let ow = OW_WRAP;
    let readonly = true;
    let highest = 0;
    for (let j = 2; j < argv.length; j++) {
      const rem = argv.length - j - 1;
      const sub = argv[j]!.toString('latin1').toLowerCase();
      let op: number;
      if (sub === 'get' && rem >= 2) op = OP_GET;
      else if (sub === 'set' && rem >= 3) op = OP_SET;
      else if (sub === 'incrby' && rem >= 3) op = OP_INCRBY;
      else if (sub === 'overflow' && rem >= 1) {
        const t = argv[++j]!.toString('latin1').toLowerCase();
        if (t === 'wrap') ow = OW_WRAP;
        else if (t === 'sat') ow = OW_SAT;
        else if (t === 'fail') ow = OW_FAIL;
        else return new ErrorReply('ERR Invalid OVERFLOW type specified');
        continue;
      } else return E_SYNTAX;
      const type = argv[j + 1]!.toString('latin1');
      const signed = type[0] === 'i';
      if (type[0] !== 'i' && type[0] !== 'u') return E_BITFIELD_TYPE;
      const nb = parseInt64(Buffer.from(type.slice(1), 'latin1'));
      if (nb === null || nb < 1 || (signed && nb > 64) || (!signed && nb > 63)) return E_BITFIELD_TYPE;
      const bits = Number(nb);
      const offset = bitOffset(argv[j + 2]!, bits);
      if (offset === null) return E_BIT_OFFSET;
      let value = 0n;
      if (op !== OP_GET) {
        readonly = false;
        highest = Math.max(highest, offset + bits - 1);
        const v = parseInt64(argv[j + 3]!);
        if (v === null) return E_NOT_INT;
        value = BigInt(v);
      }
      ops.push({ op, offset, value, ow, bits, signed });
      j += op === OP_GET ? 2 : 3;
    }
    const db = ctx.dbs[client.db]!;
    const key = kstr(argv[1]!);
    if (readonly) {
      const s = readString(ctx, db, key);
      if (s instanceof ErrorReply) return s;
      return ops.map((o) => toReply(getField(s ?? EMPTY, o.offset, o.bits, o.signed)));
    }
    if (readonlyCmd) return new ErrorReply('ERR BITFIELD_RO only supports the GET subcommand');
    const w = writableString(ctx, db, key, highest >> 3);
    if (w instanceof ErrorReply) return w;
    let changes = 0;
    const out: Reply[] = [];
    for (const o of ops) {
      if (o.op === OP_GET) {
        out.push(toReply(getField(w.buf, o.offset, o.bits, o.signed)));
        continue;
      }
      const old = getField(w.buf, o.offset, o.bits, o.signed);
      const nv = o.op === OP_INCRBY
        ? overflow(old, o.value, o.bits, o.signed, o.ow)
        : overflow(o.signed ? o.value : BigInt.asUintN(64, o.value), 0n, o.bits, o.signed, o.ow);
      if (nv === null) {
        out.push(null);
        continue;
      }
      out.push(toReply(o.op === OP_INCRBY ? nv : old));
      setField(w.buf, o.offset, o.bits, nv);
      if (w.grown || old !== nv) changes++;
    }
    if (changes > 0) {
      w.store(w.buf);
      ctx.notify(db.id, 'setbit', argv[1]!, '$');
      ctx.dirty += changes;
    }
    return out;
  };
}

function toReply(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

export const BIT_COMMANDS: Record<string, Impl> = {
  setbit,
  getbit,
  bitcount,
  bitpos,
  bitop,
  bitfield: bitfieldGeneric(false),
  bitfield_ro: bitfieldGeneric(true),
};
