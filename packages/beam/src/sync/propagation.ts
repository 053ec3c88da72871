import { debuglog } from 'node:util';
import type { PropagateEvent } from '../context/api.js';
import { encodeCommand } from '../wire/command-encoder.js';
import { ReplicationBacklog, type BacklogOptions } from './backlog.js';

const debug = debuglog('beamgate:sync');

const PING = encodeCommand(['PING']);
const GETACK = encodeCommand(['REPLCONF', 'GETACK', '*']);

export interface ReplicationFeedOptions extends BacklogOptions {
  /** Interval of the PING sent down the stream while replicas are attached (default 10 s, repl-ping-replica-period). */
  pingPeriodMs?: number;
}

export type StreamListener = (bytes: Buffer) => void;

/**
 * Turns the context's PropagateEvents into the replication byte stream, as Redis' replicationFeedSlaves does:
 * a `SELECT db` whenever the db differs from the previous command's, then the command as a RESP array. Bytes go
 * into the backlog and to every subscriber (one per replica link), synchronously and in order.
 *
 * The feed is idle (propagate() costs nothing) until `activate()`, which a replica link calls on its first PSYNC:
 * like Redis creating the backlog, that starts a new replication id. It then stays active.
 */
export class ReplicationFeed {
  readonly backlog: ReplicationBacklog;
  private readonly listeners = new Set<StreamListener>();
  private readonly pingPeriodMs: number;
  private pingTimer: NodeJS.Timeout | null = null;
  private selectedDb = -1;
  private activeFlag = false;

  constructor(opts: ReplicationFeedOptions = {}) {
    this.backlog = new ReplicationBacklog(opts);
    this.pingPeriodMs = opts.pingPeriodMs ?? 10_000;
  }

  get active(): boolean {
    return this.activeFlag;
  }

  get replId(): string {
    return this.backlog.replId;
  }

  /** master_repl_offset: the offset of the last byte produced. */
  get offset(): number {
    return this.backlog.offset;
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }

  activate(): void {
    if (this.activeFlag) return;
    this.activeFlag = true;
    this.backlog.reset();
    this.selectedDb = -1;
    debug('replication feed active, replid %s offset %d', this.backlog.replId, this.backlog.offset);
  }

  /** Stops producing stream bytes (the server became a replica); the next activate() starts a new history. */
  deactivate(): void {
    this.activeFlag = false;
  }

  /** Makes the next command carry a SELECT (done at every full-sync snapshot, whatever the replica's db). */
  forceSelect(): void {
    this.selectedDb = -1;
  }

  /** Call synchronously from the context's 'propagate' event, in execution order. */
  propagate(ev: PropagateEvent): void {
    if (!this.activeFlag) return;
    if (ev.db !== this.selectedDb) {
      this.emit(encodeCommand(['SELECT', String(ev.db)]));
      this.selectedDb = ev.db;
    }
    this.emit(encodeCommand(ev.argv));
  }

  /** Keep-alive PING through the stream (db independent, so no SELECT). */
  ping(): void {
    if (this.activeFlag) this.emit(PING);
  }

  /** Asks every replica for `REPLCONF ACK <offset>` (what WAIT uses). */
  requestAcks(): void {
    if (this.activeFlag) this.emit(GETACK);
  }

  /** Receives every byte appended from now on. Returns the unsubscribe function. */
  subscribe(listener: StreamListener): () => void {
    this.listeners.add(listener);
    if (this.pingTimer === null && this.pingPeriodMs > 0) {
      this.pingTimer = setInterval(() => this.ping(), this.pingPeriodMs);
      this.pingTimer.unref();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stopPing();
    };
  }

  private stopPing(): void {
    if (this.pingTimer !== null) {
      clearInterval(this.pingTimer);
      this.pingTimer = null;
    }
  }

  /** Detaches every listener and stops the ping timer. */
  close(): void {
    this.listeners.clear();
    this.stopPing();
  }

  private emit(bytes: Buffer): void {
    this.backlog.append(bytes);
    for (const l of [...this.listeners]) l(bytes);
  }
}
