/**
 * What the RDB writer serializes: an abstract, already-consistent view of the keyspace. The Context (through
 * `captureSnapshot` in snapshot.ts) or a test fake provides it.
 */

export type SnapshotValueType = 'string' | 'list' | 'hash' | 'set' | 'zset' | 'stream';

/** A binary string as the keyspace holds it. JS strings are converted with the writer's `stringEncoding`. */
export type SnapshotBytes = Buffer | string;

/**
 * One key. `value` by type:
 * - string: `SnapshotBytes`
 * - list:   an array, an iterable, or a deque with `toArray()` (the context's Deque) of `SnapshotBytes`
 * - hash:   `Map<field, value>` or an iterable of `[field, value]`
 * - set:    `Set<member>` or an iterable of members
 * - zset:   `Map<member, score>` or an iterable of `[member, score]`
 * - stream: a `StreamValue` (the context's Stream)
 */
export interface SnapshotEntry {
  key: SnapshotBytes;
  type: SnapshotValueType;
  value: unknown;
  /** Absolute expiry in ms since the epoch, or null for a persistent key. */
  expireAt: number | null;
}

export interface SnapshotDb {
  readonly db: number;
  /** Number of keys and of keys with an expiry: only hints (RESIZEDB), they need not be exact. */
  readonly size: number;
  readonly expires: number;
  entries(): Iterable<SnapshotEntry>;
}

export interface SnapshotSource {
  /** Non-empty databases in ascending order. */
  databases(): Iterable<SnapshotDb>;
}

/** A snapshot that holds resources (a mutation hook) until released. `release()` is idempotent. */
export interface Snapshot extends SnapshotSource {
  release(): void;
}

/** Builds a SnapshotSource from plain arrays (tests, small stores). Values are used as they are: no copy. */
export function staticSnapshot(dbs: ReadonlyMap<number, readonly SnapshotEntry[]>): Snapshot {
  const list: SnapshotDb[] = [...dbs.entries()]
    .filter(([, entries]) => entries.length > 0)
    .sort((a, b) => a[0] - b[0])
    .map(([db, entries]) => ({
      db,
      size: entries.length,
      expires: entries.filter((e) => e.expireAt !== null).length,
      entries: () => entries,
    }));
  return { databases: () => list, release: () => {} };
}

/** The shape of a stream the RDB writer reads (the context's Stream has it). IDs are ms << 64 | seq. */
export interface StreamValue {
  readonly nodes: ReadonlyArray<{
    readonly master: bigint;
    readonly masterFields: readonly Buffer[];
    readonly live: number;
    readonly entries: ReadonlyArray<{ readonly id: bigint; readonly fields: readonly Buffer[]; readonly deleted: boolean }>;
  }>;
  readonly length: number;
  readonly lastId: bigint;
  readonly firstId: bigint;
  readonly maxDeletedId: bigint;
  readonly entriesAdded: number;
  sortedGroups(): ReadonlyArray<{
    readonly name: Buffer;
    readonly lastId: bigint;
    readonly entriesRead: number;
    readonly pel: ReadonlyMap<bigint, { readonly consumer: { readonly name: Buffer }; readonly deliveryTime: number; readonly deliveryCount: number }>;
    sortedPel(pel?: ReadonlyMap<bigint, unknown>): bigint[];
    sortedConsumers(): ReadonlyArray<{ readonly name: Buffer; readonly seenTime: number; readonly pel: ReadonlyMap<bigint, unknown> }>;
  }>;
  clone(): StreamValue;
}
