import type { SnapshotBytes, StreamValue } from './snapshot-source.js';
import { RdbError } from './errors.js';

/** Normalizes the value shapes a keyspace may hold (see SnapshotEntry) into counted element sequences. */

export interface Counted<T> {
  count: number;
  items: Iterable<T>;
}

function isIterable(v: unknown): v is Iterable<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
}

function hasToArray(v: unknown): v is { toArray(): unknown[] } {
  return v !== null && typeof v === 'object' && typeof (v as { toArray?: unknown }).toArray === 'function';
}

/** List or set members. */
export function members(value: unknown): Counted<SnapshotBytes> {
  if (Array.isArray(value)) return { count: value.length, items: value as SnapshotBytes[] };
  if (value instanceof Set) return { count: value.size, items: value as Set<SnapshotBytes> };
  if (hasToArray(value)) {
    const arr = value.toArray() as SnapshotBytes[];
    return { count: arr.length, items: arr };
  }
  if (isIterable(value)) {
    const arr = Array.from(value) as SnapshotBytes[];
    return { count: arr.length, items: arr };
  }
  throw new RdbError('RDB_BAD_VALUE', 'list/set value is not iterable');
}

/** Hash fields and values. */
export function pairs(value: unknown): Counted<[SnapshotBytes, SnapshotBytes]> {
  if (value instanceof Map) return { count: value.size, items: value as Map<SnapshotBytes, SnapshotBytes> };
  if (Array.isArray(value)) return { count: value.length, items: value as Array<[SnapshotBytes, SnapshotBytes]> };
  if (isIterable(value)) {
    const arr = Array.from(value) as Array<[SnapshotBytes, SnapshotBytes]>;
    return { count: arr.length, items: arr };
  }
  throw new RdbError('RDB_BAD_VALUE', 'hash value is not a Map or iterable of pairs');
}

/** Sorted set members and scores: a Map<member, score> or an iterable of [member, score] (the context's ZSet). */
export function zsetPairs(value: unknown): Counted<[SnapshotBytes, number]> {
  if (value instanceof Map) return { count: value.size, items: value as Map<SnapshotBytes, number> };
  if (isIterable(value)) {
    const arr = Array.from(value) as Array<[SnapshotBytes, number]>;
    return { count: arr.length, items: arr };
  }
  throw new RdbError('RDB_BAD_VALUE', 'zset value is not a Map or iterable of [member, score] pairs');
}

/**
 * A copy of a value that stays unchanged when the original container is mutated in place. Element Buffers are
 * shared (the keyspace replaces elements, it does not write into them); a string Buffer is copied because
 * SETRANGE/APPEND may write into it.
 */
export function cloneValue(type: string, value: unknown): unknown {
  switch (type) {
    case 'string':
      return Buffer.isBuffer(value) ? Buffer.from(value) : value;
    case 'hash':
      return Array.from(pairs(value).items);
    case 'zset':
      return Array.from(zsetPairs(value).items);
    case 'stream':
      return (value as StreamValue).clone();
    default:
      return Array.from(members(value).items);
  }
}
