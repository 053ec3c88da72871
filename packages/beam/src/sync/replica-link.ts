import { randomBytes } from 'node:crypto';
import { TypedEventEmitter } from '@beamgate/base';
import { debuglog } from 'node:util';
import { ReplicationError } from './errors.js';
import type { ReplicationFeed } from './propagation.js';
import { rdbChunks, type RdbWriteOptions } from './rdb-writer.js';
import type { Snapshot } from './snapshot-source.js';

const debug = debuglog('beamgate:sync');

/** Where the link writes: a net.Socket satisfies it. */
export interface ReplicaSink {
  write(chunk: Buffer): boolean;
  readonly writableLength: number;
  once(event: 'drain', listener: () => void): unknown;
  removeListener(event: 'drain', listener: () => void): unknown;
  destroy(error?: Error): unknown;
  /** Used instead of destroy() when the link ends normally (rdb-only transfers), so queued bytes are flushed. */
  end?(): unknown;
}

/** Redis' `client-output-buffer-limit replica 256mb 64mb 60`: these are the defaults. */
export interface OutputLimit {
  /** Disconnect as soon as this many bytes are waiting (default 256 MiB). */
  hard: number;
  /** Disconnect when at least this many bytes wait for `softSeconds` in a row (default 64 MiB)... */
  soft: number;
  /** ...(default 60). */
  softSeconds: number;
}

export const DEFAULT_REPLICA_OUTPUT_LIMIT: Readonly<OutputLimit> = Object.freeze({
  hard: 256 * 1024 * 1024,
  soft: 64 * 1024 * 1024,
  softSeconds: 60,
});

export interface ReplicaLinkOptions {
  sink: ReplicaSink;
  feed: ReplicationFeed;
  /** Captures the keyspace synchronously (see captureSnapshot); the link releases it when written or closed. */
  takeSnapshot: () => Snapshot;
  outputLimit?: Partial<OutputLimit>;
  /** Chunking/yield settings and aux fields of the RDB (replId/replOffset are set by the link). */
  rdb?: Omit<RdbWriteOptions, 'replId' | 'replOffset'>;
  /** Newline keep-alive interval while an RDB is generated before sending (default 1000 ms). */
  keepaliveMs?: number;
  /**
   * Redis' repl-timeout (default 60 s): drop the replica when an RDB write waits for drain this long, when the
   * first ACK after an EOF-framed RDB does not come, or when an online replica that sends ACKs stops sending them.
   * 0 disables.
   */
  replTimeoutMs?: number;
  now?: () => number;
}

export type ReplicaState = 'handshake' | 'transfer' | 'wait-ack' | 'online' | 'closed';

const CRLF = '\r\n';

function lower(b: Buffer | undefined): string {
  return b === undefined ? '' : b.toString('latin1').toLowerCase();
}

function parseInteger(b: Buffer | undefined): number | null {
  const s = b?.toString('latin1') ?? '';
  return /^-?\d{1,18}$/.test(s) ? Number(s) : null;
}

/** Events of a ReplicaLink. */
export interface ReplicaLinkEvents {
  online: [];
  ack: [offset: number];
  close: [error?: ReplicationError];
}

/**
 * The master side of one replica connection, independent of the server: the server hands it the commands read
 * from that connection (`handleCommand`) and a sink to write to.
 *
 * Handshake (replica -> master): PING (answered by the server), `REPLCONF listening-port|ip-address|capa|rdb-only`
 * (+OK), then `PSYNC replid offset` or the old `SYNC`.
 * - PSYNC with our replid and an offset still in the backlog: `+CONTINUE <replid>` and the missing bytes.
 * - otherwise a full resync: `+FULLRESYNC <replid> <offset>` (not for SYNC), the RDB, then the live stream.
 *   With `capa eof` the RDB is streamed while generated as `$EOF:<40 chars>\r\n<rdb><same 40 chars>` and the stream
 *   starts after the replica's first `REPLCONF ACK` (it may read past the mark otherwise); without it the RDB is
 *   generated into memory, sent as `$<len>\r\n<rdb>` (no CRLF) and the stream follows at once.
 * Stream bytes produced during the transfer wait in the link and count against the output limit.
 * Once a replica, the connection only sends `REPLCONF ACK <offset>`; anything else is ignored as Redis does.
 *
 * Events: 'online' (), 'ack' (offset: number), 'close' (error?: ReplicationError).
 */
export class ReplicaLink extends TypedEventEmitter<ReplicaLinkEvents> {
  state: ReplicaState = 'handshake';
  listeningPort: number | null = null;
  ipAddress: string | null = null;
  readonly capabilities = new Set<string>();
  rdbOnly = false;
  /** How the replica was synchronized: 'full' (RDB) or 'partial' (+CONTINUE from the backlog). */
  syncKind: 'full' | 'partial' | null = null;
  /** Last offset acknowledged by the replica, and when (ms). */
  ackOffset = -1;
  ackTime = 0;

  private readonly sink: ReplicaSink;
  private readonly feed: ReplicationFeed;
  private readonly takeSnapshot: () => Snapshot;
  private readonly limit: OutputLimit;
  private readonly rdbOpts: Omit<RdbWriteOptions, 'replId' | 'replOffset'>;
  private readonly keepaliveMs: number;
  private readonly now: () => number;
  private readonly replTimeoutMs: number;
  private watchdog: NodeJS.Timeout | null = null;
  /** Since when the link waits for something from the peer (drain or first ACK), or null. */
  private waitingSince: number | null = null;
  private unsubscribe: (() => void) | null = null;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private softSince: number | null = null;
  private readonly drainWaiters = new Set<() => void>();
  private snapshot: Snapshot | null = null;

  constructor(opts: ReplicaLinkOptions) {
    super();
    this.sink = opts.sink;
    this.feed = opts.feed;
    this.takeSnapshot = opts.takeSnapshot;
    this.limit = { ...DEFAULT_REPLICA_OUTPUT_LIMIT, ...opts.outputLimit };
    this.rdbOpts = opts.rdb ?? {};
    this.keepaliveMs = opts.keepaliveMs ?? 1000;
    this.now = opts.now ?? Date.now;
    this.replTimeoutMs = opts.replTimeoutMs ?? 60_000;
  }

  /** True once PSYNC/SYNC was accepted: every later command of the connection belongs to the link. */
  get isReplica(): boolean {
    return this.state !== 'handshake';
  }

  /**
   * Stream bytes waiting for the transfer to end, plus, once online, bytes not yet flushed by the sink. RDB bytes
   * do not count (as in Redis): the transfer itself waits for drain, so they stay bounded by one chunk.
   */
  get outputBytes(): number {
    return this.pendingBytes + (this.state === 'online' ? this.sink.writableLength : 0);
  }

  /**
   * Handles REPLCONF, PSYNC and SYNC (and, once a replica, everything). Returns false for other commands, which
   * the server handles as usual.
   */
  handleCommand(argv: Buffer[]): boolean {
    if (this.state === 'closed') return true;
    const name = lower(argv[0]);
    if (name === 'replconf') {
      this.replconf(argv);
      return true;
    }
    if (this.isReplica) return true;
    if (name === 'psync') {
      if (argv.length !== 3) this.reply(`-ERR wrong number of arguments for 'psync' command`);
      else this.psync(argv[1]!.toString('latin1'), argv[2]!);
      return true;
    }
    if (name === 'sync') {
      if (argv.length !== 1) this.reply(`-ERR wrong number of arguments for 'sync' command`);
      else this.fullSync(false);
      return true;
    }
    return false;
  }

  private reply(line: string): void {
    this.sink.write(Buffer.from(line + CRLF, 'latin1'));
  }

  private replconf(argv: Buffer[]): void {
    if (argv.length % 2 === 0) {
      if (!this.isReplica) this.reply('-ERR syntax error');
      return;
    }
    for (let i = 1; i < argv.length; i += 2) {
      const opt = lower(argv[i]);
      const val = argv[i + 1]!;
      switch (opt) {
        case 'listening-port': {
          const port = parseInteger(val);
          if (port === null || port < 0 || port > 65535) return this.reply('-ERR value is not an integer or out of range');
          this.listeningPort = port;
          break;
        }
        case 'ip-address':
          this.ipAddress = val.toString('latin1');
          break;
        case 'capa':
          this.capabilities.add(lower(val));
          break;
        case 'rdb-only': {
          const v = parseInteger(val);
          if (v !== 0 && v !== 1) return this.reply('-ERR value is not an integer or out of range');
          this.rdbOnly = v === 1;
          break;
        }
        case 'ack': {
          const off = parseInteger(val);
          if (off !== null && this.isReplica) this.onAck(off);
          return; // never answered
        }
        case 'getack':
          return; // only meaningful master -> replica
        default:
          return this.reply(`-ERR Unrecognized REPLCONF option: ${argv[i]!.toString('latin1')}`);
      }
    }
    this.reply('+OK');
  }

  private onAck(offset: number): void {
    this.ackOffset = offset;
    this.ackTime = this.now();
    if (this.state === 'wait-ack') this.goOnline();
    this.emit('ack', offset);
  }

  private psync(replId: string, offsetArg: Buffer): void {
    const offset = parseInteger(offsetArg);
    const backlog = this.feed.backlog;
    if (this.feed.active && replId === backlog.replId && offset !== null && backlog.canServe(offset)) {
      const psync2 = this.capabilities.has('psync2');
      this.reply(psync2 ? `+CONTINUE ${backlog.replId}` : '+CONTINUE');
      this.sink.write(backlog.readFrom(offset));
      this.unsubscribe = this.feed.subscribe((b) => this.onStream(b));
      debug('partial resync from offset %d', offset);
      this.syncKind = 'partial';
      this.startWatchdog();
      this.state = 'online';
      this.emit('online');
      this.checkLimit();
      return;
    }
    this.fullSync(true);
  }

  private fullSync(psync: boolean): void {
    // Everything from here to subscribe() runs in one tick: the snapshot equals the dataset at `offset`.
    this.feed.activate();
    let snapshot: Snapshot;
    try {
      snapshot = this.takeSnapshot();
    } catch (e) {
      this.reply('-ERR snapshot failed');
      this.close(new ReplicationError('REPL_SNAPSHOT_FAILED', 'could not capture the keyspace', { cause: e }));
      return;
    }
    this.snapshot = snapshot;
    const replId = this.feed.replId;
    const offset = this.feed.offset;
    this.feed.forceSelect();
    this.unsubscribe = this.feed.subscribe((b) => this.onStream(b));
    this.state = 'transfer';
    this.syncKind = 'full';
    this.startWatchdog();
    if (psync) this.reply(`+FULLRESYNC ${replId} ${offset}`);
    debug('full resync at offset %d (eof: %s)', offset, this.capabilities.has('eof'));
    const rdbOpts: RdbWriteOptions = { ...this.rdbOpts, replId, replOffset: offset };
    const transfer = this.capabilities.has('eof') ? this.sendRdbEof(snapshot, rdbOpts) : this.sendRdbSized(snapshot, rdbOpts);
    transfer.then(
      () => this.afterTransfer(),
      (e: unknown) => this.close(new ReplicationError('REPL_SNAPSHOT_FAILED', 'RDB transfer failed', { cause: e })),
    );
  }

  private async sendRdbEof(snapshot: Snapshot, opts: RdbWriteOptions): Promise<void> {
    const mark = Buffer.from(randomBytes(20).toString('hex'), 'latin1');
    this.sink.write(Buffer.concat([Buffer.from('$EOF:', 'latin1'), mark, Buffer.from(CRLF, 'latin1')]));
    for await (const chunk of rdbChunks(snapshot, opts)) {
      if (this.closed) return;
      if (!this.sink.write(chunk)) await this.drain();
    }
    this.releaseSnapshot();
    if (!this.closed) this.sink.write(mark);
  }

  private async sendRdbSized(snapshot: Snapshot, opts: RdbWriteOptions): Promise<void> {
    const parts: Buffer[] = [];
    let size = 0;
    const keepalive = setInterval(() => this.sink.write(Buffer.from('\n', 'latin1')), this.keepaliveMs);
    try {
      for await (const chunk of rdbChunks(snapshot, opts)) {
        if (this.closed) return;
        parts.push(chunk);
        size += chunk.length;
      }
    } finally {
      clearInterval(keepalive);
      this.releaseSnapshot();
    }
    if (this.closed) return;
    this.sink.write(Buffer.from(`$${size}${CRLF}`, 'latin1'));
    for (const part of parts) {
      if (this.closed) return;
      if (!this.sink.write(part)) await this.drain();
    }
  }

  private afterTransfer(): void {
    if (this.state === 'closed') return;
    if (this.rdbOnly) {
      // `redis-cli --rdb` style client: it wanted the snapshot only.
      this.close(undefined, true);
      return;
    }
    if (this.capabilities.has('eof')) {
      this.state = 'wait-ack';
      this.waitingSince = this.now();
    }
    else this.goOnline();
  }

  private goOnline(): void {
    this.state = 'online';
    this.waitingSince = null;
    this.startWatchdog();
    const queued = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    for (const b of queued) this.sink.write(b);
    this.emit('online');
    this.checkLimit();
  }

  private onStream(bytes: Buffer): void {
    if (this.state === 'online') this.sink.write(bytes);
    else if (this.state !== 'closed') {
      this.pending.push(bytes);
      this.pendingBytes += bytes.length;
    }
    this.checkLimit();
  }

  private checkLimit(): void {
    if (this.state === 'closed') return;
    const used = this.outputBytes;
    let reason: string | null = null;
    if (this.limit.hard > 0 && used >= this.limit.hard) reason = `hard limit ${this.limit.hard}`;
    else if (this.limit.soft > 0 && used >= this.limit.soft) {
      const now = this.now();
      this.softSince ??= now;
      if (now - this.softSince >= this.limit.softSeconds * 1000) reason = `soft limit ${this.limit.soft} for ${this.limit.softSeconds}s`;
    } else this.softSince = null;
    if (reason !== null) {
      debug('replica dropped: %d bytes pending, %s', used, reason);
      this.close(new ReplicationError('REPL_OUTPUT_LIMIT', `replica output buffer over the ${reason}`));
    }
  }

  private startWatchdog(): void {
    if (this.watchdog !== null) return;
    this.watchdog = setInterval(() => this.checkTimeouts(), 1000);
    this.watchdog.unref();
  }

  /** Periodic: timeouts, and the soft output limit for a replica that gets no new stream bytes. */
  checkTimeouts(): void {
    if (this.state === 'closed') return;
    this.checkLimit();
    if (this.replTimeoutMs <= 0 || this.closed) return;
    const now = this.now();
    const since = this.state === 'online' ? (this.ackTime > 0 ? this.ackTime : null) : this.waitingSince;
    if (since !== null && now - since > this.replTimeoutMs) {
      debug('replica timed out in state %s', this.state);
      this.close(new ReplicationError('REPL_TIMEOUT', `replica timed out (${this.state})`));
    }
  }

  private drain(): Promise<void> {
    this.waitingSince = this.now();
    return new Promise((resolve) => {
      const done = (): void => {
        this.waitingSince = null;
        this.sink.removeListener('drain', done);
        this.drainWaiters.delete(done);
        resolve();
      };
      this.drainWaiters.add(done);
      this.sink.once('drain', done);
    });
  }

  private releaseSnapshot(): void {
    this.snapshot?.release();
    this.snapshot = null;
  }

  private get closed(): boolean {
    return this.state === 'closed';
  }

  /**
   * Ends the link: stops the stream, releases the snapshot, destroys the sink (with `error`, if any), or ends it
   * after flushing when `graceful` and the sink has end().
   */
  close(error?: ReplicationError, graceful = false): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.watchdog !== null) clearInterval(this.watchdog);
    this.watchdog = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.pending = [];
    this.pendingBytes = 0;
    this.releaseSnapshot();
    for (const w of [...this.drainWaiters]) w();
    if (graceful && error === undefined && this.sink.end) this.sink.end();
    else this.sink.destroy(error);
    this.emit('close', error);
  }
}
