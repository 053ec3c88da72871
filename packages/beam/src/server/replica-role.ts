import { debuglog } from 'node:util';
import { BeamMirror } from '../client/sync-client.js';
import type { CommandSpec } from '../context/api.js';
import type { ServerConfig } from '../context/config.js';
import type { Context } from '../context/context.js';
import type { DispatchClient, Dispatcher, ReplicationGate } from '../context/dispatch.js';
import { ErrorReply, OK, SimpleString, type Reply } from '../wire/reply.js';
import type { FollowerView, ReplicationMaster } from './replication.js';
import { spec } from './commands/spec.js';

const debug = debuglog('beamgate:sync');

const E_READONLY = "READONLY You can't write against a read only replica.";
const E_MASTERDOWN = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";
const E_NOMASTERLINK = "NOMASTERLINK Can't SYNC while not connected with my master";
const E_NOREPLICAS = 'NOREPLICAS Not enough good replicas to write.';
const ALREADY = new SimpleString('OK Already connected to specified master');

/** Delay between attempts to reach the master (Redis' replicationCron runs once a second). */
const RECONNECT_DELAY_MS = 1000;

type Lines = Array<[string, string | number]>;

/**
 * The replica role of a served context, as Redis 7.0's REPLICAOF/SLAVEOF: the server follows a master with a
 * BeamMirror loading into its own context (full sync, then the command stream, PSYNC after a lost link), refuses
 * writes of ordinary clients with READONLY (`replica-read-only yes`), answers MASTERDOWN while the link is down with
 * `replica-serve-stale-data no`, and becomes a master again, keeping its data, with `REPLICAOF NO ONE`.
 * As a master it enforces `min-replicas-to-write` (NOREPLICAS). The dispatcher's roleCheck is set only while one of
 * these applies, so a plain master pays nothing per command.
 */
export class ReplicaRole implements FollowerView {
  host: string | null = null;
  port = 0;
  private mirror: BeamMirror | null = null;
  /** Date.now() since when the link is down (INFO master_link_down_since_seconds). */
  private downSince = 0;
  /** min-replicas-to-write, 0 when min-replicas-max-lag is 0 (Redis' checkGoodReplicasStatus). */
  private minReplicas = 0;
  private readonly onConfig = (): void => {
    const n = Number(this.config.get('min-replicas-to-write'));
    this.minReplicas = Number(this.config.get('min-replicas-max-lag')) > 0 && n > 0 ? n : 0;
    this.updateCheck();
  };

  constructor(
    private readonly context: Context,
    private readonly dispatcher: Dispatcher,
    private readonly master: ReplicationMaster,
    private readonly config: ServerConfig,
  ) {
    config.on('change', this.onConfig);
    this.onConfig();
  }

  private updateCheck(): void {
    const on = this.host !== null || this.minReplicas > 0;
    this.dispatcher.roleCheck = on ? (c, s) => this.check(c as DispatchClient, s) : null;
    this.dispatcher.replicationState = on ? () => this.gate() : null;
  }

  private gate(): ReplicationGate {
    const replica = this.host !== null;
    return {
      readonlyReplica: replica && this.config.get('replica-read-only') !== 'no',
      stale: replica && !this.linkUp && this.config.get('replica-serve-stale-data') === 'no',
      noReplicas: !replica && this.minReplicas > 0 && this.goodReplicas() < this.minReplicas,
    };
  }

  /** Replicas online whose last ACK is at most min-replicas-max-lag seconds old. */
  private goodReplicas(): number {
    const maxLag = Number(this.config.get('min-replicas-max-lag'));
    return this.master.replicas().filter((r) => r.state === 'online' && r.lagSeconds <= maxLag).length;
  }

  private get linkUp(): boolean {
    return this.mirror?.state === 'streaming';
  }

  /** REPLICAOF host port: demotes (or switches masters) and starts syncing; the reply does not wait for the link. */
  follow(host: string, port: number): Reply {
    if (this.host !== null && this.host.toLowerCase() === host.toLowerCase() && this.port === port) return ALREADY;
    this.stopMirror();
    this.host = host;
    this.port = port;
    this.downSince = Date.now();
    this.context.replica = true;
    this.master.dropReplicas();
    this.master.follower = this;
    this.updateCheck();
    const password = this.config.get('masterauth') ?? '';
    const mirror = new BeamMirror({ kind: 'tcp', host, port }, {
      context: this.context,
      reconnectDelayMs: RECONNECT_DELAY_MS,
      ...(password !== '' ? { password } : {}),
    });
    mirror.on('disconnect', (e) => {
      this.downSince = Date.now();
      debug('link with master %s:%d down: %s', host, port, e.message);
    });
    // A full resync replaced the dataset: replicas of this server must resync too (Redis disconnects them).
    mirror.on('ready', () => this.master.dropReplicas());
    this.mirror = mirror.follow();
    debug('replica of %s:%d', host, port);
    return OK;
  }

  /** REPLICAOF NO ONE: a master again, with the data as it is now. */
  promote(): Reply {
    if (this.host === null) return OK;
    this.stopMirror();
    this.host = null;
    this.port = 0;
    this.context.replica = false;
    this.master.dropReplicas();
    this.master.follower = null;
    this.updateCheck();
    debug('master again');
    return OK;
  }

  private stopMirror(): void {
    const m = this.mirror;
    this.mirror = null;
    if (m !== null) void m.close();
  }

  /** Redis' processCommand checks of the replication state: EXEC is judged by its queued commands. */
  private check(c: DispatchClient, s: CommandSpec): ErrorReply | null {
    const exec = s.name === 'exec' && c.multi !== null;
    let write = s.flags.includes('write');
    let denyStale = !s.flags.includes('stale');
    if (exec) {
      for (const argv of c.multi!) {
        const q = this.dispatcher.lookup(argv[0]!);
        if (q === undefined) continue;
        if (q.flags.includes('write')) write = true;
        if (!q.flags.includes('stale')) denyStale = true;
      }
    }
    const sync = s.name === 'sync' || s.name === 'psync';
    if (!write && !denyStale && !sync) return null;
    const gate = this.gate();
    let refused: string | null = null;
    if (write && gate.noReplicas) refused = E_NOREPLICAS;
    else if (write && gate.readonlyReplica) refused = E_READONLY;
    else if (denyStale && gate.stale) refused = E_MASTERDOWN;
    else if (sync && this.host !== null && !this.linkUp) refused = E_NOMASTERLINK;
    // A refused EXEC discards the transaction (Dispatcher.reject: EXECABORT with this reason).
    return refused === null ? null : new ErrorReply(refused);
  }

  /** ROLE of a replica: slave, master host, port, link state, processed offset (-1 before the link is up). */
  role(): Reply {
    const m = this.mirror;
    const state = m === null ? 'connect' : m.state === 'streaming' ? 'connected' : m.state === 'loading' ? 'sync' : m.state === 'connecting' ? 'connecting' : 'connect';
    return ['slave', this.host ?? '', this.port, state, this.linkUp ? m!.offset : -1];
  }

  /** INFO replication of a replica, in Redis 7.0's order; `own` is the master-side section of this server. */
  info(own: Lines): Lines {
    const m = this.mirror;
    const now = Date.now();
    const offset = m !== null && m.offset >= 0 ? m.offset : 0;
    const lines: Lines = [
      ['role', 'slave'],
      ['master_host', this.host ?? ''],
      ['master_port', this.port],
      ['master_link_status', this.linkUp ? 'up' : 'down'],
      ['master_last_io_seconds_ago', m !== null && m.lastIoAt > 0 && m.state !== 'disconnected' ? Math.floor((now - m.lastIoAt) / 1000) : -1],
      ['master_sync_in_progress', m?.state === 'loading' ? 1 : 0],
      ['slave_read_repl_offset', offset],
      ['slave_repl_offset', offset],
    ];
    if (!this.linkUp) lines.push(['master_link_down_since_seconds', Math.floor((now - this.downSince) / 1000)]);
    lines.push(
      ['slave_priority', this.config.get('replica-priority') ?? '100'],
      ['slave_read_only', this.config.get('replica-read-only') === 'no' ? 0 : 1],
      ['replica_announced', this.config.get('replica-announced') === 'no' ? 0 : 1],
    );
    for (const [k, v] of own) {
      if (k === 'role') continue;
      // A replica reports its master's history: the replid and offset it has processed.
      if (k === 'master_replid' && m !== null && m.replId !== '?') lines.push([k, m.replId]);
      else if (k === 'master_repl_offset') lines.push([k, offset]);
      else lines.push([k, v]);
    }
    return lines;
  }

  /** Stops following (server shutdown). */
  close(): void {
    this.stopMirror();
    this.config.off('change', this.onConfig);
    this.dispatcher.roleCheck = null;
    this.dispatcher.replicationState = null;
    roles.delete(this.context);
  }
}

const roles = new WeakMap<Context, ReplicaRole>();

/** The replica role of a served context. */
export function existingReplicaRole(context: Context): ReplicaRole | undefined {
  return roles.get(context);
}

/** REPLICAOF and its old name SLAVEOF for one dispatcher and its context. */
export function replicaRoleCommands(dispatcher: Dispatcher, context: Context, master: ReplicationMaster, config: ServerConfig): CommandSpec[] {
  const role = new ReplicaRole(context, dispatcher, master, config);
  roles.set(context, role);
  const handler = (inv: Parameters<CommandSpec['handler']>[0]): Reply => {
    const host = inv.argv[1]!.toString();
    const portArg = inv.argv[2]!.toString();
    if (host.toLowerCase() === 'no' && portArg.toLowerCase() === 'one') return role.promote();
    const port = /^-?\d+$/.test(portArg) ? Number(portArg) : NaN;
    if (!Number.isInteger(port) || port < 0 || port > 65535) return new ErrorReply('ERR Invalid master port');
    return role.follow(host, port);
  };
  const flags = ['admin', 'noscript', 'stale', 'no_async_loading'];
  return [spec('replicaof', 3, flags, handler), spec('slaveof', 3, flags, handler)];
}
