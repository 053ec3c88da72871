import { Buffer } from 'node:buffer';
import { debuglog } from 'node:util';
import type { CommandSpec, FlushEvent, KeyspaceEvent } from '../../context/api.js';
import type { ClientRegistry, Dispatcher, DispatchClient } from '../../context/dispatch.js';
import { RespPush, type Reply } from '../../wire/reply.js';
import { keyArgs } from '../commands/command.js';
import type { ClientTracking } from '../../context/client-tracking.js';

export type { ClientTracking };

const debug = debuglog('beamgate:tracking');

/** The RESP2 pub/sub channel invalidations go to when a client redirects them (Redis' TrackingChannelName). */
export const INVALIDATE_CHANNEL = Buffer.from('__redis__:invalidate');

/** Default of CONFIG tracking-table-max-keys (Redis 7.0). */
export const DEFAULT_TRACKING_TABLE_MAX_KEYS = 1000000;


export interface TrackingOptions {
  bcast: boolean;
  optin: boolean;
  optout: boolean;
  noloop: boolean;
}

/** Clients subscribed to one BCAST prefix, and the keys under it changed since the last broadcast. */
interface PrefixState {
  readonly clients: Set<DispatchClient>;
  /** Changed key -> the client that changed it last (NOLOOP), null for server-side changes (expiry). */
  keys: Map<string, DispatchClient | null>;
}

type Executed = (c: DispatchClient, spec: CommandSpec, argv: Buffer[]) => void;

/** Script commands whose declared keys are tracked when the script read something (Redis' script_caller rule). */
const SCRIPT_COMMANDS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);
/** Read-only script commands are not tracked for their own sake, only through the reads they make. */
const RO_SCRIPTS = new Set(['eval_ro', 'evalsha_ro', 'fcall_ro']);

/**
 * Server-assisted client-side caching (CLIENT TRACKING) for the clients of one dispatcher, as Redis 7.0's
 * tracking.c: a table key -> ids of the clients that read it (keys are not per database, as in Redis), BCAST
 * prefixes with the keys changed under them, invalidation as RESP3 pushes or, redirected to a RESP2 client
 * subscribed to `__redis__:invalidate`, as pub/sub messages.
 *
 * It listens to the context's 'keyspace'/'flush' events and to the dispatcher's executed-command hook only while
 * some client tracks. Invalidations for a client that is running a command (or blocked in one) are sent after that
 * command's reply, as Redis' tracking_pending_keys does. The table holds at most `tracking-table-max-keys` keys:
 * over it, the oldest keys are dropped and their clients told, as if the keys had changed.
 */
export class Tracking {
  /** Clients of this dispatcher with tracking on. */
  private readonly tracked = new Set<DispatchClient>();
  /** Client ids per tracked key, summed (INFO tracking_total_items). */
  items = 0;
  private readonly table = new Map<string, Set<number>>();
  private readonly prefixTable = new Map<string, PrefixState>();
  private attached = false;
  private broadcastScheduled = false;
  private limitScheduled = false;
  /** A script's redis.call ran a read-only command: its caller's declared keys are tracked when the script ends. */
  private scriptRead = false;
  private monitorFeed: Executed | null = null;
  private readonly onKeyspace = (e: KeyspaceEvent): void => {
    if (e.cls !== 'n') this.invalidateKey(e.key.toString('latin1'), true);
  };
  private readonly onFlush = (_e: FlushEvent): void => this.invalidateAll();
  private readonly onExecuted: Executed = (c, spec, argv) => this.executed(c, spec, argv);
  private readonly onConfig = (key: string): void => {
    if (key === 'tracking-table-max-keys') this.scheduleLimit();
  };

  constructor(private readonly d: Dispatcher) {
    d.onClose.push(() => this.detach());
  }

  /** Clients with tracking on (INFO tracking_clients). */
  get clients(): number {
    return this.tracked.size;
  }

  /** Keys in the table (INFO tracking_total_keys). */
  get keys(): number {
    return this.table.size;
  }

  /** BCAST prefixes with at least one client (INFO tracking_total_prefixes). */
  get prefixes(): number {
    return this.prefixTable.size;
  }

  /** MONITOR's executed-command hook: both it and tracking's run from Dispatcher.onExecuted. */
  setMonitorFeed(feed: Executed | null): void {
    this.monitorFeed = feed;
    this.installHook();
  }

  /**
   * CLIENT TRACKING ON with options already validated (see trackingCommand). Turning it on again keeps the table
   * entries and adds BCAST prefixes, as Redis does.
   */
  enable(c: DispatchClient, redirect: number, o: TrackingOptions, prefixes: Buffer[]): void {
    let t = c.tracking;
    if (t === null) {
      t = c.tracking = { redirect, bcast: false, optin: false, optout: false, noloop: false, caching: false, brokenRedirect: false, prefixes: new Set() };
      this.tracked.add(c);
    }
    t.redirect = redirect;
    t.brokenRedirect = false;
    t.bcast = o.bcast;
    t.optin = o.optin;
    t.optout = o.optout;
    t.noloop = o.noloop;
    if (o.bcast) {
      if (prefixes.length === 0) this.addPrefix(c, t, '');
      for (const p of prefixes) this.addPrefix(c, t, p.toString('latin1'));
    }
    this.attach();
  }

  /** CLIENT TRACKING OFF, RESET, and a closing connection. */
  disable(c: DispatchClient): void {
    const t = c.tracking;
    if (t === null) return;
    for (const p of t.prefixes) {
      const st = this.prefixTable.get(p);
      if (st === undefined) continue;
      st.clients.delete(c);
      if (st.clients.size === 0) this.prefixTable.delete(p);
    }
    c.tracking = null;
    this.tracked.delete(c);
    if (this.tracked.size === 0) {
      // Nobody reads the table any more: every entry would be skipped when its key changes.
      this.table.clear();
      this.items = 0;
      this.detach();
    }
  }

  private addPrefix(c: DispatchClient, t: ClientTracking, p: string): void {
    let st = this.prefixTable.get(p);
    if (st === undefined) this.prefixTable.set(p, (st = { clients: new Set(), keys: new Map() }));
    st.clients.add(c);
    t.prefixes.add(p);
  }

  private attach(): void {
    if (this.attached || this.d.context === undefined) return;
    this.attached = true;
    this.d.context.on('keyspace', this.onKeyspace);
    this.d.context.on('flush', this.onFlush);
    this.d.config.on('change', this.onConfig);
    this.installHook();
    debug('tracking on');
  }

  private detach(): void {
    if (!this.attached || this.d.context === undefined) return;
    this.attached = false;
    this.d.context.off('keyspace', this.onKeyspace);
    this.d.context.off('flush', this.onFlush);
    this.d.config.off('change', this.onConfig);
    this.installHook();
    debug('tracking off');
  }

  private installHook(): void {
    const feed = this.monitorFeed;
    const own = this.attached ? this.onExecuted : null;
    this.d.onExecuted = feed !== null && own !== null ? (c, s, a) => {
      feed(c, s, a);
      own(c, s, a);
    } : feed ?? own;
  }

  /** After every executed command while some client tracks: remembers what a tracking client read. */
  private executed(c: DispatchClient, spec: CommandSpec, argv: Buffer[]): void {
    if (c.script) {
      if (spec.flags.includes('readonly')) this.scriptRead = true;
      return;
    }
    const t = c.tracking;
    if (t !== null) {
      if (!t.bcast && !spec.flags.includes('pubsub') && (t.optin ? t.caching : !(t.optout && t.caching))) {
        if (SCRIPT_COMMANDS.has(spec.name) ? this.scriptRead : spec.flags.includes('readonly') && !RO_SCRIPTS.has(spec.name)) {
          this.remember(c, spec, argv);
        }
      }
      // CLIENT CACHING covers the next command, or the next transaction as a whole.
      if (!c.inExec && c.multi === null && spec.name !== 'client') t.caching = false;
    }
    if (SCRIPT_COMMANDS.has(spec.name)) this.scriptRead = false;
  }

  private remember(c: DispatchClient, spec: CommandSpec, argv: Buffer[]): void {
    const keys = keyArgs(spec, argv);
    if (keys === null || keys.length === 0) return;
    for (const k of keys) {
      const key = k.toString('latin1');
      let ids = this.table.get(key);
      if (ids === undefined) this.table.set(key, (ids = new Set()));
      if (!ids.has(c.id)) {
        ids.add(c.id);
        this.items++;
      }
    }
    if (this.table.size > this.maxKeys()) this.scheduleLimit();
  }

  private maxKeys(): number {
    const v = Number(this.d.config.get('tracking-table-max-keys') ?? DEFAULT_TRACKING_TABLE_MAX_KEYS);
    return Number.isFinite(v) && v > 0 ? v : Infinity;
  }

  /**
   * A key changed (or, bcast false, was dropped from a full table): clients that read it are told once and
   * forgotten for it; with bcast, BCAST clients of matching prefixes hear about it at the next broadcast.
   */
  invalidateKey(key: string, bcast: boolean): void {
    const current = this.d.registry.current;
    if (bcast && this.prefixTable.size > 0 && !(this.d.context?.isHidden?.(key) ?? false)) {
      for (const [p, st] of this.prefixTable) {
        if (key.startsWith(p)) {
          st.keys.set(key, current);
          this.scheduleBroadcast();
        }
      }
    }
    const ids = this.table.get(key);
    if (ids === undefined) return;
    this.table.delete(key);
    this.items -= ids.size;
    let keyReply: Reply[] | null = null;
    for (const id of ids) {
      const target = this.d.registry.clients.get(id);
      const t = target?.tracking;
      // Clients that turned tracking off, or switched to BCAST, since they read the key are skipped.
      if (target === undefined || t == null || t.bcast) continue;
      if (t.noloop && target === current) continue;
      this.send(target, (keyReply ??= [Buffer.from(key, 'latin1')]));
    }
  }

  /** FLUSHALL/FLUSHDB (and SWAPDB): every tracking client gets a null invalidation ("all keys"), the table empties. */
  private invalidateAll(): void {
    for (const c of this.tracked) this.send(c, null);
    this.table.clear();
    this.items = 0;
  }

  /** Redis' sendTrackingMessage: to the client or its redirection, as a RESP3 push or a RESP2 pub/sub message. */
  private send(c: DispatchClient, keys: Reply[] | null): void {
    const t = c.tracking!;
    let target = c;
    if (t.redirect !== 0) {
      const r = this.d.registry.clients.get(t.redirect);
      if (r === undefined || r.closed || r.closeAfterReply) {
        t.brokenRedirect = true;
        if (c.resp === 3) pushAfterReply(this.d.registry, c, new RespPush(['tracking-redir-broken', t.redirect]));
        return;
      }
      target = r;
    }
    if (target.resp === 3) pushAfterReply(this.d.registry, target, new RespPush(['invalidate', keys]));
    // RESP2 has no pushes: only a redirection target in pub/sub mode can be told.
    else if (target !== c && target.subscriptionCount > 0) pushAfterReply(this.d.registry, target, ['message', INVALIDATE_CHANNEL, keys]);
  }

  private scheduleBroadcast(): void {
    if (this.broadcastScheduled) return;
    this.broadcastScheduled = true;
    // Redis broadcasts in beforeSleep: once per event-loop turn, after the commands of that turn.
    setImmediate(() => {
      this.broadcastScheduled = false;
      this.broadcast();
    });
  }

  private broadcast(): void {
    for (const st of this.prefixTable.values()) {
      if (st.keys.size === 0) continue;
      const changed = st.keys;
      st.keys = new Map();
      let all: Reply[] | null = null;
      for (const c of st.clients) {
        if (c.tracking === null) continue;
        if (c.tracking.noloop) {
          const own: Reply[] = [];
          for (const [k, by] of changed) if (by !== c) own.push(Buffer.from(k, 'latin1'));
          if (own.length > 0) this.send(c, own);
        } else {
          this.send(c, (all ??= [...changed.keys()].map((k) => Buffer.from(k, 'latin1'))));
        }
      }
    }
  }

  private scheduleLimit(): void {
    if (this.limitScheduled) return;
    this.limitScheduled = true;
    // Redis checks the limit before each command and in serverCron; here right after the command that grew the table.
    setImmediate(() => {
      this.limitScheduled = false;
      this.limit();
    });
  }

  /** Drops keys (oldest first) until the table is within tracking-table-max-keys, telling their clients. */
  limit(): void {
    const max = this.maxKeys();
    for (const key of this.table.keys()) {
      if (this.table.size <= max) break;
      this.invalidateKey(key, false);
    }
  }
}

/**
 * Sends a push so that it never comes before the reply of a command of the client that caused it: held until the reply
 * of the command the client is running; for a client blocked in a command, sent after the current turn of promise
 * callbacks (a blocked command being served right now writes its reply in one of them), so a blocked client still gets
 * others' invalidations at once; otherwise sent now.
 */
function pushAfterReply(reg: ClientRegistry, c: DispatchClient, r: Reply): void {
  if (c === reg.current) (c.heldPushes ??= []).push(r);
  else if (c.busy) setImmediate(() => c.onPush?.(r));
  else c.onPush?.(r);
}

const trackers = new WeakMap<Dispatcher, Tracking>();

/** The Tracking of a dispatcher (created on first use). */
export function trackingFor(d: Dispatcher): Tracking {
  let t = trackers.get(d);
  if (t === undefined) trackers.set(d, (t = new Tracking(d)));
  return t;
}
