import { Buffer } from 'node:buffer';
import type { Keyspace, Impl } from './keyspace.js';
import type { CommandMeta } from './command-table.js';
import { ErrorReply, OK } from '../wire/reply.js';
import { T_STRING, type Db, keyString as kstr } from './store.js';

/**
 * HyperLogLog with Redis' exact string layout (hyperloglog.c), so values interoperate through DUMP/RESTORE,
 * replication and GET/SET: a 16-byte header ("HYLL", encoding, 3 unused bytes, the cached cardinality little-endian
 * with bit 7 of its last byte marking it stale), then either 16384 6-bit registers (dense, 12288 bytes) or the sparse
 * opcodes ZERO (00xxxxxx), XZERO (01xxxxxx yyyyyyyy) and VAL (1vvvvvxx). Elements are hashed with MurmurHash64A
 * (seed 0xadc83b19); the count uses Ertl's improved estimator, as Redis 5+ does.
 */

export const HLL_TABLE: readonly CommandMeta[] = [
  ['pfadd', -2, ['write', 'denyoom', 'fast'], 1, 1, 1, ['@write', '@hyperloglog', '@fast']],
  ['pfcount', -2, ['readonly', 'may_replicate'], 1, -1, 1, ['@read', '@hyperloglog', '@slow']],
  ['pfmerge', -2, ['write', 'denyoom'], 1, -1, 1, ['@write', '@hyperloglog', '@slow']],
  ['pfdebug', 3, ['write', 'denyoom', 'admin'], 2, 2, 1, ['@write', '@hyperloglog', '@admin', '@slow', '@dangerous']],
];

const P = 14;
const Q = 64 - P;
const REGISTERS = 1 << P;
const HDR = 16;
const DENSE_SIZE = HDR + ((REGISTERS * 6 + 7) >> 3);
const DENSE = 0;
const SPARSE = 1;
const SPARSE_VAL_MAX = 32;
const SPARSE_VAL_MAX_LEN = 4;
const SPARSE_ZERO_MAX_LEN = 64;
const SPARSE_XZERO_MAX_LEN = 16384;
const ALPHA_INF = 0.721347520444481703680;

const E_NOT_HLL = new ErrorReply('WRONGTYPE Key is not a valid HyperLogLog string value.');
const E_CORRUPT = new ErrorReply('INVALIDOBJ Corrupted HLL object detected');

/** 64-bit values as [hi, lo] unsigned 32-bit halves: MurmurHash64A runs once per element, so no BigInt. */
let rh = 0;
let rl = 0;

/** (ah:al) * (bh:bl) mod 2^64 into rh:rl. */
function mul64(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const lo = ((mid & 0xffff) << 16) | (p00 & 0xffff);
  const carry = a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
  rh = (carry + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
  rl = lo >>> 0;
}

const MH = 0xc6a4a793;
const ML = 0x5bd1e995;

/** MurmurHash64A as Redis builds it (little-endian blocks, seed 0xadc83b19): [hi, lo]. */
export function murmur64a(data: Uint8Array, seed = 0xadc83b19): [number, number] {
  const len = data.length;
  // h = seed ^ (len * m)
  mul64(0, len >>> 0, MH, ML);
  let hh = rh ^ 0;
  let hl = (rl ^ seed) >>> 0;
  hh >>>= 0;
  const nblocks = len >> 3;
  for (let i = 0; i < nblocks; i++) {
    const o = i * 8;
    let kl = (data[o]! | (data[o + 1]! << 8) | (data[o + 2]! << 16) | (data[o + 3]! << 24)) >>> 0;
    let kh = (data[o + 4]! | (data[o + 5]! << 8) | (data[o + 6]! << 16) | (data[o + 7]! << 24)) >>> 0;
    mul64(kh, kl, MH, ML);
    kh = rh;
    kl = rl;
    // k ^= k >> 47
    kl = (kl ^ (kh >>> 15)) >>> 0;
    mul64(kh, kl, MH, ML);
    hh = (hh ^ rh) >>> 0;
    hl = (hl ^ rl) >>> 0;
    mul64(hh, hl, MH, ML);
    hh = rh;
    hl = rl;
  }
  const tail = nblocks * 8;
  const rem = len & 7;
  if (rem > 0) {
    for (let i = rem - 1; i >= 0; i--) {
      const b = data[tail + i]!;
      if (i >= 4) hh = (hh ^ (b << (8 * (i - 4)))) >>> 0;
      else hl = (hl ^ (b << (8 * i))) >>> 0;
    }
    mul64(hh, hl, MH, ML);
    hh = rh;
    hl = rl;
  }
  hl = (hl ^ (hh >>> 15)) >>> 0;
  mul64(hh, hl, MH, ML);
  hh = rh;
  hl = rl;
  hl = (hl ^ (hh >>> 15)) >>> 0;
  return [hh, hl];
}

/** hllPatLen: the register index and the run length of zeros plus one for an element. */
function patLen(ele: Uint8Array): [number, number] {
  const [hi, lo0] = murmur64a(ele);
  const index = lo0 & (REGISTERS - 1);
  // hash >>= P; hash |= 1 << Q; count trailing zeros + 1 (Q + 1 at most).
  let lo = ((lo0 >>> P) | (hi << (32 - P))) >>> 0;
  const h2 = ((hi >>> P) | (1 << (Q - 32))) >>> 0;
  let count = 1;
  if (lo === 0) {
    count += 32;
    lo = h2;
  }
  while ((lo & 1) === 0) {
    count++;
    lo >>>= 1;
  }
  return [index, count];
}

function denseGet(b: Uint8Array, off: number, i: number): number {
  const byte = off + ((i * 6) >> 3);
  const fb = (i * 6) & 7;
  const b0 = b[byte]!;
  const b1 = b[byte + 1] ?? 0;
  return ((b0 >> fb) | (b1 << (8 - fb))) & 63;
}

function denseSet(b: Uint8Array, off: number, i: number, v: number): void {
  const byte = off + ((i * 6) >> 3);
  const fb = (i * 6) & 7;
  b[byte] = (b[byte]! & ~(63 << fb)) | (v << fb);
  if (fb > 2) b[byte + 1] = (b[byte + 1]! & ~(63 >> (8 - fb))) | (v >> (8 - fb));
}

/** Raises `regs` to the registers of a valid HLL string (hllMerge); false when the sparse data is corrupted. */
function mergeInto(s: Buffer, regs: Uint8Array): boolean {
  if (s[4] === DENSE) {
    // Four 6-bit registers in every three bytes, least significant bits first.
    for (let i = 0, p = HDR; i < REGISTERS; i += 4, p += 3) {
      const b0 = s[p]!;
      const b1 = s[p + 1]!;
      const b2 = s[p + 2]!;
      const r0 = b0 & 63;
      const r1 = (b0 >> 6) | ((b1 & 15) << 2);
      const r2 = (b1 >> 4) | ((b2 & 3) << 4);
      const r3 = b2 >> 2;
      if (r0 > regs[i]!) regs[i] = r0;
      if (r1 > regs[i + 1]!) regs[i + 1] = r1;
      if (r2 > regs[i + 2]!) regs[i + 2] = r2;
      if (r3 > regs[i + 3]!) regs[i + 3] = r3;
    }
    return true;
  }
  let idx = 0;
  for (let p = HDR; p < s.length;) {
    const op = s[p]!;
    if ((op & 0xc0) === 0) {
      idx += (op & 0x3f) + 1;
      p++;
    } else if ((op & 0xc0) === 0x40) {
      if (p + 1 >= s.length) return false;
      idx += (((op & 0x3f) << 8) | s[p + 1]!) + 1;
      p += 2;
    } else {
      const val = ((op >> 2) & 0x1f) + 1;
      const run = (op & 3) + 1;
      if (idx + run > REGISTERS) return false;
      for (let k = 0; k < run; k++, idx++) if (val > regs[idx]!) regs[idx] = val;
      p++;
    }
    if (idx > REGISTERS) return false;
  }
  return idx === REGISTERS;
}

/** Registers of a valid HLL string (dense or sparse), or null when the sparse data is corrupted. */
function registersOf(s: Buffer): Uint8Array | null {
  const regs = new Uint8Array(REGISTERS);
  return mergeInto(s, regs) ? regs : null;
}

/** The sparse opcodes for registers whose values are all <= 32. */
function sparseBody(regs: Uint8Array): Buffer {
  const out: number[] = [];
  let i = 0;
  while (i < REGISTERS) {
    const v = regs[i]!;
    let run = 1;
    while (i + run < REGISTERS && regs[i + run] === v) run++;
    i += run;
    if (v === 0) {
      while (run > 0) {
        if (run > SPARSE_ZERO_MAX_LEN) {
          const n = Math.min(run, SPARSE_XZERO_MAX_LEN);
          out.push(0x40 | ((n - 1) >> 8), (n - 1) & 0xff);
          run -= n;
        } else {
          out.push(run - 1);
          run = 0;
        }
      }
    } else {
      while (run > 0) {
        const n = Math.min(run, SPARSE_VAL_MAX_LEN);
        out.push(0x80 | ((v - 1) << 2) | (n - 1));
        run -= n;
      }
    }
  }
  return Buffer.from(out);
}

function header(encoding: number, card: Buffer | null): Buffer {
  const h = Buffer.alloc(HDR);
  h.write('HYLL', 0, 'latin1');
  h[4] = encoding;
  if (card) card.copy(h, 8);
  else h[15] = 0x80;
  return h;
}

/** Encodes registers: sparse while it fits in `maxSparse` bytes and every value is <= 32, dense otherwise. */
function encode(regs: Uint8Array, preferSparse: boolean, maxSparse: number): Buffer {
  if (preferSparse) {
    let ok = true;
    for (let i = 0; i < REGISTERS; i++) {
      if (regs[i]! > SPARSE_VAL_MAX) {
        ok = false;
        break;
      }
    }
    if (ok) {
      const body = sparseBody(regs);
      if (HDR + body.length <= maxSparse) return Buffer.concat([header(SPARSE, null), body]);
    }
  }
  const out = Buffer.alloc(DENSE_SIZE);
  header(DENSE, null).copy(out);
  for (let i = 0; i < REGISTERS; i++) if (regs[i]) denseSet(out, HDR, i, regs[i]!);
  return out;
}

function sigma(x: number): number {
  if (x === 1) return Infinity;
  let zPrime: number;
  let y = 1;
  let z = x;
  do {
    x *= x;
    zPrime = z;
    z += x * y;
    y += y;
  } while (zPrime !== z);
  return z;
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let zPrime: number;
  let y = 1;
  let z = 1 - x;
  do {
    x = Math.sqrt(x);
    zPrime = z;
    y *= 0.5;
    z -= (1 - x) ** 2 * y;
  } while (zPrime !== z);
  return z / 3;
}

/** hllCount: Ertl's estimator over the register histogram. */
function count(regs: Uint8Array): number {
  const histo = new Array<number>(64).fill(0);
  for (let i = 0; i < REGISTERS; i++) histo[regs[i]!]!++;
  const m = REGISTERS;
  let z = m * tau((m - histo[Q + 1]!) / m);
  for (let j = Q; j >= 1; j--) {
    z += histo[j]!;
    z *= 0.5;
  }
  z += m * sigma(histo[0]! / m);
  return Math.round((ALPHA_INF * m * m) / z);
}

/** isHLLObjectOrReply: the string if it is a HyperLogLog, null when missing, or the error. */
function hllOf(ctx: Keyspace, db: Db, key: string): Buffer | null | ErrorReply {
  const e = ctx.lookup(db, key);
  if (e === undefined) return null;
  if (e.t !== T_STRING) return new ErrorReply('WRONGTYPE Operation against a key holding the wrong kind of value');
  const s = e.v as Buffer;
  if (s.length < HDR || s.toString('latin1', 0, 4) !== 'HYLL' || s[4]! > 1) return E_NOT_HLL;
  if (s[4] === DENSE && s.length !== DENSE_SIZE) return E_NOT_HLL;
  return s;
}

function store(ctx: Keyspace, db: Db, key: string, v: Buffer): void {
  const e = ctx.lookup(db, key);
  if (e === undefined) ctx.addKey(db, key, T_STRING, v);
  else e.v = v;
}

const pfadd: Impl = (ctx, client, argv) => {
  const db = ctx.dbs[client.db]!;
  const key = kstr(argv[1]!);
  const s = hllOf(ctx, db, key);
  if (s instanceof ErrorReply) return s;
  if (s !== null && s[4] === DENSE) {
    // Dense: update the registers of a copy in place, no decoding.
    const v = Buffer.from(s);
    let changed = 0;
    for (let i = 2; i < argv.length; i++) {
      const [idx, c] = patLen(argv[i]!);
      if (c > denseGet(v, HDR, idx)) {
        denseSet(v, HDR, idx, c);
        changed++;
      }
    }
    if (changed === 0) return 0;
    v[15] = v[15]! | 0x80;
    store(ctx, db, key, v);
    ctx.notify(db.id, 'pfadd', argv[1]!, '$');
    ctx.dirty += changed;
    return 1;
  }
  let regs: Uint8Array | null;
  let created = false;
  if (s === null) {
    regs = new Uint8Array(REGISTERS);
    created = true;
  } else {
    regs = registersOf(s);
    if (regs === null) return E_CORRUPT;
  }
  let updated = 0;
  for (let i = 2; i < argv.length; i++) {
    const [idx, c] = patLen(argv[i]!);
    if (c > regs[idx]!) {
      regs[idx] = c;
      updated++;
    }
  }
  if (!created && updated === 0) return 0;
  const sparse = s === null || s[4] === SPARSE;
  store(ctx, db, key, encode(regs, sparse, ctx.hllSparseMaxBytes));
  ctx.notify(db.id, 'pfadd', argv[1]!, '$');
  ctx.dirty += updated > 0 ? updated : 1;
  return 1;
};

const pfcount: Impl = (ctx, client, argv) => {
  const db = ctx.dbs[client.db]!;
  if (argv.length > 2) {
    const max = new Uint8Array(REGISTERS);
    for (let j = 1; j < argv.length; j++) {
      const s = hllOf(ctx, db, kstr(argv[j]!));
      if (s instanceof ErrorReply) return s;
      if (s === null) continue;
      if (!mergeInto(s, max)) return E_CORRUPT;
    }
    return count(max);
  }
  const key = kstr(argv[1]!);
  const s = hllOf(ctx, db, key);
  if (s instanceof ErrorReply) return s;
  if (s === null) return 0;
  if ((s[15]! & 0x80) === 0) return Number(s.readBigUInt64LE(8));
  const r = registersOf(s);
  if (r === null) return E_CORRUPT;
  const card = count(r);
  // Cache the cardinality in the header, as Redis does (the key changes: replicas get the same bytes).
  const v = Buffer.from(s);
  v.writeBigUInt64LE(BigInt(card), 8);
  store(ctx, db, key, v);
  ctx.dirty++;
  return card;
};

const pfmerge: Impl = (ctx, client, argv) => {
  const db = ctx.dbs[client.db]!;
  const max = new Uint8Array(REGISTERS);
  let dense = false;
  for (let j = 1; j < argv.length; j++) {
    const s = hllOf(ctx, db, kstr(argv[j]!));
    if (s instanceof ErrorReply) return s;
    if (s === null) continue;
    if (s[4] === DENSE) dense = true;
    if (!mergeInto(s, max)) return E_CORRUPT;
  }
  const key = kstr(argv[1]!);
  const cur = hllOf(ctx, db, key) as Buffer | null;
  const sparse = !dense && (cur === null || cur[4] === SPARSE);
  store(ctx, db, key, encode(max, sparse, ctx.hllSparseMaxBytes));
  ctx.notify(db.id, 'pfadd', argv[1]!, '$');
  ctx.dirty++;
  return OK;
};

/** PFDEBUG GETREG|DECODE|ENCODING|TODENSE key (the subset Redis' tests use). */
const pfdebug: Impl = (ctx, client, argv) => {
  const db = ctx.dbs[client.db]!;
  const key = kstr(argv[2]!);
  const s = hllOf(ctx, db, key);
  if (s instanceof ErrorReply) return s;
  if (s === null) return new ErrorReply('ERR The specified key does not exist');
  const sub = argv[1]!.toString('latin1').toLowerCase();
  const regs = registersOf(s);
  if (regs === null) return E_CORRUPT;
  switch (sub) {
    case 'getreg':
      return [...regs];
    case 'encoding':
      return s[4] === DENSE ? 'dense' : 'sparse';
    case 'todense':
      if (s[4] === DENSE) return 0;
      store(ctx, db, key, encode(regs, false, 0));
      return 1;
    default:
      return new ErrorReply(`ERR Unknown PFDEBUG subcommand '${argv[1]!.toString('latin1')}'`);
  }
};

export const HLL_COMMANDS: Record<string, Impl> = { pfadd, pfcount, pfmerge, pfdebug };
