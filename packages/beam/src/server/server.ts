import net from 'node:net';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { TypedEventEmitter } from '@beamgate/base';
import { debuglog } from 'node:util';
import type { CommandFilter, CommandSpec } from '../context/api.js';
import { Context, type ContextOptions } from '../context/context.js';
import { ClientRegistry, Dispatcher, type DispatchClient } from '../context/dispatch.js';
import { ServerConfig } from '../context/config.js';
import { attachKeyspaceNotifier } from '../context/pubsub.js';
import { serverCommands, type ServerEnv } from './commands/index.js';
import { aclCatalog, aclCheck } from './commands/acl.js';
import { ClientMemory } from './client-memory.js';
import { Connection, type ConnectionLimits } from './connection.js';
import { Monitors } from './monitor.js';
import { existingReplication, registerClientSocket, replicationCommands, replicationFor, type ReplicationOptions } from './replication.js';
import { createListener, type BeamServerTlsOptions } from './tls.js';
import { Authenticator, isLocalAddress, PROTECTED_MODE_DENIED, type AuthFailure } from './auth.js';
import type { AuthThrottleOptions } from './auth-throttle.js';
import { trackingFor } from './tracking/tracking.js';

const log = debuglog('beamgate:server');

export interface BeamServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 6380; 0 picks a free port. Ignored when `path` is set. */
  port?: number;
  /** Listen on a unix socket instead of TCP. */
  path?: string;
  /** Require AUTH/HELLO AUTH with this password (same as CONFIG SET requirepass). */
  requirepass?: string;
  /**
   * Named users (name -> password), as Redis ACL users with every permission: `AUTH name password`. With any,
   * the `default` user is off unless `requirepass` gives it a password.
   */
  users?: Record<string, string> | Iterable<[string, string]>;
  /** Refuse every command but AUTH/HELLO/QUIT/RESET until authenticated, even without any password. Default false. */
  requireAuth?: boolean;
  /** Lockouts after repeated AUTH failures per address and per user; false turns them off. */
  authThrottle?: AuthThrottleOptions | false;
  /** Give every connection its own Context instead of one shared by the whole server. Default false. */
  contextPerConnection?: boolean;
  /** The shared Context to serve (default: a new one). Not used with contextPerConnection. */
  context?: Context;
  /** Options for Contexts the server creates. */
  contextOptions?: ContextOptions;
  /** Initial CONFIG values, e.g. { 'notify-keyspace-events': 'KEA' }. */
  config?: Record<string, string>;
  /**
   * Protocol and buffer limits (see ConnectionLimits); maxClients defaults to 10000. `maxQueryBuffer` is
   * CONFIG `client-query-buffer-limit` (default 1 GiB per client) and `maxClientsMemory` CONFIG
   * `maxmemory-clients`: the server-wide bound on what all clients' requests hold (default 512 MiB, 0 = none),
   * over which the clients holding the most are closed.
   */
  limits?: ConnectionLimits & { maxClients?: number; maxClientsMemory?: number };
  /** Called for every Dispatcher the server creates (once for a shared context, per connection otherwise). */
  setup?: (dispatcher: Dispatcher, context: Context) => void;
  /** HELLO `server` and INFO names. Defaults 'redis' and '7.0.15' (what clients expect of Redis 7.0). */
  serverName?: string;
  version?: string;
  /** Key prefixes only internal clients may write. Default ['/beam']. */
  reservedPrefixes?: string[];
  /** Master-side replication (SYNC/PSYNC) settings: backlog size, replica output limit, timeouts. */
  replication?: ReplicationOptions;
  /** Serve RESP over TLS on the listening port (key and certificate, optionally client certificates). */
  tls?: BeamServerTlsOptions;
}

interface Served {
  dispatcher: Dispatcher;
  context: Context;
  detach: () => void;
  owned: boolean;
}

/** Events of a BeamServer (see the class comment). */
export interface BeamServerEvents {
  error: [err: Error];
  shutdown: [];
  authFailure: [failure: AuthFailure];
  denied: [address: string];
}

/**
 * A RESP server over TCP or a unix socket. Serves one shared Context by default; with
 * `contextPerConnection` each connection gets a fresh Context (and Dispatcher), torn down on close.
 * Emits 'error' for listener errors and 'shutdown' when a client's SHUTDOWN was accepted (without a
 * 'shutdown' listener the server then closes itself), 'authFailure' (AuthFailure) for every failed or throttled
 * AUTH, and 'denied' (address) for a client refused by protected mode.
 */
export class BeamServer extends TypedEventEmitter<BeamServerEvents> {
  readonly config: ServerConfig;
  readonly registry = new ClientRegistry();
  readonly auth: Authenticator;
  /** The shared dispatcher and context (undefined with contextPerConnection). */
  readonly dispatcher: Dispatcher | undefined;
  readonly context: Context | undefined;
  private readonly opts: BeamServerOptions;
  private readonly env: ServerEnv;
  private readonly net: net.Server;
  private readonly connections = new Set<Connection>();
  private readonly perConnection = new Map<Connection, Served>();
  private readonly setups: Array<(d: Dispatcher, c: Context) => void> = [];
  private readonly extraCommands: CommandSpec[] = [];
  private readonly extraFilters: CommandFilter[] = [];
  private shared: Served | undefined;
  private readonly monitors: Monitors;
  /** What all clients' requests hold, bounded by `maxmemory-clients`. */
  readonly clientMemory: ClientMemory;
  /** serverCron-style stats sampling (INFO instantaneous_ops_per_sec, used_memory_peak). */
  private readonly cron: NodeJS.Timeout;

  constructor(opts: BeamServerOptions = {}) {
    super();
    this.opts = opts;
    this.cron = setInterval(() => this.registry.sample(), 100);
    this.cron.unref();
    this.config = new ServerConfig(opts.config ?? {});
    if (opts.requirepass !== undefined) this.config.set('requirepass', opts.requirepass);
    const users = opts.users === undefined ? [] : Symbol.iterator in Object(opts.users) ? [...(opts.users as Iterable<[string, string]>)] : Object.entries(opts.users);
    this.auth = new Authenticator(this.config, {
      users,
      ...(opts.requireAuth ? { requireAuth: true } : {}),
      ...(opts.authThrottle !== undefined ? { throttle: opts.authThrottle } : {}),
      onFailure: (f) => this.emit('authFailure', f),
      catalog: () => aclCatalog(this.dispatchers()[0]?.dispatcher),
    });
    if (opts.limits?.maxBulkLength !== undefined) this.config.set('proto-max-bulk-len', String(opts.limits.maxBulkLength));
    if (opts.limits?.maxQueryBuffer !== undefined) this.config.set('client-query-buffer-limit', String(opts.limits.maxQueryBuffer));
    if (opts.config?.['maxmemory-clients'] === undefined) {
      this.config.set('maxmemory-clients', String(opts.limits?.maxClientsMemory ?? DEFAULT_MAX_CLIENTS_MEMORY));
    }
    this.clientMemory = new ClientMemory(clientsMemoryLimit(this.config.get('maxmemory-clients')));
    // SAVE/BGSAVE write `dir`/`dbfilename`; like redis-server, the default dir is the working directory.
    if (opts.config?.dir === undefined) this.config.set('dir', process.cwd());
    // LCS' transient table is capped by proto-max-bulk-len, as in Redis.
    this.config.on('change', (key: string, value: string) => {
      if (key === 'proto-max-bulk-len') for (const s of this.dispatchers()) s.context.maxLcsTableBytes = Number(value);
      if (key === 'maxmemory-clients') this.clientMemory.limit = clientsMemoryLimit(value);
      if (key === 'hll-sparse-max-bytes') for (const s of this.dispatchers()) s.context.hllSparseMaxBytes = Number(value);
      if (key === 'stream-node-max-entries') for (const s of this.dispatchers()) s.context.streamLimits.maxEntries = Number(value);
      if (key === 'stream-node-max-bytes') for (const s of this.dispatchers()) s.context.streamLimits.maxBytes = Number(value);
    });
    const self = this;
    this.monitors = new Monitors((active) => {
      for (const s of this.dispatchers()) trackingFor(s.dispatcher).setMonitorFeed(active ? this.monitors.feed : null);
    });
    this.env = {
      serverName: opts.serverName ?? 'redis',
      version: opts.version ?? '7.0.15',
      config: this.config,
      registry: this.registry,
      runId: randomBytes(20).toString('hex'),
      databases: opts.contextOptions?.databases ?? 16,
      monitors: this.monitors,
      auth: this.auth,
      serveWhileBusy(d, caller) {
        self.serveWhileBusy(d, caller);
      },
      shutdown() {
        self.emit('shutdown');
        if (self.listenerCount('shutdown') === 0) void self.close();
      },
      port() {
        const a = self.net.address();
        return a && typeof a === 'object' ? a.port : 0;
      },
    };
    if (opts.setup) this.setups.push(opts.setup);
    if (!opts.contextPerConnection) {
      this.shared = this.serve(opts.context ?? new Context(this.contextOptions()), opts.context === undefined);
      this.dispatcher = this.shared.dispatcher;
      this.context = this.shared.context;
    }
    this.net = createListener(opts.tls, (s) => this.accept(s));
    // Redis' clientsCron: close clients idle longer than CONFIG `timeout` seconds (0, the default, never).
    this.idleTimer = setInterval(() => this.closeIdle(), 1000);
    this.idleTimer.unref();
    this.net.on('error', (e) => this.emit('error', e));
  }

  /**
   * New certificate (TLS servers only) and named users for the connections accepted from now on (SIGHUP): the
   * connections already open keep their TLS session and their authentication.
   */
  reloadSecurity(opts: { tls?: BeamServerTlsOptions; users?: Iterable<[string, string]> }): void {
    if (opts.tls !== undefined) {
      if (!(this.net instanceof tls.Server)) throw new TypeError('reloadSecurity: this server was not started with TLS');
      this.net.setSecureContext({ key: opts.tls.key, cert: opts.tls.cert, ...(opts.tls.ca !== undefined ? { ca: opts.tls.ca } : {}) });
    }
    if (opts.users !== undefined) this.auth.setUsers(opts.users);
  }

  private lastBusyPoll = 0;

  /**
   * Redis' processEventsWhileBlocked for a script past busy-reply-threshold (at most every 5 ms): the other idle
   * plain-socket clients of that dispatcher get their requests read and answered now (BUSY, or SCRIPT KILL & co.).
   * New connections and TLS clients wait until the script ends.
   */
  private serveWhileBusy(d: Dispatcher, caller: DispatchClient): void {
    const now = Date.now();
    if (now - this.lastBusyPoll < 5) return;
    this.lastBusyPoll = now;
    for (const conn of [...this.connections]) if (conn.dispatcher === d && conn.client !== caller) conn.pollWhileBusy();
  }

  /** Runs `fn` for the shared dispatcher now and for every dispatcher created later. */
  onDispatcher(fn: (d: Dispatcher, c: Context) => void): void {
    this.setups.push(fn);
    for (const s of this.dispatchers()) fn(s.dispatcher, s.context);
  }

  /** Adds commands to every dispatcher, current and future. */
  register(specs: CommandSpec[]): void {
    this.extraCommands.push(...specs);
    for (const s of this.dispatchers()) s.dispatcher.register(specs);
  }

  /** Adds a command filter to every dispatcher, current and future. */
  addFilter(filter: CommandFilter): void {
    this.extraFilters.push(filter);
    for (const s of this.dispatchers()) s.dispatcher.addFilter(filter);
  }

  /** Options of the Contexts the server creates: Beam's reserved keys are also the hidden ones. */
  private contextOptions(): ContextOptions {
    const o = this.opts.contextOptions ?? {};
    return this.opts.reservedPrefixes && o.hiddenPrefixes === undefined ? { ...o, hiddenPrefixes: this.opts.reservedPrefixes } : o;
  }

  private dispatchers(): Served[] {
    return this.shared ? [this.shared] : [...this.perConnection.values()];
  }

  private serve(context: Context, owned: boolean): Served {
    const dispatcher = new Dispatcher({
      context,
      config: this.config,
      registry: this.registry,
      authRequired: () => this.auth.required,
      ...(this.opts.reservedPrefixes ? { reservedPrefixes: this.opts.reservedPrefixes } : {}),
    });
    dispatcher.register(serverCommands({ env: this.env, dispatcher, context }));
    dispatcher.aclCheck = (c, spec, argv, where, logAs) => aclCheck(this.auth.acl, c, spec, argv, where, logAs);
    dispatcher.register(replicationCommands(replicationFor(context, this.opts.replication, this.config)));
    dispatcher.register(this.extraCommands);
    for (const f of this.extraFilters) dispatcher.addFilter(f);
    context.maxLcsTableBytes = Number(this.config.get('proto-max-bulk-len'));
    context.hllSparseMaxBytes = Number(this.config.get('hll-sparse-max-bytes') ?? 3000);
    context.streamLimits.maxEntries = Number(this.config.get('stream-node-max-entries'));
    context.streamLimits.maxBytes = Number(this.config.get('stream-node-max-bytes'));
    const detach = attachKeyspaceNotifier(context, dispatcher.hub, this.config);
    for (const fn of this.setups) fn(dispatcher, context);
    if (this.monitors.size > 0) trackingFor(dispatcher).setMonitorFeed(this.monitors.feed);
    return { dispatcher, context, detach, owned };
  }

  private accept(socket: net.Socket): void {
    const max = this.opts.limits?.maxClients ?? 10000;
    if (this.connections.size >= max) {
      this.registry.rejectedConnections++;
      socket.end('-ERR max number of clients reached\r\n');
      return;
    }
    if (this.protectedModeRefuses(socket.remoteAddress)) {
      this.registry.rejectedConnections++;
      log('protected mode: refused %s', socket.remoteAddress);
      this.emit('denied', socket.remoteAddress ?? '');
      // Discard what the client sends (so that its FIN is seen and the socket closes) and drop it if it lingers.
      socket.on('error', () => undefined).resume().end(PROTECTED_MODE_DENIED);
      setTimeout(() => socket.destroy(), 5000).unref();
      return;
    }
    let served = this.shared;
    if (!served) served = this.serve(new Context(this.contextOptions()), true);
    const limits = {
      ...this.opts.limits,
      maxBulkLength: Number(this.config.get('proto-max-bulk-len')),
      maxQueryBuffer: Number(this.config.get('client-query-buffer-limit')),
    };
    const conn = new Connection(socket, served.dispatcher, limits, (c) => this.closed(c), this.clientMemory);
    registerClientSocket(conn.client, socket);
    this.connections.add(conn);
    if (!this.shared) this.perConnection.set(conn, served);
  }

  /** Redis' protected mode: `protected-mode yes`, no password for the default user, and a non-local peer. */
  protectedModeRefuses(remoteAddress: string | undefined): boolean {
    return this.protectedMode && !isLocalAddress(remoteAddress);
  }

  /** Protected mode is in force: only local clients are served. */
  get protectedMode(): boolean {
    return this.config.get('protected-mode') === 'yes' && this.auth.passwordless;
  }

  private readonly idleTimer: NodeJS.Timeout;

  private closeIdle(): void {
    const secs = Number(this.config.get('timeout'));
    if (!(secs > 0)) return;
    const now = Date.now();
    for (const c of this.connections) {
      if (c.idleFor(secs * 1000, now)) {
        log('client %d closed: idle for more than %d seconds (timeout)', c.client.id, secs);
        c.destroy();
      }
    }
  }

  private closed(conn: Connection): void {
    this.connections.delete(conn);
    const s = this.perConnection.get(conn);
    if (s) {
      this.perConnection.delete(conn);
      this.teardown(s);
    }
  }

  private teardown(s: Served): void {
    existingReplication(s.context)?.close();
    s.detach();
    s.dispatcher.close();
    if (s.owned) s.context.close();
  }

  /** Starts listening; resolves with the address. */
  listen(): Promise<net.AddressInfo | string> {
    return new Promise((resolve, reject) => {
      const onErr = (e: Error): void => reject(e);
      this.net.once('error', onErr);
      const done = (): void => {
        this.net.off('error', onErr);
        const a = this.address();
        log('listening on %o', a);
        resolve(a!);
      };
      if (this.opts.path) this.net.listen(this.opts.path, done);
      else this.net.listen(this.opts.port ?? 6380, this.opts.host ?? '127.0.0.1', done);
    });
  }

  address(): net.AddressInfo | string | null {
    return this.net.address();
  }

  /** Number of open client connections. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Stops listening and closes every connection; the shared context is closed if the server created it. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private closing: Promise<void> | null = null;

  private async doClose(): Promise<void> {
    clearInterval(this.idleTimer);
    clearInterval(this.cron);
    const closing = new Promise<void>((resolve) => this.net.close(() => resolve()));
    for (const c of [...this.connections]) c.destroy();
    await closing;
    if (this.shared) this.teardown(this.shared);
  }
}

/** Default `maxmemory-clients`: three clients sending 512 MiB bulks must not take the process past 1 GB. */
export const DEFAULT_MAX_CLIENTS_MEMORY = 512 * 1024 * 1024;

/** `maxmemory-clients` in bytes; a percentage (of maxmemory, as in Redis) is not supported and turns it off. */
function clientsMemoryLimit(v: string | undefined): number {
  const n = Number(v ?? 0);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

export function createServer(opts: BeamServerOptions = {}): BeamServer {
  return new BeamServer(opts);
}
