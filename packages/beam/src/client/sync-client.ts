import { TypedEventEmitter } from '@beamgate/base';
import type { Socket } from 'node:net';
import { debuglog } from 'node:util';
import type { ClientState, KeyspaceEvent, FlushEvent } from '../context/api.js';
import { Context } from '../context/context.js';
import { T_LIST, T_STREAM, TYPE_NAMES, type TypeName } from '../context/store.js';
import type { Deque } from '../context/deque.js';
import { RdbParser, type RdbEntry } from '../sync/rdb-reader.js';
import { streamFromData } from '../context/stream.js';
import { ReplicationStreamReader } from '../sync/stream-reader.js';
import { encodeCommand } from '../wire/command-encoder.js';
import { ErrorReply } from '../wire/reply.js';
import { BeamConnectionError } from './errors.js';
import { openSocket, type BeamClientTlsOptions } from './socket.js';
import type { ResolvedTarget } from './target.js';
import { ZSet } from '../context/zset.js';

const debug = debuglog('beamgate:sync');

export interface SyncOptions {
  /** ACL user for AUTH, as BeamClientOptions.username. */
  username?: string;
  password?: string;
  connectTimeoutMs?: number;
  /** TLS (also implied by a `rediss://` URL), as BeamClientOptions.tls. */
  tls?: BeamClientTlsOptions | boolean;
  /** Reconnect after the link drops, continuing from the backlog with PSYNC when possible (default true). */
  reconnect?: boolean;
  /** Delay before a reconnect attempt (default 1000 ms). */
  reconnectDelayMs?: number;
  /** Interval of `REPLCONF ACK <offset>` (default 1000 ms, as Redis replicas). */
  ackIntervalMs?: number;
  /** Longest string accepted in the snapshot or the stream (default 512 MiB). */
  maxBulk?: number;
  /**
   * Load into this Context instead of a new one (`beam serve`'s REPLICAOF: the server's own dataset). The mirror
   * then emits no 'change'/'flush' events (it adds no listener to a context it does not own).
   */
  context?: Context;
}

/** A change of the mirror, as the master's write caused it (Redis keyspace notification names). */
export interface MirrorChange {
  db: number;
  /** e.g. 'set', 'del', 'rpush', 'hset', 'expire', 'expired', 'rename_to'. */
  event: string;
  key: Buffer;
  cls: KeyspaceEvent['cls'];
}

/** string: Buffer; list: Buffer[]; hash: Map<field, Buffer>; set: Set<member>; zset: Map<member, score>. */
export type MirrorValue = Buffer | Buffer[] | Map<string, Buffer> | Set<string> | Map<string, number>;

export type MirrorState = 'connecting' | 'loading' | 'streaming' | 'disconnected' | 'closed';

const CHUNK = 1024;
const B = (s: string): Buffer => Buffer.from(s, 'latin1');
const IGNORED = new Set(['ping', 'replconf', 'multi', 'exec', 'select', 'publish', 'spublish']);

/** Events of a BeamMirror (see the class comment). */
export interface BeamMirrorEvents {
  change: [change: MirrorChange];
  flush: [event: FlushEvent];
  command: [db: number, argv: Buffer[]];
  ready: [];
  disconnect: [error: Error];
  error: [err: Error];
  close: [];
}

/**
 * A local mirror of a server's dataset, kept by the replication protocol: `PSYNC ? -1` loads the RDB snapshot
 * into an embedded Context, then every propagated write is applied to it in order. Reconnects continue with
 * `PSYNC replid offset` (no reload while the master's backlog still holds the gap).
 *
 * Events: 'change' (MirrorChange) and 'flush' ({ db }, -1 = all) for every applied write; 'command' (db, argv) for
 * each stream command; 'ready' after a full snapshot is loaded (also after a later full resync); 'disconnect'
 * (error); 'error' (Error, for commands the mirror could not apply); 'close'.
 */
export class BeamMirror extends TypedEventEmitter<BeamMirrorEvents> {
  /** The mirrored data: query it with `context.call(mirror.client, argv)` or use get()/keys(). */
  readonly context: Context;
  readonly client: ClientState;
  /** Applies the snapshot and the stream: the master's client (every key live for it, see ClientState.master). */
  private readonly link: ClientState;
  replId = '?';
  /** Replication offset of the last byte applied (-1 before the first snapshot). */
  offset = -1;
  state: MirrorState = 'connecting';
  /** Date.now() of the last bytes read from the master (0 before any): INFO's master_last_io_seconds_ago. */
  lastIoAt = 0;
  /** Snapshot keys of types the mirror cannot hold (sorted sets) and stream commands that failed. */
  readonly stats = { fullSyncs: 0, partialSyncs: 0, commands: 0, skippedKeys: 0, failedCommands: 0 };

  private socket: Socket | null = null;
  private phase: 'reply' | 'rdb-head' | 'rdb' | 'stream' = 'reply';
  private lineBuf = '';
  private expectedReplies: Array<(line: string) => void> = [];
  private rdb: RdbParser | null = null;
  private rdbLeft = 0;
  private stream = new ReplicationStreamReader();
  private ackTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private firstSync: { resolve: () => void; reject: (e: Error) => void } | null = null;
  private readonly target: ResolvedTarget;
  private readonly opts: SyncOptions;
  private emitChanges = false;

  constructor(target: ResolvedTarget, opts: SyncOptions = {}) {
    super();
    this.target = target;
    this.opts = opts;
    // A replica's dataset: keys expire only by the master's DEL, never by the mirror's clock (which may run
    // ahead of the master's, or apply its writes late): expiring them here would lose or misapply writes.
    this.context = opts.context ?? new Context({ activeExpireInterval: 0, replica: true });
    this.client = this.context.createInternalClient();
    this.link = this.context.createInternalClient({ master: true });
    if (opts.context !== undefined) return;
    this.context.on('keyspace', (e: KeyspaceEvent) => {
      if (this.emitChanges) this.emit('change', { db: e.db, event: e.event, key: e.key, cls: e.cls } satisfies MirrorChange);
    });
    this.context.on('flush', (e: FlushEvent) => {
      if (this.emitChanges) this.emit('flush', e);
    });
  }

  /** Connects and resolves once the first snapshot is loaded. */
  start(): Promise<this> {
    return new Promise<this>((resolve, reject) => {
      this.firstSync = { resolve: () => resolve(this), reject };
      this.connect();
    });
  }

  /** Connects without waiting, and keeps retrying also when the first attempt fails (a server's REPLICAOF). */
  follow(): this {
    this.connect();
    return this;
  }

  // ---- reading the mirror ----------------------------------------------------------------------

  /** Type of a key, or null. */
  type(key: Buffer | string, db = 0): TypeName | null {
    const e = this.context.dbs[db]?.data.get(typeof key === 'string' ? Buffer.from(key).toString('latin1') : key.toString('latin1'));
    if (e === undefined || (e.x !== 0 && e.x <= Date.now())) return null;
    return TYPE_NAMES[e.t] ?? null;
  }

  /** A copy of a key's value: Buffer (string), Buffer[] (list), Map (hash), Set of latin1 members (set). */
  get(key: Buffer | string, db = 0): MirrorValue | undefined {
    const e = this.context.dbs[db]?.data.get(typeof key === 'string' ? Buffer.from(key).toString('latin1') : key.toString('latin1'));
    if (e === undefined || (e.x !== 0 && e.x <= Date.now())) return undefined;
    if (e.t === T_LIST) return (e.v as Deque).toArray();
    if (e.v instanceof Map) return new Map(e.v);
    if (e.v instanceof Set) return new Set(e.v);
    if (e.v instanceof ZSet) return new Map(e.v.dict);
    return e.v as Buffer;
  }

  /** Absolute expiry (ms) of a key, or null. */
  expireAt(key: Buffer | string, db = 0): number | null {
    const e = this.context.dbs[db]?.data.get(typeof key === 'string' ? Buffer.from(key).toString('latin1') : key.toString('latin1'));
    return e === undefined || e.x === 0 ? null : e.x;
  }

  /** Keys of a database. */
  *keys(db = 0): Generator<Buffer> {
    for (const e of this.context.entries(db)) yield e.key;
  }

  dbsize(db = 0): number {
    return this.context.dbsize(db);
  }

  // ---- connection --------------------------------------------------------------------------------

  private connect(): void {
    if (this.state === 'closed') return;
    const t = this.target;
    const { socket, ready } = openSocket(t, this.opts.tls);
    this.socket = socket;
    this.phase = 'reply';
    this.lineBuf = '';
    this.expectedReplies = [];
    this.stream = new ReplicationStreamReader(this.opts.maxBulk !== undefined ? { maxBulk: this.opts.maxBulk } : {});
    const timeout = this.opts.connectTimeoutMs ?? 10_000;
    const timer = setTimeout(() => socket.destroy(new BeamConnectionError(`connect timed out after ${timeout} ms`, 'BEAM_CONNECT_TIMEOUT')), timeout);
    socket.once(ready, () => {
      clearTimeout(timer);
      this.handshake();
    });
    socket.on('data', (d: Buffer) => {
      try {
        this.onData(d);
      } catch (e) {
        socket.destroy(e as Error);
      }
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      this.lost(socket, e);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      this.lost(socket, new BeamConnectionError('replication link closed', 'BEAM_CLOSED'));
    });
  }

  private send(argv: string[]): void {
    this.socket?.write(encodeCommand(argv));
  }

  private handshake(): void {
    const password = this.opts.password ?? this.target.password;
    const fail = (what: string) => (line: string): void => {
      if (line.startsWith('-')) this.socket?.destroy(new BeamConnectionError(`${what} refused: ${line.slice(1)}`, 'BEAM_SYNC_REFUSED'));
    };
    const username = this.opts.username ?? this.target.username;
    if (password !== undefined) {
      this.send(username !== undefined ? ['AUTH', username, password] : ['AUTH', password]);
      this.expectedReplies.push(fail('AUTH'));
    }
    this.send(['REPLCONF', 'capa', 'psync2']);
    // PSYNC waits for this reply: Redis refuses SYNC/PSYNC while earlier replies are still unsent ("pending output").
    this.expectedReplies.push((line) => {
      fail('REPLCONF')(line);
      if (line.startsWith('-')) return;
      const resume = this.offset >= 0 && this.replId !== '?';
      this.send(['PSYNC', resume ? this.replId : '?', String(resume ? this.offset + 1 : -1)]);
      this.expectedReplies.push((l) => this.onPsyncReply(l));
    });
    this.state = 'connecting';
  }

  private onPsyncReply(line: string): void {
    const full = /^\+FULLRESYNC ([0-9a-zA-Z]{1,64}) (\d+)$/.exec(line);
    if (full) {
      this.replId = full[1]!;
      this.offset = Number(full[2]);
      this.phase = 'rdb-head';
      this.state = 'loading';
      debug('full resync %s at %d', this.replId, this.offset);
      return;
    }
    const cont = /^\+CONTINUE(?: ([0-9a-zA-Z]{1,64}))?$/.exec(line);
    if (cont) {
      if (cont[1] !== undefined) this.replId = cont[1];
      this.stats.partialSyncs++;
      this.goStreaming();
      debug('partial resync from %d', this.offset + 1);
      return;
    }
    this.socket?.destroy(new BeamConnectionError(`PSYNC refused: ${line.replace(/^[-+]/, '')}`, 'BEAM_SYNC_REFUSED'));
  }

  private onData(d: Buffer): void {
    this.lastIoAt = Date.now();
    let data = d;
    while (data.length > 0) {
      if (this.phase === 'reply' || this.phase === 'rdb-head') {
        const nl = data.indexOf(10);
        if (nl < 0) {
          this.lineBuf += data.toString('latin1');
          if (this.lineBuf.length > 1024) throw new BeamConnectionError('replication handshake: reply line too long', 'BEAM_PROTOCOL');
          return;
        }
        const line = (this.lineBuf + data.toString('latin1', 0, nl)).replace(/\r$/, '');
        this.lineBuf = '';
        data = data.subarray(nl + 1);
        if (line === '') continue; // keep-alive newline while the master prepares the RDB
        if (this.phase === 'reply') {
          const handler = this.expectedReplies.shift();
          if (handler === undefined) throw new BeamConnectionError(`replication handshake: unexpected reply ${line}`, 'BEAM_PROTOCOL');
          handler(line);
        } else this.onRdbHead(line);
        continue;
      }
      if (this.phase === 'rdb') {
        const part = data.subarray(0, this.rdbLeft);
        data = data.subarray(part.length);
        this.rdbLeft -= part.length;
        for (const e of this.rdb!.push(part)) this.load(e);
        if (this.rdbLeft === 0) {
          const first = this.firstSync !== null;
          this.rdbLoaded();
          const socket = this.socket;
          if (first && data.length > 0 && socket) {
            // Writes that followed the snapshot in the same chunk wait until the caller of sync() has seen the
            // loaded snapshot and subscribed to 'change' (its continuation runs before setImmediate).
            const rest = data;
            socket.pause();
            setImmediate(() => {
              if (this.socket !== socket || socket.destroyed) return;
              try {
                this.onData(rest);
              } catch (e) {
                socket.destroy(e as Error);
                return;
              }
              socket.resume();
            });
            return;
          }
        }
        continue;
      }
      this.onStream(data);
      return;
    }
  }

  private onRdbHead(line: string): void {
    const m = /^\$(\d+)$/.exec(line);
    if (!m) throw new BeamConnectionError(`replication: expected the RDB length, got ${JSON.stringify(line.slice(0, 60))}`, 'BEAM_PROTOCOL');
    this.rdbLeft = Number(m[1]);
    this.rdb = new RdbParser(this.opts.maxBulk !== undefined ? { maxBulk: this.opts.maxBulk } : {});
    this.emitChanges = false;
    this.context.call(this.link, [B('FLUSHALL')]);
    this.phase = 'rdb';
    if (this.rdbLeft === 0) throw new BeamConnectionError('replication: empty RDB', 'BEAM_PROTOCOL');
  }

  private load(e: RdbEntry): void {
    // Also keys past their TTL on our clock: the master still has them, and its later writes may use them.
    this.link.db = e.db;
    const key = e.key;
    const run = (name: string, items: Buffer[]): void => {
      for (let i = 0; i < items.length; i += CHUNK) this.context.call(this.link, [B(name), key, ...items.slice(i, i + CHUNK)]);
    };
    switch (e.type) {
      case 'string':
        this.context.call(this.link, [B('SET'), key, e.value]);
        break;
      case 'list':
        run('RPUSH', e.value);
        break;
      case 'set':
        run('SADD', e.value);
        break;
      case 'hash':
        run('HSET', e.value.flat());
        break;
      case 'zset':
        run('ZADD', e.value.flatMap(([m, s]) => [B(s === Infinity ? 'inf' : s === -Infinity ? '-inf' : String(s)), m]));
        break;
      case 'stream': {
        // Streams carry state no command sequence restores exactly (entries-added, PEL times): built directly.
        const db = this.context.dbs[e.db];
        if (db === undefined) return;
        const k = key.toString('latin1');
        const old = db.data.get(k);
        if (old !== undefined) this.context.removeEntry(db, k, old);
        const entry = this.context.addKey(db, k, T_STREAM, streamFromData(e.value, this.context.streamLimits));
        if (e.expireAt !== null) this.context.setExpire(db, k, entry, e.expireAt);
        return;
      }
      default:
        this.stats.skippedKeys++;
        return;
    }
    if (e.expireAt !== null) this.context.call(this.link, [B('PEXPIREAT'), key, B(String(e.expireAt))]);
  }

  private rdbLoaded(): void {
    this.rdb!.end();
    this.rdb = null;
    this.link.db = 0;
    this.stats.fullSyncs++;
    debug('snapshot loaded: %d keys in db0', this.context.dbsize(0));
    this.goStreaming();
    this.emit('ready');
    const first = this.firstSync;
    this.firstSync = null;
    first?.resolve();
  }

  private goStreaming(): void {
    this.phase = 'stream';
    this.state = 'streaming';
    this.emitChanges = true;
    if (this.ackTimer === null) {
      this.ackTimer = setInterval(() => this.ack(), this.opts.ackIntervalMs ?? 1000);
      this.ackTimer.unref();
    }
    this.ack();
  }

  private ack(): void {
    if (this.phase === 'stream' && this.socket && !this.socket.destroyed) this.send(['REPLCONF', 'ACK', String(this.offset)]);
  }

  private onStream(data: Buffer): void {
    for (const { argv, bytes } of this.stream.push(data)) {
      if (argv.length > 0) this.apply(argv);
      this.offset += bytes;
    }
  }

  private apply(argv: Buffer[]): void {
    this.stats.commands++;
    const name = argv[0]!.toString('latin1').toLowerCase();
    if (IGNORED.has(name)) {
      if (name === 'select') {
        const db = Number(argv[1]?.toString('latin1'));
        if (Number.isInteger(db) && db >= 0 && db < this.context.dbs.length) this.link.db = db;
      } else if (name === 'replconf' && argv[1]?.toString('latin1').toLowerCase() === 'getack') {
        queueMicrotask(() => this.ack());
      }
      return;
    }
    this.emit('command', this.link.db, argv);
    const r = this.context.call(this.link, argv);
    if (r instanceof Promise) return; // a blocking command cannot come from a master; never waits
    if (r instanceof ErrorReply) {
      this.stats.failedCommands++;
      const msg = String(r.message);
      debug('mirror could not apply %s: %s', name, msg);
      if (this.listenerCount('error') > 0) this.emit('error', new BeamConnectionError(`mirror could not apply ${name}: ${msg}`, 'BEAM_SYNC_APPLY'));
    }
  }

  private lost(socket: Socket, e: Error): void {
    if (this.socket !== socket) return;
    socket.removeAllListeners('data');
    socket.destroy();
    this.socket = null;
    if (this.ackTimer !== null) clearInterval(this.ackTimer);
    this.ackTimer = null;
    if (this.state === 'closed') return;
    debug('replication link lost: %s', e.message);
    const first = this.firstSync;
    if (first !== null) {
      // The first sync failed: start() rejects instead of retrying.
      this.firstSync = null;
      this.state = 'closed';
      first.reject(e);
      return;
    }
    // A snapshot cut short leaves a partial mirror: only a completed one may continue with PSYNC.
    if (this.phase === 'rdb' || this.phase === 'rdb-head') this.offset = -1;
    this.state = 'disconnected';
    this.emit('disconnect', e);
    if (this.opts.reconnect === false) {
      this.state = 'closed';
      this.emit('close');
      return;
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, this.opts.reconnectDelayMs ?? 1000);
  }

  /** Stops mirroring (the mirror's data stays readable). */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.ackTimer !== null) clearInterval(this.ackTimer);
    this.ackTimer = null;
    const s = this.socket;
    this.socket = null;
    const first = this.firstSync;
    this.firstSync = null;
    first?.reject(new BeamConnectionError('sync closed', 'BEAM_CLOSED'));
    if (s && !s.destroyed) {
      await new Promise<void>((resolve) => {
        s.once('close', () => resolve());
        s.destroy();
      });
    }
    this.emit('close');
  }
}

/** Connects a mirror to `target` and resolves once the snapshot is loaded. */
export function syncMirror(target: ResolvedTarget, opts: SyncOptions = {}): Promise<BeamMirror> {
  return new BeamMirror(target, opts).start();
}
