import type { SnapshotEntry } from '../../src/sync/snapshot-source.js';

/** A keyspace exercising every value type, expiry, binary keys, big values and all 16 dbs. */

/** Deterministic pseudo-random bytes. */
export function bytes(n: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Looks like the context's Deque: `length` and `toArray()`, not iterable. */
class DequeLike {
  constructor(private readonly items: Buffer[]) {}
  get length(): number {
    return this.items.length;
  }
  toArray(): Buffer[] {
    return this.items.slice();
  }
}

export const INT_LIKE = ['0', '-1', '127', '128', '-128', '-129', '32767', '-32768', '65536', '2147483647', '2147483648',
  '-2147483648', '-2147483649', '007', '-0', '+5', ' 1', '12345678901', '1e3', '-'];

export const HOUR = 3600_000;

export function fixture(now = Date.now()): Map<number, SnapshotEntry[]> {
  const s = (key: string | Buffer, value: string | Buffer, expireAt: number | null = null): SnapshotEntry => ({
    key,
    type: 'string',
    value: typeof value === 'string' ? Buffer.from(value, 'latin1') : value,
    expireAt,
  });
  const all256 = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const db0: SnapshotEntry[] = [
    s('plain', 'hello world'),
    s('empty', ''),
    s('42', 'int-like key'),
    ...INT_LIKE.map((v) => s(`int:${v}`, v)),
    s(Buffer.from([0, 0xff, 0x0d, 0x0a, 0x80]), all256),
    s('big', bytes(100 * 1024, 7)),
    s('ttl:string', 'expires', now + HOUR),
    { key: 'list:small', type: 'list', value: ['a', 'b', '1', '-5', all256].map((x) => (typeof x === 'string' ? Buffer.from(x) : x)), expireAt: null },
    { key: 'list:deque', type: 'list', value: new DequeLike([Buffer.from('x'), Buffer.from('y')]), expireAt: now + 2 * HOUR },
    { key: 'list:big', type: 'list', value: Array.from({ length: 5000 }, (_, i) => Buffer.from(`item-${i}`)), expireAt: null },
    { key: 'list:huge-item', type: 'list', value: [Buffer.from('small'), bytes(70_000, 3)], expireAt: null },
    { key: 'list:empty', type: 'list', value: [], expireAt: null },
    {
      key: 'hash:small',
      type: 'hash',
      value: new Map<string, Buffer>([
        ['f1', Buffer.from('v1')],
        ['\u0000\u00ff', Buffer.from('binary field')],
        ['n', Buffer.from('100')],
      ]),
      expireAt: null,
    },
    {
      key: 'hash:big',
      type: 'hash',
      value: new Map(Array.from({ length: 1000 }, (_, i) => [`field-${i}`, Buffer.from(`value-${i}`)] as [string, Buffer])),
      expireAt: now + HOUR,
    },
    { key: 'hash:pairs', type: 'hash', value: [[Buffer.from('a'), bytes(70_000, 9)], [Buffer.from('b'), Buffer.from('2')]], expireAt: null },
    { key: 'set:ints', type: 'set', value: new Set(['1', '2', '3', '-7']), expireAt: null },
    { key: 'set:strs', type: 'set', value: new Set(['apple', 'banana', '\u00ff\u0000']), expireAt: null },
    { key: 'set:big', type: 'set', value: new Set(Array.from({ length: 2000 }, (_, i) => `m${i}`)), expireAt: null },
    { key: 'set:buffers', type: 'set', value: [Buffer.from('p'), Buffer.from('q')], expireAt: null },
  ];
  const dbs = new Map<number, SnapshotEntry[]>([[0, db0]]);
  for (let db = 1; db < 16; db++) {
    dbs.set(db, [s(`db${db}:key`, `in db ${db}`), s(Buffer.from([db, 0]), bytes(db * 10, db), db % 2 ? now + HOUR : null)]);
  }
  return dbs;
}

/** The fixture as canonical input for canonOf (empty collections dropped, as the writer does). */
export function fixtureRows(dbs: Map<number, SnapshotEntry[]>): Array<{ db: number; key: Buffer | string; type: string; value: unknown }> {
  const rows: Array<{ db: number; key: Buffer | string; type: string; value: unknown }> = [];
  for (const [db, entries] of dbs) {
    for (const e of entries) {
      let value = e.value;
      if (value instanceof DequeLike) value = value.toArray();
      if (e.type === 'list' && (value as unknown[]).length === 0) continue;
      rows.push({ db, key: e.key, type: e.type, value });
    }
  }
  return rows;
}
