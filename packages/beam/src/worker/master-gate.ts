/**
 * Holds a worker's job traffic while its connections may not all reach the current master (docs/scale-out.md §5).
 * A worker has several connections (commands, lease, keyspace subscriber); after a Sentinel failover they follow
 * `+switch-master` one by one, and until Sentinel converts it (about ten seconds later) the demoted master still
 * answers as a master, from its stale dataset. So whenever a connection closes, reconnects or meets a `READONLY`
 * reply, the gate closes, and it opens again only once every connection is ready on the same server, that server
 * answers `ROLE` master (on the command and lease connections; a subscriber can only be compared by address), and —
 * behind Sentinel — it is the master the Sentinels name. Connections found elsewhere are made to reconnect. The
 * same check runs on every reconciliation pass, so a connection that missed the switch is caught within one pass.
 *
 * Events: 'closed' (reason), 'opened' (runId), 'warning' (text).
 */
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { debuglog } from 'node:util';
import { Redis } from 'ioredis';
import type { HostPort } from './target.js';

export interface MasterGateOptions {
  /** The command connection: ROLE, INFO and the reference address. */
  main: Redis;
  /** Every other connection that reads or writes job data (ROLE is asked on each). */
  others: () => Redis[];
  /** Subscribers (they cannot run ROLE while subscribed: compared by address only). */
  subscribers: () => Redis[];
  /** Behind Sentinel: where the Sentinels say the master is. */
  sentinels?: { hosts: HostPort[]; name: string };
  /**
   * The gate found a server other than the one it last opened on (a failover, or a restart: `run_id` changed).
   * Runs before the gate opens; a rejection keeps it closed and the check is retried.
   */
  switched: (previousRunId: string, runId: string) => Promise<void>;
}

interface Peer {
  address: string;
  port: number;
}

const debug = debuglog('beamgate:worker');

/** Retry period of the check while the gate is closed. */
const RETRY_MS = 100;
/** A check that has not finished by then (a command stuck on a dying connection) counts as failed. */
const CHECK_TIMEOUT_MS = 5000;

/** One host name may reach the same loopback server over IPv4 on one connection and IPv6 on another. */
function normAddress(a: string): string {
  const v4 = a.replace(/^::ffff:/, '');
  return v4 === '::1' || v4.startsWith('127.') ? 'loopback' : v4;
}

function peerOf(r: Redis): Peer | undefined {
  const s = (r as unknown as { stream?: { remoteAddress?: string; remotePort?: number } }).stream;
  if (!s?.remoteAddress || !s.remotePort) return undefined;
  return { address: normAddress(s.remoteAddress), port: s.remotePort };
}

function samePeer(a: Peer | undefined, b: Peer | undefined): boolean {
  return a?.address === b?.address && a?.port === b?.port;
}

/** A Sentinel may name the master by host name (announce-hostnames): then only the port can be compared. */
function isAt(p: Peer | undefined, where: HostPort): boolean {
  if (!p) return true; // unix socket: nothing to compare
  if (p.port !== where.port) return false;
  return isIP(where.host) === 0 || normAddress(where.host) === p.address;
}

function roleOf(reply: unknown): string {
  return Array.isArray(reply) ? String(reply[0]) : '';
}

export class MasterGate extends EventEmitter {
  private isOpen = false;
  private epochN = 0;
  private waiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<boolean> | undefined;
  private stopped = false;
  private lastRunId = '';
  private readonly sentinelClients: Redis[] = [];

  constructor(private readonly o: MasterGateOptions) {
    super();
    for (const h of o.sentinels?.hosts ?? []) {
      const c = new Redis({ ...h, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 2000, retryStrategy: () => 1000 });
      c.on('error', () => {});
      this.sentinelClients.push(c);
    }
  }

  get open(): boolean {
    return this.isOpen;
  }

  /** Increments whenever a connection may have moved: work begun under one epoch is re-checked if it changed. */
  get epoch(): number {
    return this.epochN;
  }

  /** `run_id` of the master the gate last opened on. */
  get runId(): string {
    return this.lastRunId;
  }

  whenOpen(): Promise<void> {
    if (this.isOpen || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Closes the gate when `r` closes or reconnects; its 'ready' triggers a check. */
  watch(r: Redis): void {
    r.on('close', () => this.suspect('a connection closed'));
    r.on('reconnecting', () => this.suspect('a connection is reconnecting'));
    r.on('ready', () => this.schedule(0));
  }

  /** Something suggests a connection may not reach the master: stop until the check passes. */
  suspect(reason: string): void {
    if (this.stopped) return;
    // Every suspicion counts, open or not: a check that began before it is worthless.
    this.epochN++;
    if (this.isOpen) {
      this.isOpen = false;
      this.emit('closed', reason);
    }
    debug('gate closed: %s', reason);
    this.schedule(RETRY_MS);
  }

  /** The periodic check (reconciliation pass): true when the gate is (still or again) open. */
  async check(): Promise<boolean> {
    if (this.stopped) return false;
    if (!this.checking) {
      let t: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>((resolve) => {
        t = setTimeout(() => {
          debug('gate check timed out');
          resolve(false);
        }, CHECK_TIMEOUT_MS);
      });
      // A late result of a timed-out check is ignored by verify itself: the epoch it started in is re-compared.
      this.checking = Promise.race([this.verify().catch(() => false), late]).then((ok) => {
        clearTimeout(t);
        this.checking = undefined;
        // Closed: try again soon (connections that become ready also trigger a check).
        if (!ok) this.schedule(RETRY_MS);
        return ok;
      });
    }
    return this.checking;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const c of this.sentinelClients) c.disconnect();
    // Waiters are released so that nothing hangs on a closed worker; their commands then fail or are dropped.
    for (const w of this.waiters.splice(0)) w();
  }

  private schedule(ms: number): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.check();
    }, ms);
  }

  private async verify(): Promise<boolean> {
    const epoch = this.epochN;
    const why = await this.problem().catch((e: unknown) => `check failed: ${(e as Error).message}`);
    if (why !== undefined) {
      this.suspect(why);
      return false;
    }
    if (this.isOpen) return true;
    const runId = await this.serverRunId().catch(() => '');
    if (runId === '') return false;
    if (this.lastRunId !== '' && runId !== this.lastRunId) {
      try {
        await this.o.switched(this.lastRunId, runId);
      } catch (e) {
        this.emit('warning', `re-checking jobs on the new master failed: ${(e as Error).message}`);
        return false;
      }
    }
    // A connection that closed meanwhile makes this check worthless.
    if (this.epochN !== epoch || this.stopped || (await this.problem().catch(() => 'check failed')) !== undefined) return false;
    this.lastRunId = runId;
    this.isOpen = true;
    for (const w of this.waiters.splice(0)) w();
    this.emit('opened', runId);
    return true;
  }

  /** Why the connections cannot be trusted yet (undefined: they all reach the master). */
  private async problem(): Promise<string | undefined> {
    const { main } = this.o;
    const others = this.o.others();
    const subs = this.o.subscribers();
    const all = [main, ...others, ...subs];
    if (all.some((c) => c.status !== 'ready')) return 'a connection is not ready';
    const where = await this.sentinelMaster();
    const ref = peerOf(main);
    if (where && !isAt(ref, where)) {
      main.disconnect(true);
      return `the command connection is not on the master ${where.host}:${where.port}`;
    }
    let why: string | undefined;
    for (const c of [...others, ...subs]) {
      if (!samePeer(peerOf(c), ref)) {
        c.disconnect(true);
        why = 'a connection is on another server';
      }
    }
    if (why) return why;
    const conns = [main, ...others];
    const roles = await Promise.all(conns.map((c) => c.call('ROLE')));
    const replicas = conns.filter((_, i) => roleOf(roles[i]) !== 'master');
    if (replicas.length === 0) return undefined;
    // Behind Sentinel a reconnection finds the master; a standalone URL naming a replica stays closed.
    if (where) for (const c of replicas) c.disconnect(true);
    return 'a connection reaches a replica';
  }

  private async serverRunId(): Promise<string> {
    const info = String(await this.o.main.call('INFO', 'server'));
    return /run_id:([0-9a-f]+)/.exec(info)?.[1] ?? '';
  }

  /** The master's address by the first Sentinel that answers (undefined without Sentinels or when none does). */
  private async sentinelMaster(): Promise<HostPort | undefined> {
    const name = this.o.sentinels?.name;
    if (name === undefined) return undefined;
    for (const c of this.sentinelClients) {
      try {
        if (c.status === 'wait' || c.status === 'end') await c.connect();
        const r = (await c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as unknown;
        if (Array.isArray(r) && r.length === 2) return { host: String(r[0]), port: Number(r[1]) };
      } catch {
        // try the next Sentinel
      }
    }
    return undefined;
  }
}
