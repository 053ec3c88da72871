import { Buffer } from 'node:buffer';
import { debuglog } from 'node:util';
import type { ClientState, CommandFilter, CommandInvocation, CommandResult, CommandSpec, FlushEvent, KeyspaceEvent } from './api.js';
import { hubFor, type PubSubHub } from './pubsub.js';
import { ServerConfig } from './config.js';
import { ErrorReply, QUEUED, type Reply } from '../wire/reply.js';
import { DispatchClient, type DispatchClientOptions } from './dispatch-client.js';
import { ClientRegistry, type CommandStats } from './client-registry.js';

export { DispatchClient, REPLY_OFF, REPLY_SKIP, REPLY_SKIP_NEXT, type ClientIo, type DispatchClientOptions } from './dispatch-client.js';
export { ClientRegistry, type CommandStats } from './client-registry.js';

const log = debuglog('beamgate:dispatch');

/** What the dispatcher needs from a Context: its command table and its change events. */
export interface DispatchContext {
  readonly commands?: Map<string, CommandSpec>;
  on(event: 'keyspace', listener: (e: KeyspaceEvent) => void): unknown;
  on(event: 'flush', listener: (e: FlushEvent) => void): unknown;
  off(event: 'keyspace', listener: (e: KeyspaceEvent) => void): unknown;
  off(event: 'flush', listener: (e: FlushEvent) => void): unknown;
  /** Beam's own keys (see ContextOptions.hiddenPrefixes). */
  isHidden?(key: string): boolean;
}

export interface DispatcherOptions {
  /** The store whose data commands (context.commands) are served and whose events drive WATCH. */
  context?: DispatchContext;
  /** Shared configuration (requirepass, notify-keyspace-events...). Default: a new ServerConfig. */
  config?: ServerConfig;
  /** Shared client registry. Default: a new one. */
  registry?: ClientRegistry;
  /** Key prefixes only internal clients may write. Default ['/beam']. */
  reservedPrefixes?: string[];
  /** Whether clients must authenticate first. Default: when `requirepass` is set. */
  authRequired?: () => boolean;
}

/** Redis 7.0's refusal of DEBUG unless enable-debug-command allows it (server.c, processCommand). */
const E_DEBUG_DISABLED = new ErrorReply('ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", '
  + 'you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.');

/** Commands an unauthenticated client may run (Redis' no-auth flag). */
const NO_AUTH = new Set(['auth', 'hello', 'quit', 'reset']);
/** Commands allowed in RESP2 subscribed mode. */
const SUBSCRIBED_OK = new Set(['subscribe', 'psubscribe', 'unsubscribe', 'punsubscribe', 'ssubscribe', 'sunsubscribe', 'ping', 'quit', 'reset']);
/** Commands that run at once inside MULTI instead of being queued. */
const MULTI_NOW = new Set(['exec', 'discard', 'multi', 'watch', 'quit', 'reset']);
const E_NO_MULTI = new ErrorReply('ERR Command not allowed inside a transaction');

/** Redis' allowProtectedAction(): `yes`, or `local` for a local client. */
export function allowProtected(setting: string | undefined, local: boolean): boolean {
  return setting === 'yes' || (setting === 'local' && local);
}

function unknownCommandError(argv: Buffer[]): ErrorReply {
  const cstr = (b: Buffer, max: number): string => {
    const nul = b.indexOf(0);
    return (nul >= 0 ? b.subarray(0, nul) : b).subarray(0, max).toString('latin1');
  };
  let args = '';
  for (let i = 1; i < argv.length && args.length < 128; i++) args += `'${cstr(argv[i]!, 128 - args.length)}' `;
  const msg = `ERR unknown command '${cstr(argv[0]!, 128)}', with args beginning with: ${args}`;
  return new ErrorReply(Buffer.from(msg, 'latin1').toString('utf8'));
}

export function arityError(name: string): ErrorReply {
  return new ErrorReply(`ERR wrong number of arguments for '${name}' command`);
}

function arityOk(arity: number, argc: number): boolean {
  return arity >= 0 ? argc === arity : argc >= -arity;
}

/** A registered command as the hot path sees it: its lower-case name bytes and precomputed checks. */
interface Slot {
  readonly name: Buffer;
  readonly spec: CommandSpec;
  /** A write command with key arguments: reserved-prefix checks apply. */
  readonly guarded: boolean;
  readonly stats: CommandStats;
}

/** FNV-1a over the ASCII-lower-cased bytes of a command name (Redis compares names case-insensitively). */
function nameHash(b: Buffer): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    h = Math.imul(h ^ (c >= 65 && c <= 90 ? c + 32 : c), 16777619);
  }
  return h & 0x3fffffff;
}

function sameName(lower: Buffer, b: Buffer): boolean {
  if (lower.length !== b.length) return false;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== lower[i]) return false;
  }
  return true;
}

function watchKey(db: number, key: Buffer): string {
  return `${db}\0${key.toString('latin1')}`;
}

/** Why writes or reads are refused now on this server (see Dispatcher.replicationState). */
export interface ReplicationGate {
  /** A replica with replica-read-only yes. */
  readonlyReplica: boolean;
  /** A replica whose link is down, with replica-serve-stale-data no. */
  stale: boolean;
  /** A master with fewer good replicas than min-replicas-to-write. */
  noReplicas: boolean;
}

/**
 * Routes argv vectors to CommandSpecs: lookup, arity, authentication, subscribed mode, MULTI queueing,
 * reserved keys and command filters, with Redis 7.0's checks in Redis' order and its error texts.
 * One dispatcher serves one Context; connection commands are registered next to the context's data
 * commands, and later packages (job engine, replication) add theirs with register()/addFilter().
 */
export class Dispatcher {
  readonly config: ServerConfig;
  readonly registry: ClientRegistry;
  readonly context: DispatchContext | undefined;
  readonly hub: PubSubHub;
  private readonly table = new Map<string, CommandSpec>();
  /** The table again, by nameHash of the name bytes: lookups of argv[0] need no string. */
  private readonly slots = new Map<number, Slot[]>();
  private readonly writes = new WeakSet<CommandSpec>();
  private readonly filters: CommandFilter[] = [];
  private readonly reserved: Buffer[];
  private readonly watchers = new Map<string, Set<DispatchClient>>();
  private readonly ownClients = new Set<DispatchClient>();
  private readonly needsAuth: (() => boolean) | undefined;
  /**
   * Called after every executed command (also inside EXEC; not for rejected or queued ones), with the client's db as
   * the command left it: MONITOR feeds. Null while nobody listens, so the hot path pays one comparison.
   */
  onExecuted: ((c: DispatchClient, spec: CommandSpec, argv: Buffer[]) => void) | null = null;
  /**
   * Set while a script runs past busy-reply-threshold (scripting/busy.ts): the BUSY reply for a command, or null
   * for the allow-busy ones.
   */
  busyCheck: ((spec: CommandSpec, argv: Buffer[]) => ErrorReply | null) | null = null;
  /**
   * Set while the server is a replica or enforces min-replicas-to-write (server/replica-role.ts): READONLY /
   * MASTERDOWN / NOREPLICAS for a command, also when it would be queued in MULTI, and for EXEC by its queued
   * commands; null for the allowed ones.
   */
  roleCheck: ((c: DispatchClient, spec: CommandSpec) => ErrorReply | null) | null = null;
  /** Set with roleCheck: the replication state scripts check (scriptPrepareForRun, scriptVerifyWriteCommandAllow). */
  replicationState: (() => ReplicationGate) | null = null;
  /**
   * ACL permission check (set by the server, see server/commands/acl.ts): the NOPERM reply, or null when the client's
   * user may run the command. `where`: 'toplevel' here, 'exec' for queued commands, 'lua' from scripts.
   */
  aclCheck: ((c: DispatchClient, spec: CommandSpec, argv: Buffer[], where: 'toplevel' | 'exec' | 'lua' | 'check', logAs?: DispatchClient) => ErrorReply | null) | null = null;
  private readonly onKeyspace = (e: KeyspaceEvent): void => this.touch(watchKey(e.db, e.key));
  private readonly onFlush = (e: FlushEvent): void => this.touchDb(e.db, e.existed);

  constructor(opts: DispatcherOptions = {}) {
    this.config = opts.config ?? new ServerConfig();
    this.registry = opts.registry ?? new ClientRegistry();
    this.context = opts.context;
    this.hub = hubFor(opts.context ?? this);
    this.reserved = (opts.reservedPrefixes ?? ['/beam']).map((p) => Buffer.from(p));
    this.needsAuth = opts.authRequired;
    if (this.context) {
      if (this.context.commands) this.register([...this.context.commands.values()]);
      this.context.on('flush', this.onFlush);
    }
  }

  /** Adds or replaces commands (by lower-case name). */
  register(specs: CommandSpec | Iterable<CommandSpec>): void {
    const list = Symbol.iterator in Object(specs) ? (specs as Iterable<CommandSpec>) : [specs as CommandSpec];
    for (const s of list) {
      this.table.set(s.name.toLowerCase(), s);
      if (s.flags.includes('write')) this.writes.add(s);
    }
    this.rebuildSlots();
  }

  unregister(name: string): boolean {
    const had = this.table.delete(name.toLowerCase());
    this.rebuildSlots();
    return had;
  }

  private rebuildSlots(): void {
    this.slots.clear();
    for (const [name, spec] of this.table) {
      const bytes = Buffer.from(name, 'latin1');
      const slot: Slot = { name: bytes, spec, guarded: spec.firstKey > 0 && this.writes.has(spec), stats: this.registry.statsOf(spec.name) };
      const h = nameHash(bytes);
      const bucket = this.slots.get(h);
      if (bucket) bucket.push(slot);
      else this.slots.set(h, [slot]);
    }
  }

  private find(name: Buffer): Slot | undefined {
    const bucket = this.slots.get(nameHash(name));
    if (bucket === undefined) return undefined;
    for (let i = 0; i < bucket.length; i++) if (sameName(bucket[i]!.name, name)) return bucket[i];
    return undefined;
  }

  lookup(name: string | Buffer): CommandSpec | undefined {
    if (typeof name !== 'string') return this.find(name)?.spec;
    return this.table.get(name) ?? this.table.get(name.toLowerCase());
  }

  /** Every registered command (COMMAND, COMMAND COUNT). */
  commands(): IterableIterator<CommandSpec> {
    return this.table.values();
  }

  /** Filters run before every execution (also inside EXEC), in registration order. Returns a remover. */
  addFilter(filter: CommandFilter): () => void {
    this.filters.push(filter);
    return () => {
      const i = this.filters.indexOf(filter);
      if (i >= 0) this.filters.splice(i, 1);
    };
  }

  /** True when AUTH is needed before other commands. */
  get authRequired(): boolean {
    if (this.needsAuth) return this.needsAuth();
    return (this.config.get('requirepass') ?? '') !== '';
  }

  /** A new client of this dispatcher (a connection, or an internal caller such as the job engine). */
  createClient(opts: DispatchClientOptions = {}): DispatchClient {
    const c = new DispatchClient({ ...opts, authenticated: opts.authenticated ?? (opts.internal === true || !this.authRequired) });
    this.registry.clients.set(c.id, c);
    this.registry.totalConnections++;
    this.ownClients.add(c);
    return c;
  }

  /** Forgets a closed client: aborts its blocking waits, drops watches and subscriptions. */
  release(c: DispatchClient): void {
    c.abort();
    this.unwatchAll(c);
    for (const ch of c.channels) this.hub.unsubscribe(c, Buffer.from(ch, 'latin1'));
    for (const p of c.patterns) this.hub.punsubscribe(c, Buffer.from(p, 'latin1'));
    c.channels.clear();
    c.patterns.clear();
    c.multi = null;
    this.registry.clients.delete(c.id);
    this.ownClients.delete(c);
  }

  /** Called by close(): resources that live as long as this dispatcher (a connection's script engine). */
  readonly onClose: Array<() => void> = [];

  /** Detaches from the context's events and releases every client created here. */
  close(): void {
    for (const fn of this.onClose.splice(0)) fn();
    for (const c of [...this.ownClients]) this.release(c);
    if (this.context) {
      if (this.watchers.size > 0) this.context.off('keyspace', this.onKeyspace);
      this.context.off('flush', this.onFlush);
    }
  }

  /**
   * Runs one command for a client. The result is a Promise only for commands that block; callers must
   * not start the client's next command before it settles (see call() for a serialized helper).
   */
  dispatch(c: DispatchClient, argv: Buffer[]): CommandResult {
    c.lastActive = Date.now();
    return this.route(c, argv);
  }

  /** dispatch() without stamping `c.lastActive` (a connection stamps it once per batch of commands). */
  route(c: DispatchClient, argv: Buffer[]): CommandResult {
    if (argv.length === 0) return new ErrorReply('ERR empty command');
    const slot = this.find(argv[0]!);
    if (slot === undefined) return this.reject(c, unknownCommandError(argv));
    const spec = slot.spec;
    const name = spec.name;
    c.lastCommand = name;
    const stats = slot.stats;
    if (!arityOk(spec.arity, argv.length)) return this.reject(c, arityError(name), stats);
    // Redis checks protected commands before authentication.
    if (name === 'debug' && !c.internal && !allowProtected(this.config.get('enable-debug-command'), c.local)) {
      return this.reject(c, E_DEBUG_DISABLED, stats);
    }
    if (!c.authenticated && !NO_AUTH.has(name)) {
      if (!this.authRequired) c.authenticated = true;
      else return this.reject(c, new ErrorReply('NOAUTH Authentication required.'), stats);
    }
    if (this.aclCheck !== null && !c.internal) {
      const denied = this.aclCheck(c, spec, argv, 'toplevel');
      if (denied !== null) return this.reject(c, denied, stats);
    }
    if (this.busyCheck !== null) {
      const busy = this.busyCheck(spec, argv);
      if (busy !== null) return this.reject(c, busy, stats);
    }
    if (this.roleCheck !== null && !c.internal) {
      const refused = this.roleCheck(c, spec);
      if (refused !== null) return this.reject(c, refused, stats);
    }
    if (c.resp === 2 && (c.channels.size > 0 || c.patterns.size > 0) && !SUBSCRIBED_OK.has(name)) {
      return this.reject(c, new ErrorReply(`ERR Can't execute '${name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`), stats);
    }
    if (c.multi !== null && !MULTI_NOW.has(name)) {
      if (spec.flags.includes('no_multi')) return this.reject(c, E_NO_MULTI, stats);
      c.multi.push(argv);
      return QUEUED;
    }
    return this.run(c, spec, slot.guarded, argv, stats);
  }

  /** Runs a looked-up command now: reserved keys, filters, then the handler (errors become -ERR). */
  execute(c: DispatchClient, spec: CommandSpec, argv: Buffer[]): CommandResult {
    return this.run(c, spec, spec.firstKey > 0 && this.writes.has(spec), argv, this.registry.statsOf(spec.name));
  }

  private run(c: DispatchClient, spec: CommandSpec, guarded: boolean, argv: Buffer[], stats: CommandStats): CommandResult {
    if (guarded && !c.internal && this.reserved.length > 0) {
      const bad = this.reservedKey(spec, argv);
      if (bad !== null) {
        // DEL/UNLINK: Beam's keys are not part of the user's keyspace, so they count as absent; the others go.
        if (spec.name !== 'del' && spec.name !== 'unlink') return new ErrorReply(`ERR key '${bad}' is reserved: keys under /beam are written by Beam only`);
        argv = argv.filter((k, i) => i === 0 || !this.isReserved(k));
        if (argv.length === 1) return 0;
      }
    }
    const inv = new Invocation(argv, c);
    const filters = this.filters;
    for (let i = 0; i < filters.length; i++) {
      const r = filters[i]!(inv, spec);
      if (r !== undefined) return r;
    }
    this.registry.totalCommands++;
    stats.calls++;
    let r: CommandResult;
    try {
      r = spec.handler(inv);
      if (r instanceof Promise) {
        r = r.then((v) => {
          if (v instanceof ErrorReply) this.failed(stats, v);
          return v;
        }, (e: unknown) => this.failed(stats, this.crash(spec, e)));
      }
    } catch (e) {
      r = this.crash(spec, e);
    }
    if (r instanceof ErrorReply) this.failed(stats, r);
    if (this.onExecuted !== null) this.onExecuted(c, spec, argv);
    return r;
  }

  /** A command that ran replied with an error: INFO failed_calls and errorstats. */
  private failed(stats: CommandStats, e: ErrorReply): ErrorReply {
    stats.failed++;
    this.registry.countError(e);
    return e;
  }

  /** Serialized calls for one client: each starts after the previous settled (internal clients). */
  call(c: DispatchClient, argv: Array<Buffer | string>): Promise<Reply> {
    const bufs = argv.map((a) => (typeof a === 'string' ? Buffer.from(a) : a));
    const prev = this.tails.get(c) ?? Promise.resolve(null);
    const next = prev.then(() => this.dispatch(c, bufs), () => this.dispatch(c, bufs));
    this.tails.set(c, next);
    void next.finally(() => {
      if (this.tails.get(c) === next) this.tails.delete(c);
    });
    return next;
  }

  private readonly tails = new WeakMap<DispatchClient, Promise<Reply>>();

  private crash(spec: CommandSpec, e: unknown): ErrorReply {
    log('command %s failed: %o', spec.name, e);
    const m = e instanceof Error ? e.message : String(e);
    return new ErrorReply(/^[A-Z]+ /.test(m) ? m : `ERR ${m}`);
  }

  /** A command refused before running; `stats` once it was looked up (c.lastCommand is its name then). */
  private reject(c: DispatchClient, e: ErrorReply, stats?: CommandStats): ErrorReply {
    if (c.multi) {
      if (stats !== undefined && c.lastCommand === 'exec') {
        // Redis' rejectCommand on EXEC: execCommandAbort discards the transaction and says why.
        c.multi = null;
        c.multiDirty = false;
        this.unwatchAll(c);
        e = new ErrorReply(`EXECABORT Transaction discarded because of: ${e.message}`);
      } else c.multiDirty = true;
    }
    if (stats) stats.rejected++;
    this.registry.countError(e);
    return e;
  }

  private reservedKey(spec: CommandSpec, argv: Buffer[]): string | null {
    const last = spec.lastKey < 0 ? argv.length + spec.lastKey : spec.lastKey;
    const step = spec.step > 0 ? spec.step : 1;
    for (let i = spec.firstKey; i <= last && i < argv.length; i += step) {
      const k = argv[i]!;
      if (this.isReserved(k)) return k.toString();
    }
    return null;
  }

  private isReserved(k: Buffer): boolean {
    for (const p of this.reserved) {
      if (k.length >= p.length && k[0] === p[0] && k.compare(p, 0, p.length, 0, p.length) === 0) return true;
    }
    return false;
  }

  // ---- WATCH bookkeeping (used by the transaction commands) ----

  watch(c: DispatchClient, key: Buffer): void {
    const k = watchKey(c.db, key);
    if (c.watched.has(k)) return;
    c.watched.add(k);
    // The keyspace listener is attached only while something is watched: the context skips building
    // events nobody listens to.
    if (this.watchers.size === 0) this.context?.on('keyspace', this.onKeyspace);
    let set = this.watchers.get(k);
    if (!set) this.watchers.set(k, (set = new Set()));
    set.add(c);
  }

  unwatchAll(c: DispatchClient): void {
    for (const k of c.watched) {
      const set = this.watchers.get(k);
      if (set) {
        set.delete(c);
        if (set.size === 0) this.watchers.delete(k);
      }
    }
    c.watched.clear();
    c.watchDirty = false;
    if (this.watchers.size === 0) this.context?.off('keyspace', this.onKeyspace);
  }

  private touch(k: string): void {
    const set = this.watchers.get(k);
    if (set) for (const c of set) c.watchDirty = true;
  }

  private touchDb(db: number, existed?: (db: number, key: string) => boolean): void {
    for (const [k, set] of this.watchers) {
      if (db !== -1 && !k.startsWith(`${db}\0`)) continue;
      if (existed) {
        const sep = k.indexOf('\0');
        if (!existed(Number(k.slice(0, sep)), k.slice(sep + 1))) continue;
      }
      for (const c of set) c.watchDirty = true;
    }
  }
}

class Invocation implements CommandInvocation {
  propagated: Buffer[][] | null = null;
  constructor(readonly argv: Buffer[], readonly client: ClientState) {}
  propagate(commands: Buffer[][]): void {
    this.propagated = commands;
  }
}
