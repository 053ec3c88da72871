import { Buffer } from 'node:buffer';
import { TypedEventEmitter } from '@beamgate/base';
import { debuglog } from 'node:util';
import type { ClientState, CommandResult, FlushEvent, KeyspaceEvent, PropagateEvent } from './api.js';
import { ErrorReply, NULL_ARRAY, type Reply } from '../wire/reply.js';
import { BlockingRegistry, type Waiter } from './blocking.js';
import { Db, Entry, T_LIST, TYPE_NAMES, type TypeName, type Value } from './store.js';
import { Deque } from './deque.js';
import { E_WRONGTYPE } from './replies.js';
import type { StreamNodeLimits } from './stream.js';
import { DEFAULT_LCS_MAX_TABLE_BYTES, type ContextOptions, type KeyObserver, type KeyspaceInfo, type SnapshotEntry } from './options.js';

const debug = debuglog('beamgate:context');

/** A data command implementation: synchronous unless it blocks. */
export type Impl = (ctx: Keyspace, client: ClientState, argv: Buffer[]) => CommandResult;

const DEL = Buffer.from('DEL');
const MULTI = Buffer.from('MULTI');
const EXEC = Buffer.from('EXEC');
const NULL_ARRAY_REPLY: Reply = NULL_ARRAY;
const E_UNBLOCKED = new ErrorReply('UNBLOCKED client unblocked via CLIENT UNBLOCK');

/**
 * The data of the embedded context and its bookkeeping, which the command implementations (`cmd-*.ts`) work on:
 * databases, lookups with lazy expiry, keyspace and propagation events, blocking, active expiry, copy-on-write
 * observers. `Context` (context.ts) adds the command table and runs commands; the commands see only this class,
 * so they do not import the file that imports them.
 */
/** Events of a Context (see the class comment). */
export interface ContextEvents {
  keyspace: [event: KeyspaceEvent];
  flush: [event: FlushEvent];
  propagate: [event: PropagateEvent];
}

export abstract class Keyspace extends TypedEventEmitter<ContextEvents> {
  readonly dbs: Db[];
  /** Changes since start (Redis' `server.dirty`). */
  dirty = 0;
  readonly stats = { expiredKeys: 0, keyspaceHits: 0, keyspaceMisses: 0 };
  readonly random: () => number;
  /** Snapshot of the clock for the running command (Redis' commandTimeSnapshot). */
  t = 0;
  /** The running command comes from a replication master (ClientState.master): no key expires for it. */
  fromMaster = false;
  /** ContextOptions.replica: expired keys are hidden, never deleted locally (REPLICAOF switches it). */
  replica: boolean;
  readonly blocking = new BlockingRegistry();

  protected readonly nowFn: () => number;
  protected evq: KeyspaceEvent[] = [];
  protected pq: PropagateEvent[] = [];
  /** Propagation held back while a transaction runs (see beginPropagationBatch); null otherwise. */
  private batch: PropagateEvent[] | null = null;
  protected override: Buffer[][] | undefined = undefined;
  protected curDb = 0;
  private wantKeyspace = false;
  /** The 'keyspace' listeners (rawListeners copy), rebuilt lazily after any listener change. */
  private keyspaceListeners: Array<(e: KeyspaceEvent) => void> | null = null;
  protected wantPropagate = false;
  private expireTimer: NodeJS.Timeout | null = null;
  private readonly expireBudget: number;
  private serveScheduled = false;
  private nextSeq = 1;
  private internalIds = 0;
  readonly scanCursors = new Map<string, Iterator<unknown>>();
  readonly scanCursorLimit: number;
  /**
   * Emit 'new' keyspace events (class `n`) when a key is created. Off by default, so listeners that do not ask for
   * them never see them; the keyspace notifier turns it on while notify-keyspace-events has `n`.
   */
  newKeyEvents = false;
  /** Stream node sizes (CONFIG stream-node-max-entries/-bytes; a server keeps them current). */
  readonly streamLimits: StreamNodeLimits = { maxEntries: 100, maxBytes: 4096 };
  /** See ContextOptions.maxLcsTableBytes; a server updates it on CONFIG SET proto-max-bulk-len. */
  maxLcsTableBytes: number;
  /** Largest sparse HyperLogLog before it turns dense (CONFIG hll-sparse-max-bytes; a server keeps it in sync). */
  hllSparseMaxBytes = 3000;
  protected closed = false;
  /** Snapshots being written (see observeKeys); replaced, never mutated, so a fan-out may unhook safely. */
  private keyObservers: KeyObserver[] = [];
  /** keyObservers.length > 0: the only cost on the write path while no snapshot runs. */
  protected cow = false;
  private readonly hiddenPrefixes: string[];
  /** First char codes of hiddenPrefixes: most keys are told apart by one comparison. */
  private readonly hiddenFirst: Set<number>;

  constructor(opts: ContextOptions = {}) {
    super();
    const n = opts.databases ?? 16;
    this.dbs = [];
    for (let i = 0; i < n; i++) this.dbs.push(new Db(i));
    this.nowFn = opts.now ?? Date.now;
    this.replica = opts.replica === true;
    this.random = opts.random ?? Math.random;
    this.expireBudget = opts.activeExpireBudget ?? 2000;
    this.scanCursorLimit = opts.scanCursorCache ?? 256;
    this.maxLcsTableBytes = opts.maxLcsTableBytes ?? DEFAULT_LCS_MAX_TABLE_BYTES;
    this.hiddenPrefixes = (opts.hiddenPrefixes ?? ['/beam']).filter((p) => p.length > 0);
    this.hiddenFirst = new Set(this.hiddenPrefixes.map((p) => p.charCodeAt(0)));
    this.t = this.nowFn();
    this.on('newListener', (name: string | symbol) => {
      if (name === 'keyspace') this.wantKeyspace = true;
      if (name === 'propagate') this.wantPropagate = true;
      this.keyspaceListeners = null;
    });
    this.on('removeListener', () => {
      this.keyspaceListeners = null;
      this.wantKeyspace = this.listenerCount('keyspace') > 0;
      this.wantPropagate = this.listenerCount('propagate') > 0;
    });
    const interval = opts.activeExpireInterval ?? 100;
    if (interval > 0) {
      this.expireTimer = setInterval(() => this.activeExpire(), interval);
      this.expireTimer.unref();
    }
  }

  /** Current time from the injected clock. */
  now(): number {
    return this.nowFn();
  }

  /**
   * A client for in-process callers (job engine, replication): db 0, RESP2, may write reserved keys. `master`
   * makes it the replication master's client of a replica (ClientState.master).
   */
  createInternalClient(opts: { master?: boolean } = {}): ClientState {
    const ac = new AbortController();
    return {
      id: -1 - this.internalIds++,
      db: 0,
      resp: 2,
      name: null,
      inExec: false,
      internal: true,
      signal: ac.signal,
      ...(opts.master === true ? { master: true } : {}),
    };
  }

  /** Replace what the running command propagates ([] = nothing). */
  propagateAs(commands: Buffer[][]): void {
    this.override = commands;
  }

  /**
   * Runs a data command directly (no arity, auth or filter checks: the dispatcher does those).
   * Unknown commands get Redis' unknown-command error.
   */
  abstract call(client: ClientState, argv: Buffer[]): CommandResult;

  /** Serves one client blocked on a list that has elements (BLPOP and friends: cmd-lists.ts). */
  protected abstract serveListWaiter(w: Waiter, db: Db, key: string, e: Entry): Reply;

  protected flushEvents(evStart: number, pStart: number): void {
    // One event per command is the common case: pop() allocates nothing, unlike splice().
    if (this.evq.length === evStart + 1) {
      this.emitKeyspace(this.evq.pop()!);
    } else if (this.evq.length > evStart) {
      const evs = this.evq.splice(evStart);
      for (const ev of evs) this.emitKeyspace(ev);
    }
    if (this.pq.length === pStart + 1 && this.batch === null) {
      this.emit('propagate', this.pq.pop()!);
    } else if (this.pq.length > pStart) {
      const ps = this.pq.splice(pStart);
      if (this.batch !== null) this.batch.push(...ps);
      else for (const p of ps) this.emit('propagate', p);
    }
  }

  /**
   * EXEC: until endPropagationBatch(), what commands propagate is held back; then it goes out wrapped in
   * MULTI/EXEC when there is more than one command (Redis 7.0), as is when there is one.
   */
  beginPropagationBatch(): void {
    if (this.batch === null && this.wantPropagate) this.batch = [];
  }

  /** True between beginPropagationBatch() and endPropagationBatch() (a transaction or script is running). */
  get propagationBatching(): boolean {
    return this.batch !== null;
  }

  endPropagationBatch(): void {
    const b = this.batch;
    this.batch = null;
    if (b === null || b.length === 0) return;
    if (b.length === 1) {
      this.emit('propagate', b[0]!);
      return;
    }
    this.emit('propagate', { db: b[0]!.db, argv: [MULTI] } satisfies PropagateEvent);
    for (const p of b) this.emit('propagate', p);
    this.emit('propagate', { db: b[b.length - 1]!.db, argv: [EXEC] } satisfies PropagateEvent);
  }

  /** Propagates a command that runs outside the Context (PUBLISH) now, or into the running transaction's batch. */
  propagateNow(db: number, argv: Buffer[]): void {
    if (!this.wantPropagate) return;
    const ev: PropagateEvent = { db, argv };
    if (this.batch !== null) this.batch.push(ev);
    else this.emit('propagate', ev);
  }

  /** emit('keyspace', ev) without emit()'s rest-argument array: this runs once per write command. */
  private emitKeyspace(ev: KeyspaceEvent): void {
    let ls = this.keyspaceListeners;
    if (ls === null) ls = this.keyspaceListeners = this.rawListeners('keyspace') as Array<(e: KeyspaceEvent) => void>;
    for (let i = 0; i < ls.length; i++) ls[i]!.call(this, ev);
  }

  // ---- helpers for command implementations ---------------------------------------------------

  /** Records a keyspace event (cheap no-op without listeners). */
  notify(db: number, event: string, key: Buffer, cls: KeyspaceEvent['cls']): void {
    if (this.wantKeyspace) this.evq.push({ db, event, key, cls });
  }

  /** Queues a command for replicas, in order with the running command's own propagation. */
  propagateRaw(db: number, argv: Buffer[]): void {
    if (this.wantPropagate) this.pq.push({ db, argv });
  }

  /** Looks a key up, expiring it lazily (not for the replication master's commands: see ClientState.master). */
  lookup(db: Db, key: string): Entry | undefined {
    const e = db.data.get(key);
    if (e === undefined) return e;
    if (e.x !== 0 && e.x <= this.t && !this.fromMaster) {
      if (!this.replica) this.expireEntry(db, key, e);
      return undefined;
    }
    e.a = this.t;
    return e;
  }

  /** lookup() without stamping the access time (Redis' LOOKUP_NOTOUCH: TTL, TYPE, EXISTS). */
  peek(db: Db, key: string): Entry | undefined {
    const e = db.data.get(key);
    if (e === undefined) return e;
    if (e.x !== 0 && e.x <= this.t && !this.fromMaster) {
      if (!this.replica) this.expireEntry(db, key, e);
      return undefined;
    }
    return e;
  }

  /** Looks a key up and checks its type; returns WRONGTYPE as a reply. */
  lookupTyped(db: Db, key: string, type: number): Entry | undefined | ErrorReply {
    const e = this.lookup(db, key);
    if (e !== undefined && e.t !== type) return E_WRONGTYPE;
    return e;
  }

  expireEntry(db: Db, key: string, e: Entry): void {
    this.removeEntry(db, key, e);
    this.stats.expiredKeys++;
    const kb = Buffer.from(key, 'latin1');
    this.notify(db.id, 'expired', kb, 'x');
    this.propagateRaw(db.id, [DEL, kb]);
  }

  /** Creates a key known not to exist (or to be replaced wholesale, dropping any TTL). */
  addKey(db: Db, key: string, t: number, v: Value): Entry {
    const old = db.data.get(key);
    if (old !== undefined) {
      old.t = t;
      old.v = v;
      if (old.x !== 0) {
        old.x = 0;
        db.expires--;
      }
      if (this.blocking.count > 0) this.blocking.signal(db.id, key);
      return old;
    }
    const e = new Entry(t, v, 0, this.nextSeq++);
    e.a = this.t;
    db.data.set(key, e);
    if (this.isHidden(key)) db.hidden++;
    else if (this.newKeyEvents && this.wantKeyspace) this.evq.push({ db: db.id, event: 'new', key: Buffer.from(key, 'latin1'), cls: 'n' });
    if (this.blocking.count > 0) this.blocking.signal(db.id, key);
    return e;
  }

  /** Deletes a key's slot (no events). */
  removeEntry(db: Db, key: string, e: Entry): void {
    if (this.cow) this.beforeKeyChange(db, key, e, true);
    db.data.delete(key);
    if (e.x !== 0) db.expires--;
    // A deleted stream ends its XREADGROUP waiters.
    if (this.blocking.count > 0) this.blocking.signal(db.id, key);
    if (db.hidden > 0 && this.isHidden(key)) db.hidden--;
  }

  /** A key under one of the hidden prefixes (Beam's own keys: see ContextOptions.hiddenPrefixes). */
  isHidden(key: string): boolean {
    if (key.length === 0 || !this.hiddenFirst.has(key.charCodeAt(0))) return false;
    for (const p of this.hiddenPrefixes) if (key.startsWith(p)) return true;
    return false;
  }

  /** Deletes a key if present and live; returns true when it existed. */
  deleteKey(db: Db, key: string): boolean {
    const e = this.lookup(db, key);
    if (e === undefined) return false;
    this.removeEntry(db, key, e);
    return true;
  }

  setExpire(db: Db, key: string, e: Entry, at: number): void {
    if (e.x === 0) db.expires++;
    e.x = at;
    db.heap.push(at, key, e);
    if (db.heap.size > 2 * db.expires + 1024) db.rebuildHeap();
  }

  clearExpire(db: Db, e: Entry): void {
    if (e.x !== 0) {
      e.x = 0;
      db.expires--;
    }
  }

  /** Marks a key (list, sorted set or stream) as possibly ready for blocked clients. */
  signalList(db: Db, key: string): void {
    if (this.blocking.count > 0) this.blocking.signal(db.id, key);
  }

  newSeq(): number {
    return this.nextSeq++;
  }

  /** Emits a 'flush' event (db -1 = all). */
  emitFlush(db: number, existed?: (db: number, key: string) => boolean): void {
    const ev: FlushEvent = existed ? { db, existed } : { db };
    this.emit('flush', ev);
  }

  // ---- blocking ------------------------------------------------------------------------------

  /** Registers a waiter; the returned promise settles when it is served, times out or is aborted. */
  block(w: Omit<Waiter, 'id' | 'resolve' | 'timer' | 'onAbort' | 'done'>, timeoutAt: number): Promise<Reply> {
    return new Promise<Reply>((resolve) => {
      const waiter: Waiter = { ...w, id: this.blocking.newId(), resolve, timer: null, onAbort: null, done: false };
      if (w.client.signal.aborted) {
        resolve(null);
        return;
      }
      this.blocking.add(waiter);
      if (timeoutAt > 0) {
        const ms = Math.max(0, timeoutAt - this.nowFn());
        waiter.timer = setTimeout(() => {
          this.blocking.remove(waiter);
          resolve(NULL_ARRAY_REPLY);
        }, ms);
      }
      waiter.onAbort = () => {
        this.blocking.remove(waiter);
        resolve(NULL_ARRAY_REPLY);
      };
      w.client.signal.addEventListener('abort', waiter.onAbort, { once: true });
      // CLIENT UNBLOCK: as if timed out, or with Redis' UNBLOCKED error.
      w.client.unblock = (error) => {
        this.blocking.remove(waiter);
        resolve(error ? E_UNBLOCKED : NULL_ARRAY_REPLY);
      };
    });
  }

  /** block() for a waiter served by its own `serve` function (streams, sorted sets) on the given keys. */
  blockServed(client: ClientState, keyBufs: Buffer[], serve: NonNullable<Waiter['serve']>, timeoutAt: number): Promise<Reply> {
    const keys = keyBufs.map((b) => b.toString('latin1'));
    return this.block({ client, db: client.db, keys, keyBufs, kind: 0, left: false, dest: null, destLeft: false, count: 0, legacyMove: false, serve }, timeoutAt);
  }

  protected scheduleServe(): void {
    if (this.serveScheduled) return;
    this.serveScheduled = true;
    queueMicrotask(() => {
      this.serveScheduled = false;
      this.serveReady();
    });
  }

  /** Serves clients blocked on keys that received data (Redis' handleClientsBlockedOnKeys). */
  serveReady(): void {
    const reg = this.blocking;
    while (reg.ready.size > 0) {
      const slots = [...reg.ready];
      reg.ready.clear();
      for (const slot of slots) {
        const sep = slot.indexOf(':');
        const dbi = Number(slot.slice(0, sep));
        const key = slot.slice(sep + 1);
        const db = this.dbs[dbi];
        if (db === undefined) continue;
        for (const w of reg.waiters(slot)) {
          if (w.done) continue;
          this.t = this.nowFn();
          const e = this.lookup(db, key);
          if (w.serve !== undefined) {
            const evStart = this.evq.length;
            const pStart = this.pq.length;
            if (this.cow && e !== undefined) this.beforeKeyChange(db, key, e, false);
            const reply = w.serve(db, key, e);
            if (reply === undefined) continue;
            reg.remove(w);
            this.flushEvents(evStart, pStart);
            w.resolve(reply);
            continue;
          }
          if (e === undefined || e.t !== T_LIST || (e.v as Deque).length === 0) continue;
          const evStart = this.evq.length;
          const pStart = this.pq.length;
          if (this.cow) this.beforeServe(db, key, e, w.dest);
          const reply = this.serveListWaiter(w, db, key, e);
          reg.remove(w);
          this.flushEvents(evStart, pStart);
          w.resolve(reply);
        }
      }
    }
  }

  // ---- expiry --------------------------------------------------------------------------------

  /** One active expiry pass: deletes keys whose deadline passed (bounded per database). */
  activeExpire(): void {
    if (this.closed || this.replica) return;
    this.t = this.nowFn();
    const evStart = this.evq.length;
    const pStart = this.pq.length;
    for (const db of this.dbs) {
      let budget = this.expireBudget;
      for (;;) {
        const top = db.heap.peek();
        if (top === undefined || top.at > this.t || budget-- <= 0) break;
        db.heap.pop();
        const e = top.entry;
        if (e.x !== top.at || db.data.get(top.key) !== e) continue;
        this.expireEntry(db, top.key, e);
      }
    }
    this.flushEvents(evStart, pStart);
  }

  /** Stops the active expiry timer and releases blocked clients with a null reply. */
  close(): void {
    if (this.expireTimer !== null) clearInterval(this.expireTimer);
    this.expireTimer = null;
    for (const w of this.blocking.all()) {
      this.blocking.remove(w);
      w.resolve(NULL_ARRAY_REPLY);
    }
    this.closed = true;
    debug('context closed');
  }

  // ---- snapshot access -----------------------------------------------------------------------

  /**
   * Registers a copy-on-write observer (lazy consistent snapshots). It is called synchronously, before anything may
   * change or remove an existing key: a write command reports every existing key its arguments name in the client's
   * database (a superset of what it changes: value replaced or changed in place, expiry set or cleared, renamed,
   * moved, deleted); a served blocked pop reports its source and destination lists; `removeEntry` reports every
   * removal (lazy and active expiry, COPY ... REPLACE into another database) with `removing` true, when the value
   * leaves the keyspace. FLUSHDB/FLUSHALL/SWAPDB are not reported: they replace or exchange whole `db.data` maps and
   * never change the old map, so an observer that holds a map keeps it as it was. New keys are not reported either:
   * they get a creation `seq` above every existing one and go to the end of their map. Returns the remover.
   */
  observeKeys(observer: KeyObserver): () => void {
    this.keyObservers = [...this.keyObservers, observer];
    this.cow = true;
    return () => {
      this.keyObservers = this.keyObservers.filter((o) => o !== observer);
      this.cow = this.keyObservers.length > 0;
    };
  }

  /**
   * Container-level form of observeKeys (kept for existing callers): `listener` gets the value container of every
   * key observeKeys reports, before it may change in place.
   */
  onBeforeMutate(listener: (container: object) => void): () => void {
    return this.observeKeys({ beforeKeyChange: (_data, _key, e) => listener(e.v) });
  }

  protected beforeKeyChange(db: Db, key: string, e: Entry, removing: boolean): void {
    const obs = this.keyObservers;
    for (let i = 0; i < obs.length; i++) obs[i]!.beforeKeyChange(db.data, key, e, removing);
  }

  protected beforeWriteArgs(dbIndex: number, argv: Buffer[]): void {
    const db = this.dbs[dbIndex];
    if (db === undefined) return;
    for (let i = 1; i < argv.length; i++) {
      const key = argv[i]!.toString('latin1');
      const e = db.data.get(key);
      if (e !== undefined) this.beforeKeyChange(db, key, e, false);
    }
  }

  private beforeServe(db: Db, key: string, src: Entry, dest: Buffer | null): void {
    this.beforeKeyChange(db, key, src, false);
    if (dest === null) return;
    const dk = dest.toString('latin1');
    const de = db.data.get(dk);
    if (de !== undefined) this.beforeKeyChange(db, dk, de, false);
  }

  /** Live (non-expired) keys of a database, without copying values. */
  *entries(dbIndex: number): Generator<SnapshotEntry> {
    const db = this.dbs[dbIndex];
    if (db === undefined) return;
    const now = this.nowFn();
    for (const [k, e] of db.data) {
      if (e.x !== 0 && e.x <= now) continue;
      yield {
        key: Buffer.from(k, 'latin1'),
        type: TYPE_NAMES[e.t]!,
        value: e.v,
        expireAt: e.x === 0 ? null : e.x,
      };
    }
  }

  /** Keys of a database, Beam's hidden ones excluded (DBSIZE). */
  dbsize(dbIndex: number): number {
    const db = this.dbs[dbIndex];
    return db === undefined ? 0 : db.data.size - db.hidden;
  }

  expiresCount(dbIndex: number): number {
    return this.dbs[dbIndex]?.expires ?? 0;
  }

  /** Non-empty databases as INFO keyspace reports them. */
  keyspaceInfo(): KeyspaceInfo[] {
    const out: KeyspaceInfo[] = [];
    const now = this.nowFn();
    for (const db of this.dbs) {
      if (db.data.size - db.hidden === 0) continue;
      let sum = 0;
      let n = 0;
      if (db.expires > 0 && db.expires <= 10000) {
        for (const e of db.data.values()) {
          if (e.x !== 0 && e.x > now) {
            sum += e.x - now;
            n++;
          }
        }
      }
      out.push({ db: db.id, keys: db.data.size - db.hidden, expires: db.expires, avgTtl: n === 0 ? 0 : Math.round(sum / n) });
    }
    return out;
  }

  /** The `# Keyspace` section body of INFO (`db0:keys=1,expires=0,avg_ttl=0` lines, CRLF separated). */
  keyspaceInfoText(): string {
    let s = '';
    for (const i of this.keyspaceInfo()) s += `db${i.db}:keys=${i.keys},expires=${i.expires},avg_ttl=${i.avgTtl}\r\n`;
    return s;
  }
}
