import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { debuglog } from 'node:util';
import type { ClientState, CommandSpec, PropagateEvent } from '../context/api.js';
import type { ServerConfig } from '../context/config.js';
import { parseMemory } from '../context/config.js';
import type { Context } from '../context/context.js';
import { ErrorReply, MultiReply, type Reply } from '../wire/reply.js';
import { ReplicationFeed } from '../sync/propagation.js';
import { DEFAULT_REPLICA_OUTPUT_LIMIT, ReplicaLink, type OutputLimit } from '../sync/replica-link.js';
import type { RdbWriteOptions } from '../sync/rdb-writer.js';
import { captureLazySnapshot, type LazySnapshot } from '../sync/lazy-snapshot.js';
import { TYPE_NAMES } from '../context/store.js';
import { clientOf, parseIntArg, spec } from './commands/spec.js';

const debug = debuglog('beamgate:sync');

/** Master-side replication settings of a server (one feed and backlog per Context, shared by its replicas). */
export interface ReplicationOptions {
  /** repl-backlog-size: bytes of stream history kept for partial resyncs (default 1 MiB). */
  backlogSize?: number;
  /** repl-ping-replica-period in ms (default 10 s). */
  pingPeriodMs?: number;
  /** repl-timeout in ms (default 60 s; 0 disables). */
  replTimeoutMs?: number;
  /**
   * Replica output limit. Default: the `replica`/`slave` class of CONFIG `client-output-buffer-limit`
   * (Redis' `256mb 64mb 60`), read when a replica attaches; fields given here override it.
   */
  outputLimit?: Partial<OutputLimit>;
  /** RDB chunking and event-loop yield settings. */
  rdb?: Pick<RdbWriteOptions, 'chunkSize' | 'yieldEveryKeys' | 'yieldEveryBytes'>;
}

/** One attached replica as INFO/ROLE report it. */
export interface ReplicaInfo {
  /** The replica connection's client id (CLIENT KILL ID). */
  id: number;
  ip: string;
  port: number;
  state: string;
  offset: number;
  lagSeconds: number;
}

/** Sockets of network clients: the replication commands need the socket behind a client. */
const sockets = new WeakMap<object, Socket>();

/** Called by the server for every accepted connection. */
export function registerClientSocket(client: object, socket: Socket): void {
  sockets.set(client, socket);
}

/** Parses the replica class (`replica` or `slave`) of a client-output-buffer-limit value. */
export function parseReplicaOutputLimit(value: string | undefined): OutputLimit {
  const words = (value ?? '').trim().split(/\s+/);
  for (let i = 0; i + 3 < words.length; i += 4) {
    const cls = words[i]!.toLowerCase();
    if (cls !== 'replica' && cls !== 'slave') continue;
    const hard = parseMemory(words[i + 1]!);
    const soft = parseMemory(words[i + 2]!);
    const secs = Number(words[i + 3]);
    if (hard === null || soft === null || !Number.isFinite(secs)) break;
    return { hard, soft, softSeconds: secs };
  }
  return { ...DEFAULT_REPLICA_OUTPUT_LIMIT };
}

const NO_REPLY = new MultiReply([]);

/** The replica side while the server follows a master (REPLICAOF, see replica-role.ts). */
export interface FollowerView {
  /** INFO replication of a replica, from the master-side lines (connected_slaves, backlog...). */
  info(own: Array<[string, string | number]>): Array<[string, string | number]>;
  role(): Reply;
}

/**
 * The master side of replication for one Context: subscribes the ReplicationFeed to the context's 'propagate'
 * events (from the first REPLCONF/SYNC/PSYNC on), creates a ReplicaLink per replica connection, and answers
 * INFO replication, ROLE and WAIT.
 */
export class ReplicationMaster {
  readonly feed: ReplicationFeed;
  private readonly links = new Map<ClientState, { link: ReplicaLink; socket: Socket }>();
  private readonly opts: ReplicationOptions;
  private subscribed = false;
  /** 'ack' whenever any replica acknowledges an offset (WAIT). */
  private readonly acks = new EventEmitter().setMaxListeners(0);
  private readonly onPropagate = (ev: PropagateEvent): void => this.feed.propagate(ev);
  /** Set while the server is a replica: INFO replication and ROLE describe that side. */
  follower: FollowerView | null = null;

  constructor(
    readonly context: Context,
    opts: ReplicationOptions = {},
    private readonly config?: ServerConfig,
  ) {
    this.opts = opts;
    this.feed = new ReplicationFeed({
      ...(opts.backlogSize !== undefined ? { size: opts.backlogSize } : {}),
      ...(opts.pingPeriodMs !== undefined ? { pingPeriodMs: opts.pingPeriodMs } : {}),
    });
  }

  /** Starts turning writes into stream bytes (idempotent). Must run before the first PSYNC captures a snapshot. */
  listen(): void {
    if (this.subscribed) return;
    this.subscribed = true;
    this.context.on('propagate', this.onPropagate);
  }

  /**
   * A consistent, lazy copy-on-write snapshot of the context: capture is O(databases) (nothing is copied or listed);
   * a key is preserved only when a write touches it before the RDB writer reached it (see LazySnapshot).
   */
  snapshot(): LazySnapshot {
    const ctx = this.context;
    return captureLazySnapshot({
      dbs: ctx.dbs,
      typeNames: TYPE_NAMES,
      now: () => ctx.now(),
      newSeq: () => ctx.newSeq(),
      observe: (o) => ctx.observeKeys(o),
      // The context replaces string values (APPEND, SETRANGE, INCR...), it never writes into them.
      immutableStrings: true,
    });
  }

  private outputLimit(): OutputLimit {
    return { ...parseReplicaOutputLimit(this.config?.get('client-output-buffer-limit')), ...this.opts.outputLimit };
  }

  /** The link of a client, created on its first replication command; null for clients without a socket. */
  linkFor(client: ClientState): ReplicaLink | null {
    const have = this.links.get(client);
    if (have) return have.link;
    const socket = sockets.get(client);
    if (socket === undefined) return null;
    this.listen();
    const link = new ReplicaLink({
      sink: socket,
      feed: this.feed,
      takeSnapshot: () => this.snapshot(),
      outputLimit: this.outputLimit(),
      ...(this.opts.rdb ? { rdb: this.opts.rdb } : {}),
      ...(this.opts.replTimeoutMs !== undefined ? { replTimeoutMs: this.opts.replTimeoutMs } : {}),
    });
    this.links.set(client, { link, socket });
    link.on('close', (e?: Error) => {
      this.links.delete(client);
      debug('replica link of client %d closed%s', client.id, e ? `: ${e.message}` : '');
    });
    link.on('ack', () => this.acks.emit('ack'));
    client.signal.addEventListener('abort', () => link.close(), { once: true });
    return link;
  }

  /** Replicas past PSYNC/SYNC, in attach order. */
  replicas(): ReplicaInfo[] {
    const out: ReplicaInfo[] = [];
    const now = Date.now();
    for (const [client, { link, socket }] of this.links) {
      if (!link.isReplica || link.state === 'closed') continue;
      out.push({
        id: (client as ClientState).id,
        ip: link.ipAddress ?? socket.remoteAddress?.replace(/^::ffff:/, '') ?? '',
        port: link.listeningPort ?? 0,
        state: link.state === 'transfer' ? 'send_bulk' : 'online',
        offset: Math.max(0, link.ackOffset),
        lagSeconds: link.ackTime > 0 ? Math.floor((now - link.ackTime) / 1000) : 0,
      });
    }
    return out;
  }

  /** The `# Replication` section of INFO, with Redis 7.0's fields. */
  info(): Array<[string, string | number]> {
    const reps = this.replicas();
    const lines: Array<[string, string | number]> = [['role', 'master'], ['connected_slaves', reps.length]];
    if (this.follower !== null) return this.follower.info(this.masterLines(lines, reps));
    return this.masterLines(lines, reps);
  }

  private masterLines(lines: Array<[string, string | number]>, reps: ReplicaInfo[]): Array<[string, string | number]> {
    const b = this.feed.backlog;
    reps.forEach((r, i) => lines.push([`slave${i}`, `ip=${r.ip},port=${r.port},state=${r.state},offset=${r.offset},lag=${r.lagSeconds}`]));
    lines.push(
      ['master_failover_state', 'no-failover'],
      ['master_replid', this.feed.replId],
      ['master_replid2', '0'.repeat(40)],
      ['master_repl_offset', this.feed.offset],
      ['second_repl_offset', -1],
      ['repl_backlog_active', this.feed.active ? 1 : 0],
      ['repl_backlog_size', b.size],
      ['repl_backlog_first_byte_offset', this.feed.active ? b.firstOffset : 0],
      ['repl_backlog_histlen', b.historyLength],
    );
    return lines;
  }

  /** ROLE: `master`, the offset, and [ip, port, acked offset] per replica. */
  role(): Reply {
    if (this.follower !== null) return this.follower.role();
    return ['master', this.feed.offset, this.replicas().filter((r) => r.state === 'online').map((r) => [r.ip, String(r.port), String(r.offset)])];
  }

  private ackedCount(offset: number): number {
    let n = 0;
    for (const { link } of this.links.values()) if (link.state === 'online' && link.ackOffset >= offset) n++;
    return n;
  }

  /** WAIT: resolves with the number of replicas that acknowledged `offset`, once `want` did or at the timeout. */
  wait(want: number, timeoutMs: number, signal: AbortSignal, block = true): Reply | Promise<Reply> {
    const offset = this.feed.offset;
    const now = this.ackedCount(offset);
    if (now >= want || !block) return now;
    this.feed.requestAcks();
    return new Promise<Reply>((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      const check = (): void => {
        const n = this.ackedCount(offset);
        if (n >= want) finish(n);
      };
      const finish = (n: number): void => {
        this.acks.off('ack', check);
        if (timer) clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(n);
      };
      const onAbort = (): void => finish(this.ackedCount(offset));
      this.acks.on('ack', check);
      if (timeoutMs > 0) timer = setTimeout(() => finish(this.ackedCount(offset)), timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Demotion (REPLICAOF host port): drops every attached replica and stops the stream, so nothing more is propagated
   * (not even the rest of a running EXEC); the next SYNC/PSYNC starts a new history (new replid, full resync).
   */
  dropReplicas(): void {
    for (const { link } of [...this.links.values()]) link.close();
    this.links.clear();
    this.feed.deactivate();
  }

  /** Drops every replica and detaches from the context. */
  close(): void {
    for (const { link } of [...this.links.values()]) link.close();
    this.links.clear();
    if (this.subscribed) this.context.off('propagate', this.onPropagate);
    this.subscribed = false;
    this.feed.close();
    if (masters.get(this.context) === this) masters.delete(this.context);
  }
}

const masters = new WeakMap<Context, ReplicationMaster>();

/** The ReplicationMaster of a context (created on first use with these options). */
export function replicationFor(context: Context, opts?: ReplicationOptions, config?: ServerConfig): ReplicationMaster {
  let m = masters.get(context);
  if (!m) masters.set(context, (m = new ReplicationMaster(context, opts, config)));
  return m;
}

/** The master of a context if replication was set up for it. */
export function existingReplication(context: Context | undefined): ReplicationMaster | undefined {
  return context === undefined ? undefined : masters.get(context);
}

/** INFO replication lines for a context without replicas support (no master created). */
export function replicationInfo(context: Context | undefined, runId: string): Array<[string, string | number]> {
  const m = existingReplication(context);
  if (m) return m.info();
  return [['role', 'master'], ['connected_slaves', 0], ['master_failover_state', 'no-failover'], ['master_replid', runId], ['master_repl_offset', 0], ['repl_backlog_active', 0]];
}

/**
 * REPLCONF, PSYNC, SYNC (handed to the client's ReplicaLink), ROLE and WAIT. The link writes to the socket
 * itself, so the handlers answer from a microtask: the connection has flushed earlier replies by then.
 */
export function replicationCommands(master: ReplicationMaster): CommandSpec[] {
  const viaLink = (inv: Parameters<CommandSpec['handler']>[0]): Reply | Promise<Reply> => {
    const link = master.linkFor(inv.client);
    if (link === null) return new ErrorReply('ERR replication needs a network connection');
    return Promise.resolve().then(() => {
      link.handleCommand(inv.argv);
      return NO_REPLY;
    });
  };
  return [
    spec('replconf', -1, ['admin', 'noscript', 'loading', 'stale', 'allow_busy'], viaLink),
    spec('psync', -3, ['admin', 'noscript', 'no_async_loading', 'no_multi'], viaLink),
    spec('sync', 1, ['admin', 'noscript', 'no_async_loading', 'no_multi'], viaLink),
    spec('role', 1, ['noscript', 'loading', 'stale', 'fast'], () => master.role()),
    spec('wait', 3, ['noscript'], (inv) => {
      const n = parseIntArg(inv.argv[1]!);
      const t = parseIntArg(inv.argv[2]!);
      if (n === null || t === null) return new ErrorReply('ERR value is not an integer or out of range');
      if (t < 0) return new ErrorReply('ERR timeout is negative');
      return master.wait(n, t, inv.client.signal, !clientOf(inv).inExec);
    }),
  ];
}
