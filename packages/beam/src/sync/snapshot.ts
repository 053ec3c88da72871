import { debuglog } from 'node:util';
import type { Snapshot, SnapshotDb, SnapshotEntry, SnapshotValueType } from './snapshot-source.js';
import { cloneValue } from './values.js';
import { detachHook } from './keyspace-hook.js';

const debug = debuglog('beamgate:sync');

/**
 * The part of the Context a snapshot needs.
 *
 * `onBeforeMutate` is the copy-on-write hook: the keyspace calls every registered listener synchronously,
 * *before* it changes a value container in place (list/hash/set object, or a string Buffer it writes into),
 * passing that container object. Replacing a key's value with a new object, deleting a key, renaming it
 * (moving the same object) or changing its expiry need no call: the snapshot holds its own references and
 * expiry numbers. Without the hook, `captureSnapshot` copies every container up front (correct, but O(data)
 * time and memory at capture).
 */
export interface SnapshotKeyspace {
  /** Number of databases (16). */
  readonly databases: number;
  entries(db: number): Iterable<SnapshotEntry>;
  onBeforeMutate?(listener: (container: object) => void): () => void;
  /** True when string values are never written in place (replaced instead): they need no tracking. */
  readonly immutableStrings?: boolean;
}

/** One database's captured keys, column-wise (fewer objects than one per key on large keyspaces). */
interface CapturedDb {
  db: number;
  expires: number;
  keys: Array<SnapshotEntry['key']>;
  types: SnapshotValueType[];
  values: unknown[];
  expireAt: Array<number | null>;
}

/**
 * A point-in-time view of a generic keyspace (SnapshotKeyspace) that stays valid while commands keep running. The
 * Context uses the lazy, O(databases) LazySnapshot instead (lazy-snapshot.ts, ReplicationMaster.snapshot()).
 *
 * Consistency: capture runs synchronously between two commands and records every key with its type, expiry and a
 * reference to its value container. Commands that run while the snapshot is being written either replace/delete
 * values (the snapshot still holds the old reference) or mutate a container in place; the keyspace reports the
 * latter through `onBeforeMutate` first and the snapshot then keeps a private copy of that container, but only if
 * it has not serialized it yet. Each container is handed out exactly once and serialized synchronously by the
 * writer, so the bytes equal the keyspace at capture time. The replication offset read in the same tick as the
 * capture marks where the live stream starts, so every later write reaches the replica exactly once.
 */
export class KeyspaceSnapshot implements Snapshot {
  readonly mode: 'cow' | 'copy';
  private readonly dbs: CapturedDb[] = [];
  /** Containers captured but not yet handed to the writer, with their type. */
  private readonly pending = new Map<object, SnapshotValueType>();
  /** Private copies of containers mutated before the writer reached them. */
  private readonly preserved = new Map<object, unknown>();
  private unhook: (() => void) | null = null;
  private released = false;

  constructor(keyspace: SnapshotKeyspace) {
    this.mode = keyspace.onBeforeMutate ? 'cow' : 'copy';
    const skipStrings = keyspace.immutableStrings === true;
    for (let db = 0; db < keyspace.databases; db++) {
      const c: CapturedDb = { db, expires: 0, keys: [], types: [], values: [], expireAt: [] };
      for (const e of keyspace.entries(db)) {
        let value = e.value;
        if (this.mode === 'copy') value = cloneValue(e.type, value);
        else if (value !== null && typeof value === 'object' && !(skipStrings && e.type === 'string')) this.pending.set(value, e.type);
        if (e.expireAt !== null) c.expires++;
        c.keys.push(e.key);
        c.types.push(e.type);
        c.values.push(value);
        c.expireAt.push(e.expireAt);
      }
      if (c.keys.length > 0) this.dbs.push(c);
    }
    if (keyspace.onBeforeMutate && this.pending.size > 0) {
      this.unhook = keyspace.onBeforeMutate((container) => this.beforeMutate(container));
    }
    debug('snapshot captured (%s): %d dbs, %d tracked containers', this.mode, this.dbs.length, this.pending.size);
  }

  /** Number of containers copied because they were about to change (for tests and metrics). */
  get preservedCount(): number {
    return this.preserved.size;
  }

  beforeMutate(container: object): void {
    const type = this.pending.get(container);
    if (type === undefined) return;
    this.pending.delete(container);
    this.preserved.set(container, cloneValue(type, container));
  }

  databases(): Iterable<SnapshotDb> {
    return this.dbs.map((c) => ({
      db: c.db,
      size: c.keys.length,
      expires: c.expires,
      entries: () => this.iterate(c),
    }));
  }

  private *iterate(c: CapturedDb): Generator<SnapshotEntry> {
    for (let i = 0; i < c.keys.length; i++) {
      const key = c.keys[i]!;
      const type = c.types[i]!;
      const expireAt = c.expireAt[i]!;
      let value = c.values[i];
      c.values[i] = undefined; // let the GC reclaim what the writer is done with
      if (this.mode === 'cow' && value !== null && typeof value === 'object') {
        const copy = this.preserved.get(value);
        if (copy !== undefined) {
          this.preserved.delete(value);
          value = copy;
        } else {
          this.pending.delete(value);
        }
        if (this.pending.size === 0) this.unhook = detachHook(this.unhook);
      }
      // The writer serializes this entry synchronously before asking for the next one.
      yield { key, type, value, expireAt };
    }
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.unhook = detachHook(this.unhook);
    this.pending.clear();
    this.preserved.clear();
    this.dbs.length = 0;
  }
}

export function captureSnapshot(keyspace: SnapshotKeyspace): KeyspaceSnapshot {
  return new KeyspaceSnapshot(keyspace);
}
