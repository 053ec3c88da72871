import { debuglog } from 'node:util';
import type { Snapshot, SnapshotDb, SnapshotEntry, SnapshotValueType } from './snapshot-source.js';
import { cloneValue } from './values.js';
import { detachHook } from './keyspace-hook.js';
import { SyncError } from './errors.js';

const debug = debuglog('beamgate:sync');

/** A key's slot as the live keyspace holds it (the Context's Entry). */
export interface LiveEntry {
  /** Type index into `LiveKeyspace.typeNames`. */
  readonly t: number;
  readonly v: unknown;
  /** Absolute expiry in ms, 0 = persistent. */
  readonly x: number;
  /** Creation sequence number: global, monotonic, so a map's insertion order is ascending `seq`. */
  readonly seq: number;
}

export type LiveMap = ReadonlyMap<string, LiveEntry>;

/** Receives the keyspace's copy-on-write reports (Context.observeKeys). */
export interface KeyChangeObserver {
  beforeKeyChange(data: LiveMap, key: string, e: LiveEntry, removing: boolean): void;
}

/**
 * What a lazy snapshot needs from the keyspace. The contract (Context.observeKeys): `observe` reports every existing
 * key before anything changes or removes it (`removing` when its value leaves the keyspace untouched); new keys get
 * a `seq` above every existing one; a database's map is only ever replaced (FLUSHDB) or exchanged (SWAPDB) whole,
 * an old map is never cleared in place.
 */
export interface LiveKeyspace {
  readonly dbs: ReadonlyArray<{ readonly data: LiveMap; readonly expires: number }>;
  readonly typeNames: readonly SnapshotValueType[];
  now(): number;
  /** Takes a creation sequence number: every key created from now on gets a larger one. */
  newSeq(): number;
  observe(observer: KeyChangeObserver): () => void;
  /** True when string values are replaced, never written in place (no copy needed to preserve one). */
  readonly immutableStrings?: boolean;
}

/** One database as captured: the live map itself plus the writer's position in it. */
interface DbCursor {
  readonly db: number;
  readonly data: LiveMap;
  readonly size: number;
  readonly expires: number;
  /** `seq` of the last entry the writer took from `data`: entries up to it are done. */
  lastSeq: number;
  /** Keys settled before the writer reached them (their pre-image is queued or written, or they were expired). */
  readonly settled: Set<string>;
  /** Pre-images of keys changed before the writer reached them, not yet written. */
  readonly queue: SnapshotEntry[];
}

/**
 * A point-in-time view of a live keyspace, captured in O(databases) and written incrementally.
 *
 * Capture records the time, takes a creation sequence number (keys with a larger `seq` did not exist) and keeps a
 * reference to each non-empty database's map, without copying anything. The writer then walks the live maps in
 * insertion (= `seq`) order; `lastSeq` marks how far it got. Before a command changes or removes a key the writer
 * has not reached yet, the keyspace reports it and the snapshot saves its pre-image (value reference when it is
 * being removed or is an immutable string, otherwise a copy) in the database's queue, which the writer drains first;
 * the live entry is then skipped when reached. Keys created after capture sit at the end of the map and stop the
 * walk. A flushed database's old map is left as it was, and a swapped one is followed by identity, so both keep
 * their captured contents. Each entry is serialized synchronously before the next is asked for, so what the RDB
 * holds is the keyspace at the instant of capture: with the replication offset read in the same tick, every later
 * write reaches a replica exactly once.
 */
export class LazySnapshot implements Snapshot {
  readonly capturedAt: number;
  /** Keys created at or after this sequence number did not exist at capture. */
  private readonly firstNewSeq: number;
  private readonly cursors: DbCursor[] = [];
  private readonly byMap = new Map<LiveMap, DbCursor>();
  private readonly typeNames: readonly SnapshotValueType[];
  private readonly copyStrings: boolean;
  private unhook: (() => void) | null = null;
  private started = false;
  private released = false;
  /** Pre-images saved because a key changed before the writer reached it (tests, metrics). */
  preservedCount = 0;

  constructor(keyspace: LiveKeyspace) {
    this.capturedAt = keyspace.now();
    this.firstNewSeq = keyspace.newSeq();
    this.typeNames = keyspace.typeNames;
    this.copyStrings = keyspace.immutableStrings !== true;
    keyspace.dbs.forEach((d, db) => {
      if (d.data.size === 0) return;
      const c: DbCursor = { db, data: d.data, size: d.data.size, expires: d.expires, lastSeq: 0, settled: new Set(), queue: [] };
      this.cursors.push(c);
      this.byMap.set(d.data, c);
    });
    if (this.cursors.length > 0) this.unhook = keyspace.observe(this);
    debug('lazy snapshot captured: %d dbs, seq < %d', this.cursors.length, this.firstNewSeq);
  }

  /** Databases whose keys are not all written yet (0 once the hook is gone). */
  get pendingDatabases(): number {
    return this.byMap.size;
  }

  beforeKeyChange(data: LiveMap, key: string, e: LiveEntry, removing: boolean): void {
    if (e.seq >= this.firstNewSeq) return;
    const c = this.byMap.get(data);
    if (c === undefined || e.seq <= c.lastSeq || c.settled.has(key)) return;
    c.settled.add(key);
    if (e.x !== 0 && e.x <= this.capturedAt) return; // already expired at capture: not in the snapshot
    const type = this.typeNames[e.t]!;
    const keep = removing || (type === 'string' && !this.copyStrings);
    c.queue.push({ key, type, value: keep ? e.v : cloneValue(type, e.v), expireAt: e.x === 0 ? null : e.x });
    this.preservedCount++;
  }

  databases(): Iterable<SnapshotDb> {
    if (this.started || this.released) throw new SyncError('SYNC_SNAPSHOT_REUSED', 'a snapshot can be written once');
    this.started = true;
    return this.cursors.map((c) => ({ db: c.db, size: c.size, expires: c.expires, entries: () => this.walk(c) }));
  }

  private *walk(c: DbCursor): Generator<SnapshotEntry> {
    const names = this.typeNames;
    const at = this.capturedAt;
    // Reused: the writer serializes an entry before it asks for the next one.
    const out: SnapshotEntry = { key: '', type: 'string', value: null, expireAt: null };
    const it = c.data.entries();
    for (;;) {
      while (c.queue.length > 0) yield c.queue.pop()!;
      if (this.released) return;
      const r = it.next();
      if (r.done === true) break;
      const [k, e] = r.value;
      if (e.seq >= this.firstNewSeq) break; // created after capture, and so is everything behind it
      c.lastSeq = e.seq;
      if ((c.settled.size > 0 && c.settled.has(k)) || (e.x !== 0 && e.x <= at)) continue;
      out.key = k;
      out.type = names[e.t]!;
      out.value = e.v;
      out.expireAt = e.x === 0 ? null : e.x;
      yield out;
    }
    // Every key of the capture is written or queued: later changes no longer matter.
    this.byMap.delete(c.data);
    if (this.byMap.size === 0) this.unhook = detachHook(this.unhook);
    while (c.queue.length > 0) yield c.queue.pop()!;
    c.settled.clear();
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.unhook = detachHook(this.unhook);
    this.byMap.clear();
    for (const c of this.cursors) {
      c.queue.length = 0;
      c.settled.clear();
    }
    this.cursors.length = 0;
  }
}

export function captureLazySnapshot(keyspace: LiveKeyspace): LazySnapshot {
  return new LazySnapshot(keyspace);
}
