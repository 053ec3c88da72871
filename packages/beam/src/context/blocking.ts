import type { ClientState } from './api.js';
import type { Reply } from '../wire/reply.js';
import type { Db, Entry } from './store.js';

/** What a blocked client does once one of its keys holds a list. */
export const WAIT_POP = 0;
export const WAIT_MOVE = 1;
export const WAIT_MPOP = 2;

/** A client blocked in BLPOP/BRPOP/BLMOVE/BRPOPLPUSH/BLMPOP. */
export interface Waiter {
  readonly id: number;
  readonly client: ClientState;
  readonly db: number;
  /** latin1 keys, in argument order. */
  readonly keys: string[];
  readonly keyBufs: Buffer[];
  readonly kind: number;
  /** Pop side: true = left/head. */
  readonly left: boolean;
  /** BLMOVE destination and push side. */
  readonly dest: Buffer | null;
  readonly destLeft: boolean;
  /** BLMPOP count; 0 for the others. */
  readonly count: number;
  /** BRPOPLPUSH propagates as RPOPLPUSH rather than LMOVE. */
  readonly legacyMove: boolean;
  /**
   * Serves the waiter from a ready key (streams, sorted sets): `e` is the key's live entry, if any. Returns the
   * reply, or undefined to keep waiting. Without it the waiter is a list pop/move (serveWaiter).
   */
  readonly serve?: (db: Db, key: string, e: Entry | undefined) => Reply | undefined;
  resolve: (r: Reply) => void;
  timer: NodeJS.Timeout | null;
  onAbort: (() => void) | null;
  done: boolean;
}

/** FIFO queues of waiters per (db, key), plus the set of keys that became ready during a command. */
export class BlockingRegistry {
  private queues = new Map<string, Waiter[]>();
  private nextId = 1;
  count = 0;
  /** Ready (db, key) ids in the order they were signalled. */
  ready = new Set<string>();

  static slot(db: number, key: string): string {
    return db + ':' + key;
  }

  newId(): number {
    return this.nextId++;
  }

  add(w: Waiter): void {
    for (const k of w.keys) {
      const slot = BlockingRegistry.slot(w.db, k);
      let q = this.queues.get(slot);
      if (q === undefined) {
        q = [];
        this.queues.set(slot, q);
      }
      if (!q.includes(w)) q.push(w);
    }
    this.count++;
  }

  /** Removes a waiter from every queue (it was served, timed out or aborted). */
  remove(w: Waiter): void {
    if (w.done) return;
    w.done = true;
    this.count--;
    if (w.timer !== null) clearTimeout(w.timer);
    w.timer = null;
    if (w.onAbort !== null) w.client.signal.removeEventListener('abort', w.onAbort);
    w.onAbort = null;
    w.client.unblock = null;
    for (const k of w.keys) {
      const slot = BlockingRegistry.slot(w.db, k);
      const q = this.queues.get(slot);
      if (q === undefined) continue;
      const i = q.indexOf(w);
      if (i >= 0) q.splice(i, 1);
      if (q.length === 0) this.queues.delete(slot);
    }
  }

  signal(db: number, key: string): void {
    const slot = BlockingRegistry.slot(db, key);
    if (this.queues.has(slot)) this.ready.add(slot);
  }

  /** Marks every key of a database someone waits on as ready (FLUSHDB/FLUSHALL: deleted streams end XREADGROUP). */
  signalDb(db: number): void {
    const prefix = db + ':';
    for (const slot of this.queues.keys()) if (slot.startsWith(prefix)) this.ready.add(slot);
  }

  /** Waiters on a slot, oldest first (a copy: serving mutates the queues). */
  waiters(slot: string): Waiter[] {
    const q = this.queues.get(slot);
    return q === undefined ? [] : q.slice();
  }

  all(): Waiter[] {
    const out = new Set<Waiter>();
    for (const q of this.queues.values()) for (const w of q) out.add(w);
    return [...out];
  }
}
