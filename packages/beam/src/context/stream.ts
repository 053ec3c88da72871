/**
 * The stream type (Redis 7.0 semantics): entries in ID order, grouped in nodes the way Redis groups them in
 * listpacks (so `~` trimming removes the same whole nodes), consumer groups with their pending entries lists.
 *
 * An ID is one bigint: ms in the high 64 bits, seq in the low 64 bits, so IDs compare as numbers.
 */

import type { RdbStream } from '../sync/rdb-reader.js';

export type StreamId = bigint;

const MASK64 = (1n << 64n) - 1n;
export const ID_MIN: StreamId = 0n;
export const ID_MAX: StreamId = (1n << 128n) - 1n;

export function makeId(ms: bigint, seq: bigint): StreamId {
  return (ms << 64n) | seq;
}
export function idMs(id: StreamId): bigint {
  return id >> 64n;
}
export function idSeq(id: StreamId): bigint {
  return id & MASK64;
}
export function idText(id: StreamId): string {
  return `${id >> 64n}-${id & MASK64}`;
}
export function idBuffer(id: StreamId): Buffer {
  return Buffer.from(idText(id), 'latin1');
}

/** Redis' string2ull: decimal digits only, fits 64 bits. */
function parseU64(s: string): bigint | null {
  if (s.length === 0 || s.length > 20 || !/^[0-9]+$/.test(s)) return null;
  const v = BigInt(s);
  return v > MASK64 ? null : v;
}

export interface ParsedId {
  id: StreamId;
  /** False only for `ms-*`. */
  seqGiven: boolean;
  /** `ms-*` (XADD only). */
  seqAuto: boolean;
}

/**
 * streamGenericParseIDOrReply: `-`, `+` (unless strict), `ms`, `ms-seq`, and `ms-*` when `allowAuto`.
 * Returns null for an invalid ID.
 */
export function parseId(b: Buffer, missingSeq: bigint, strict: boolean, allowAuto = false): ParsedId | null {
  if (b.length > 127) return null;
  const s = b.toString('latin1');
  if (s === '-') return strict ? null : { id: ID_MIN, seqGiven: true, seqAuto: false };
  if (s === '+') return strict ? null : { id: ID_MAX, seqGiven: true, seqAuto: false };
  const dash = s.indexOf('-');
  const ms = parseU64(dash < 0 ? s : s.slice(0, dash));
  if (ms === null) return null;
  // A bare `ms` counts as given (ms-missingSeq); only `ms-*` leaves the sequence to XADD.
  if (dash < 0) return { id: makeId(ms, missingSeq), seqGiven: true, seqAuto: false };
  const rest = s.slice(dash + 1);
  if (allowAuto && rest === '*') return { id: makeId(ms, 0n), seqGiven: false, seqAuto: true };
  const seq = parseU64(rest);
  if (seq === null) return null;
  return { id: makeId(ms, seq), seqGiven: true, seqAuto: false };
}

export interface StreamEntry {
  readonly id: StreamId;
  /** field, value, field, value... */
  readonly fields: Buffer[];
  deleted: boolean;
}

/** One listpack's worth of entries (Redis' rax node): trimming with `~` removes only whole nodes. */
export class StreamNode {
  readonly entries: StreamEntry[] = [];
  /** Live (not deleted) entries. */
  live = 0;
  /** Approximate listpack bytes, for stream-node-max-bytes. */
  bytes = 0;
  /** The master entry's fields (the first entry's), for the RDB listpack's SAMEFIELDS flag. */
  constructor(readonly master: StreamId, readonly masterFields: Buffer[]) {}

  get lastId(): StreamId {
    return this.entries[this.entries.length - 1]!.id;
  }
}

export interface Nack {
  consumer: Consumer;
  deliveryTime: number;
  deliveryCount: number;
}

export class Consumer {
  /** Pending entries delivered to this consumer, by ID. */
  readonly pel = new Map<StreamId, Nack>();
  constructor(readonly name: Buffer, public seenTime: number) {}
}

/** entries_read is unknown (Redis' SCG_INVALID_ENTRIES_READ). */
export const ENTRIES_READ_INVALID = -1;

export class ConsumerGroup {
  /** Pending entries of the whole group, by ID. */
  readonly pel = new Map<StreamId, Nack>();
  /** By name (latin1); listed in name order like Redis' rax. */
  readonly consumers = new Map<string, Consumer>();
  constructor(readonly name: Buffer, public lastId: StreamId, public entriesRead: number) {}

  /** PEL IDs in ascending order. */
  sortedPel(pel: Map<StreamId, Nack> = this.pel): StreamId[] {
    return [...pel.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  sortedConsumers(): Consumer[] {
    return [...this.consumers.entries()].sort(([a], [b]) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'))).map(([, c]) => c);
  }

  lookupConsumer(name: Buffer, now: number, refresh: boolean): Consumer | undefined {
    const c = this.consumers.get(name.toString('latin1'));
    if (c !== undefined && refresh) c.seenTime = now;
    return c;
  }

  /** Creates a consumer; undefined when it exists. */
  createConsumer(name: Buffer, now: number): Consumer | undefined {
    const k = name.toString('latin1');
    if (this.consumers.has(k)) return undefined;
    const c = new Consumer(Buffer.from(name), now);
    this.consumers.set(k, c);
    return c;
  }

  /** Removes a consumer and its pending entries; returns how many were pending. */
  deleteConsumer(c: Consumer): number {
    const n = c.pel.size;
    for (const id of c.pel.keys()) this.pel.delete(id);
    this.consumers.delete(c.name.toString('latin1'));
    return n;
  }
}

export interface TrimArgs {
  strategy: 'maxlen' | 'minid';
  maxlen: number;
  minid: StreamId;
  approx: boolean;
  /** Most entries removed (0 = no limit). */
  limit: number;
}

/** Node size limits (CONFIG stream-node-max-entries / stream-node-max-bytes). */
export interface StreamNodeLimits {
  maxEntries: number;
  maxBytes: number;
}

const LISTPACK_MAX = 1 << 30;

export class Stream {
  nodes: StreamNode[] = [];
  length = 0;
  lastId: StreamId = 0n;
  firstId: StreamId = 0n;
  maxDeletedId: StreamId = 0n;
  entriesAdded = 0;
  /** By name (latin1). */
  readonly groups = new Map<string, ConsumerGroup>();

  /** The next automatic ID after lastId at time `now` (streamNextID); null when exhausted. */
  nextId(now: number): StreamId | null {
    const ms = BigInt(now);
    if (ms > idMs(this.lastId)) return makeId(ms, 0n);
    if (this.lastId === ID_MAX) return null;
    return this.lastId + 1n;
  }

  /** Appends an entry whose ID is known to be greater than lastId. */
  append(id: StreamId, fields: Buffer[], limits: StreamNodeLimits): void {
    let size = 0;
    for (const f of fields) size += f.length;
    let node = this.nodes[this.nodes.length - 1];
    if (node !== undefined) {
      let maxBytes = limits.maxBytes;
      if (maxBytes === 0 || maxBytes > LISTPACK_MAX) maxBytes = LISTPACK_MAX;
      if (node.bytes + size >= maxBytes) node = undefined;
      else if (limits.maxEntries > 0 && node.entries.length >= limits.maxEntries) node = undefined;
    }
    if (node === undefined) {
      node = new StreamNode(id, fields.filter((_, i) => i % 2 === 0));
      // Listpack header and master entry: count, deleted, field count, fields, terminator.
      node.bytes = 7 + 4 + node.masterFields.reduce((n, f) => n + f.length + 2, 0);
      this.nodes.push(node);
    }
    node.entries.push({ id, fields, deleted: false });
    node.live++;
    // flags, ms/seq deltas, field count, fields/values with their length bytes, lp-count.
    node.bytes += size + fields.length * 2 + 8;
    this.length++;
    this.entriesAdded++;
    this.lastId = id;
    if (this.length === 1) this.firstId = id;
  }

  /** Index of the node that may hold `id` (the last whose master ID <= id), or -1. */
  private nodeIndex(id: StreamId): number {
    let lo = 0;
    let hi = this.nodes.length - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.nodes[mid]!.master <= id) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }

  private find(id: StreamId): { node: StreamNode; index: number; entry: StreamEntry } | undefined {
    const ni = this.nodeIndex(id);
    if (ni < 0) return undefined;
    const node = this.nodes[ni]!;
    const es = node.entries;
    let lo = 0;
    let hi = es.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = es[mid]!;
      if (e.id === id) return { node, index: ni, entry: e };
      if (e.id < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /** A live entry by ID. */
  get(id: StreamId): StreamEntry | undefined {
    const f = this.find(id);
    return f === undefined || f.entry.deleted ? undefined : f.entry;
  }

  /** Live entries with start <= id <= end, ascending (or descending with `rev`). */
  *range(start: StreamId, end: StreamId, rev = false): Generator<StreamEntry> {
    if (start > end || this.length === 0) return;
    if (!rev) {
      let ni = Math.max(0, this.nodeIndex(start));
      for (; ni < this.nodes.length; ni++) {
        const node = this.nodes[ni]!;
        if (node.master > end) return;
        for (const e of node.entries) {
          if (e.id < start || e.deleted) continue;
          if (e.id > end) return;
          yield e;
        }
      }
    } else {
      for (let ni = this.nodeIndex(end); ni >= 0; ni--) {
        const es = this.nodes[ni]!.entries;
        for (let i = es.length - 1; i >= 0; i--) {
          const e = es[i]!;
          if (e.id > end || e.deleted) continue;
          if (e.id < start) return;
          yield e;
        }
      }
    }
  }

  /** ID of the first or last live entry (streamGetEdgeID), 0 when empty. */
  edgeId(first: boolean): StreamId {
    for (const e of this.range(ID_MIN, ID_MAX, !first)) return e.id;
    return first ? 0n : 0n;
  }

  /** The last live entry's ID, or 0-0 (streamLastValidID). */
  lastValidId(): StreamId {
    return this.edgeId(false);
  }

  /** Deletes one entry (XDEL, XAUTOCLAIM cleanup does not); true when it was live. */
  delete(id: StreamId): boolean {
    const f = this.find(id);
    if (f === undefined || f.entry.deleted) return false;
    f.entry.deleted = true;
    f.node.live--;
    this.length--;
    if (f.node.live === 0) this.nodes.splice(f.index, 1);
    return true;
  }

  /** streamTrim: returns the number of entries removed. */
  trim(args: TrimArgs): number {
    let deleted = 0;
    while (this.nodes.length > 0) {
      if (args.strategy === 'maxlen' && this.length <= args.maxlen) break;
      const node = this.nodes[0]!;
      const entries = node.live;
      if (args.limit && deleted + entries > args.limit) break;
      const removeNode = args.strategy === 'maxlen' ? this.length - entries >= args.maxlen : node.lastId < args.minid;
      if (removeNode) {
        this.nodes.shift();
        this.length -= entries;
        deleted += entries;
        continue;
      }
      if (args.approx) break;
      for (const e of node.entries) {
        if (args.strategy === 'maxlen' ? this.length <= args.maxlen : e.id >= args.minid) break;
        if (!e.deleted) {
          e.deleted = true;
          node.live--;
          this.length--;
          deleted++;
        }
      }
      if (node.live === 0) this.nodes.shift();
      break;
    }
    if (this.length === 0) this.firstId = 0n;
    else if (deleted) this.firstId = this.edgeId(true);
    return deleted;
  }

  /** Whether an XDEL'd entry may lie in [start, end] (streamRangeHasTombstones). */
  private rangeHasTombstones(start: StreamId, end: StreamId): boolean {
    if (this.length === 0 || this.maxDeletedId === 0n) return false;
    if (this.firstId > this.maxDeletedId) return false;
    return start <= this.maxDeletedId && this.maxDeletedId <= end;
  }

  /** streamEstimateDistanceFromFirstEverEntry; ENTRIES_READ_INVALID when unknown. */
  estimateDistance(id: StreamId): number {
    if (this.entriesAdded === 0) return 0;
    if (this.length === 0 && id <= this.lastId) return this.entriesAdded;
    if (id === this.lastId) return this.entriesAdded;
    if (id > this.lastId) return ENTRIES_READ_INVALID;
    if (this.maxDeletedId === 0n || this.maxDeletedId < this.firstId) {
      if (id < this.firstId) return this.entriesAdded - this.length;
      if (id === this.firstId) return this.entriesAdded - this.length + 1;
    }
    return ENTRIES_READ_INVALID;
  }

  /** A group's lag (streamReplyWithCGLag); null when it cannot be known. */
  lag(g: ConsumerGroup): number | null {
    if (this.entriesAdded === 0) return 0;
    if (g.entriesRead !== ENTRIES_READ_INVALID && !this.rangeHasTombstones(g.lastId, ID_MAX)) return this.entriesAdded - g.entriesRead;
    const read = this.estimateDistance(g.lastId);
    return read === ENTRIES_READ_INVALID ? null : this.entriesAdded - read;
  }

  /** Moves a group past an entry it delivers (the entries_read bookkeeping of streamReplyWithRange). */
  advanceGroup(g: ConsumerGroup, id: StreamId): boolean {
    if (id <= g.lastId) return false;
    if (g.entriesRead !== ENTRIES_READ_INVALID && !this.rangeHasTombstones(id, ID_MAX)) g.entriesRead++;
    else if (this.entriesAdded) g.entriesRead = this.estimateDistance(id);
    g.lastId = id;
    return true;
  }

  /** Groups in name order. */
  sortedGroups(): ConsumerGroup[] {
    return [...this.groups.entries()].sort(([a], [b]) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'))).map(([, g]) => g);
  }

  /** A deep copy (COPY, snapshots): entries are shared (never changed but for `deleted`, which is copied). */
  clone(): Stream {
    const s = new Stream();
    for (const n of this.nodes) {
      const c = new StreamNode(n.master, n.masterFields);
      for (const e of n.entries) c.entries.push({ id: e.id, fields: e.fields, deleted: e.deleted });
      c.live = n.live;
      c.bytes = n.bytes;
      s.nodes.push(c);
    }
    s.length = this.length;
    s.lastId = this.lastId;
    s.firstId = this.firstId;
    s.maxDeletedId = this.maxDeletedId;
    s.entriesAdded = this.entriesAdded;
    for (const [k, g] of this.groups) {
      const cg = new ConsumerGroup(g.name, g.lastId, g.entriesRead);
      for (const [ck, c] of g.consumers) {
        const cc = new Consumer(c.name, c.seenTime);
        cg.consumers.set(ck, cc);
        for (const [id, n] of c.pel) {
          const nn: Nack = { consumer: cc, deliveryTime: n.deliveryTime, deliveryCount: n.deliveryCount };
          cc.pel.set(id, nn);
          cg.pel.set(id, nn);
        }
      }
      s.groups.set(k, cg);
    }
    return s;
  }
}

/** Builds a stream from its RDB form (RDB loading, replication). */
export function streamFromData(d: RdbStream, limits: StreamNodeLimits): Stream {
  const s = new Stream();
  for (const e of d.entries) s.append(e.id, e.fields, limits);
  s.lastId = d.lastId;
  s.firstId = d.firstId !== 0n || s.length === 0 ? d.firstId : s.edgeId(true);
  s.maxDeletedId = d.maxDeletedId;
  s.entriesAdded = d.entriesAdded;
  for (const g of d.groups) {
    // Redis < 7 did not record entries-read: Redis 7 estimates it at load (rdbLoadObject).
    const cg = new ConsumerGroup(g.name, g.lastId, d.legacy ? s.estimateDistance(g.lastId) : g.entriesRead);
    const times = new Map(g.pel.map((p) => [p.id, p]));
    for (const c of g.consumers) {
      const cc = cg.createConsumer(c.name, c.seenTime)!;
      for (const id of c.pending) {
        const p = times.get(id);
        const nack: Nack = { consumer: cc, deliveryTime: p?.deliveryTime ?? 0, deliveryCount: p?.deliveryCount ?? 1 };
        cc.pel.set(id, nack);
        cg.pel.set(id, nack);
      }
    }
    s.groups.set(g.name.toString('latin1'), cg);
  }
  return s;
}
