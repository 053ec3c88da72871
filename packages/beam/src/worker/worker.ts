/**
 * `beam worker`: the Beam job engine on a real Redis shared with other workers and gateways
 * (docs/scale-out.md). The engine is the one `beam serve` runs; this class supplies what a shared server needs
 * around it: discovery (notifications plus a reconciliation pass), claims under `/beam/claim/$id`, a lease
 * renewed in `/beam/workers`, the reaper for workers that died, and a published handler catalog.
 *
 * Events: 'claim' (id), 'exit' (id, status), 'reaped' (id, wid), 'lease-lost' (wid), 'registered' (wid),
 * 'config' (node, flags), 'warning' (text), 'paused' (reason) and 'resumed' (run id) around a failover or
 * reconnection, 'switched' (previous run id, run id, {given up, republished}) when the master changed.
 */
import { TypedEventEmitter } from '@beamgate/base';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { JobEngine } from '../jobs/engine.js';
import { JOBS_KEY, jobKey, parseJobKey } from '../jobs/keys.js';
import { DEFAULT_RETAIN_FINISHED_MS, DEFAULT_UNSTARTED_TTL_MS, type JobEngineOptions } from '../jobs/options.js';
import { readWorkerCatalog } from './catalog.js';
import { reassertClaims, RecentExits, republishExits } from './failover.js';
import { claimKey, WORKERS_KEY, workerExecKey, workerHandlersKey, workerJobsKey } from './keys.js';
import { MasterGate } from './master-gate.js';
import { Notifications } from './notifications.js';
import { claimRetainMs, Reaper, writeExit } from './reaper.js';
import { RedisJobContext } from './redis-context.js';
import { scripts } from './scripts.js';
import { connectRedis, isCluster, RedisTargetError, targetDb, whenReady, type RedisLike, type RedisTarget } from './target.js';
import { BeamOptionError } from '../errors.js';

export const DEFAULT_LEASE_MS = 10_000;
export const DEFAULT_RECONCILE_MS = 1000;

export interface WorkerOptions extends Omit<JobEngineOptions, 'shared'> {
  target: RedisTarget;
  /** A worker that has not renewed its lease for this long is dead: its jobs end with status 255. Default 10 s. */
  leaseMs?: number;
  /** Period of the reconciliation pass (missed notifications, capacity freed, reaping). Default 1 s. */
  reconcileIntervalMs?: number;
  /** Prefix of the worker id (default the host name). */
  name?: string;
  /** How long to wait for Redis at start. Default 10 s. */
  connectTimeoutMs?: number;
}

/** Exits re-checked after a failover: those of the last RECENT_EXITS_MS (at most RECENT_EXITS_MAX). */
const RECENT_EXITS_MS = 30_000;
const RECENT_EXITS_MAX = 10_000;

/** Events of a BeamWorker (see the file comment). */
export interface BeamWorkerEvents {
  claim: [id: number];
  exit: [id: number, status: number];
  reaped: [id: number, wid: string];
  'lease-lost': [wid: string];
  registered: [wid: string];
  config: [node: string, flags: string];
  warning: [text: string];
  paused: [reason: string];
  resumed: [runId: string];
  switched: [before: string, now: string, what: { givenUp: number[]; republished: number[] }];
}

export class BeamWorker extends TypedEventEmitter<BeamWorkerEvents> {
  readonly engine: JobEngine;
  readonly redis: RedisLike;
  /** Lease and catalog only: renewals never queue behind job traffic. */
  private readonly leaseConn: RedisLike;
  private readonly context: RedisJobContext;
  private readonly notes: Notifications;
  private readonly reaper: Reaper;
  /** Standalone and Sentinel targets: job traffic waits while a connection may not reach the master. */
  private readonly gate: MasterGate | undefined;
  private readonly recent = new RecentExits(RECENT_EXITS_MS, RECENT_EXITS_MAX);
  /** Running jobs a failover took from this worker: killed, their exit not published. */
  private readonly disowned = new Set<number>();
  /** Exits being published: a switch waits for them before it looks at what the new master has. */
  private readonly publishing = new Set<Promise<unknown>>();
  private readonly leaseMs: number;
  private readonly reconcileMs: number;
  private readonly retainMs: number;
  private readonly unstartedTtlMs: number;
  private readonly prefix: string;
  private readonly setChannel: string;
  private readonly spacePrefix: string;
  private wid = '';
  private registered = false;
  private closing = false;
  /** Claimed by this worker and not yet exited: id -> the worker id it was claimed under. */
  private readonly mine = new Map<number, string>();
  private readonly offering = new Set<number>();
  /** Ids seen created and not yet seen claimed or finished: id -> when first seen (ms). */
  private readonly candidates = new Map<number, number>();
  private seenLength: number | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private beating = false;
  private reconciling = false;
  private connectTimeoutMs = 10_000;

  private constructor(options: WorkerOptions) {
    super();
    const { target, leaseMs, reconcileIntervalMs, name, connectTimeoutMs: _t, ...engineOptions } = options;
    this.leaseMs = leaseMs ?? DEFAULT_LEASE_MS;
    this.reconcileMs = reconcileIntervalMs ?? DEFAULT_RECONCILE_MS;
    if (!(this.leaseMs >= 300)) throw new BeamOptionError('leaseMs must be >= 300');
    if (!(this.reconcileMs >= 10)) throw new BeamOptionError('reconcileIntervalMs must be >= 10');
    this.retainMs = engineOptions.retainFinishedMs ?? DEFAULT_RETAIN_FINISHED_MS;
    this.unstartedTtlMs = engineOptions.unstartedTtlMs ?? DEFAULT_UNSTARTED_TTL_MS;
    this.prefix = name ?? hostname();
    const db = targetDb(target);
    this.setChannel = `__keyevent@${db}__:set`;
    this.spacePrefix = `__keyspace@${db}__:`;
    this.redis = connectRedis(target);
    this.redis.on('error', () => {}); // ioredis reconnects; outages show as waiting commands
    this.leaseConn = isCluster(this.redis) ? this.redis.duplicate() : this.redis.duplicate();
    this.leaseConn.on('error', () => {});
    if (!isCluster(this.redis) && !isCluster(this.leaseConn)) {
      const main = this.redis;
      const lease = this.leaseConn;
      this.gate = new MasterGate({
        main,
        others: () => [lease],
        subscribers: () => this.notes.connections(),
        ...(target.kind === 'sentinel' ? { sentinels: { hosts: target.sentinels, name: target.name } } : {}),
        switched: (before, now) => this.switched(before, now),
      });
      this.gate.watch(main);
      this.gate.watch(lease);
      this.gate.on('closed', (reason: string) => this.emit('paused', reason));
      this.gate.on('opened', (runId: string) => {
        this.emit('resumed', runId);
        void this.heartbeat();
        void this.reconcile();
      });
      this.gate.on('warning', (text: string) => this.emit('warning', text));
    }
    this.context = new RedisJobContext(this.redis, this.gate);
    this.engine = new JobEngine(this.context, { ...engineOptions, shared: { finish: (id, status) => this.finish(id, status) } });
    this.engine.on('exit', (id: number, status: number) => this.exited(id, status));
    this.notes = new Notifications(this.redis);
    this.notes.on('message', (channel: string, message: Buffer) => this.message(channel, message));
    this.notes.on('config', (node: string, flags: string) => this.emit('config', node, flags));
    this.notes.on('warning', (text: string) => this.emit('warning', text));
    this.notes.on('subscriber', (sub: Redis) => this.gate?.watch(sub));
    this.reaper = new Reaper(this.redis, { retainFinishedMs: this.retainMs }, (id, wid) => this.emit('reaped', id, wid));
  }

  /** Connects, enables notifications, registers the worker and starts taking jobs. */
  static async start(options: WorkerOptions): Promise<BeamWorker> {
    const w = BeamWorker.create(options);
    await w.run();
    return w;
  }

  /** A worker not yet connected: attach listeners (e.g. 'config', emitted while starting), then `run()`. */
  static create(options: WorkerOptions): BeamWorker {
    const w = new BeamWorker(options);
    w.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    return w;
  }

  /** Connects, enables notifications, registers and starts taking jobs (closes the worker if that fails). */
  async run(): Promise<void> {
    try {
      await whenReady(this.redis, this.connectTimeoutMs);
      await this.notes.start();
      await this.notes.subscribe([this.setChannel]);
      if (this.gate) await withTimeout(this.gate.check().then(() => this.gate!.whenOpen()), this.connectTimeoutMs, 'connections on the master');
      await this.register();
    } catch (e) {
      await this.close().catch(() => {});
      throw e;
    }
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), Math.max(100, Math.floor(this.leaseMs / 3)));
    this.reconcileTimer = setInterval(() => void this.reconcile(), this.reconcileMs);
    void this.reconcile();
  }

  /** This worker's id in `/beam/workers` (changes when a lost lease forces it to register again). */
  get id(): string {
    return this.wid;
  }

  /** Ids of the jobs this worker runs. */
  running(): number[] {
    return [...this.mine.keys()].sort((a, b) => a - b);
  }

  /** One reconciliation pass now (tests and tools; it also runs every reconcileIntervalMs). */
  async reconcile(): Promise<void> {
    if (this.reconciling || this.closing) return;
    this.reconciling = true;
    try {
      // Nothing is read or claimed unless every connection reaches the master (the gate re-checks it here).
      if (this.gate && !(await this.gate.check())) return;
      await this.discover();
      for (const id of this.mine.keys()) {
        // Catches up with notifications missed while a subscriber reconnected.
        this.context.emitKeyspace(jobKey(id, 'out'), 'lpop');
        this.context.emitKeyspace(jobKey(id, 'in'), 'rpush');
        this.context.emitKeyspace(jobKey(id, 'signal'), 'rpush');
      }
      await this.reaper.pass();
    } catch (e) {
      this.emit('warning', `reconciliation failed: ${(e as Error).message}`);
    } finally {
      this.reconciling = false;
    }
  }

  /** Stops taking jobs, kills the running ones (their exit is published), withdraws the worker. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.heartbeatTimer);
    clearInterval(this.reconcileTimer);
    // Exits are published on the master: a failover in progress gets up to a lease to settle, then the gate stops.
    const gate = this.gate;
    if (gate && !gate.open) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.leaseMs);
        void gate.whenOpen().then(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    gate?.stop();
    await this.engine.close();
    if (this.registered && this.redis.status === 'ready') {
      const wid = this.wid;
      await Promise.all([
        this.redis.del(workerHandlersKey(wid)),
        this.redis.del(workerExecKey(wid)),
        this.redis.del(workerJobsKey(wid)),
        this.redis.zrem(WORKERS_KEY, wid),
      ]).catch(() => {});
    }
    this.registered = false;
    await this.notes.close();
    this.redis.disconnect();
    this.leaseConn.disconnect();
  }

  // ---- internals ----

  private async register(): Promise<void> {
    this.wid = `${this.prefix}-${process.pid}-${randomBytes(4).toString('hex')}`;
    await scripts(this.leaseConn).beamLease(WORKERS_KEY, this.wid, this.leaseMs, 'register');
    await this.publishCatalog();
    this.registered = true;
    this.emit('registered', this.wid);
  }

  /** The worker's catalog (handler names, exec allow-list), renewed with its lease; gateways read the union. */
  private async publishCatalog(): Promise<void> {
    const h = workerHandlersKey(this.wid);
    const e = workerExecKey(this.wid);
    const m = this.leaseConn.multi().del(h, e);
    const names = this.engine.registry.names();
    if (names.length > 0) m.sadd(h, ...names);
    const allow = this.engine.execAllowList;
    if (allow.length > 0) m.sadd(e, ...allow);
    await m.pexpire(h, this.leaseMs * 3).pexpire(e, this.leaseMs * 3).exec();
  }

  private async heartbeat(): Promise<void> {
    if (this.beating || this.closing || !this.registered || (this.gate && !this.gate.open)) return;
    this.beating = true;
    try {
      const epoch = this.gate?.epoch;
      const ok = await scripts(this.leaseConn).beamLease(WORKERS_KEY, this.wid, this.leaseMs, 'renew');
      if (ok === 1) await this.publishCatalog();
      // A refusal read from a server the worker was leaving proves nothing: the next renewal asks the master.
      else if (this.gate?.epoch === epoch) await this.leaseLost();
    } catch (e) {
      this.emit('warning', `lease renewal failed: ${(e as Error).message}`);
    } finally {
      this.beating = false;
    }
  }

  /**
   * The lease expired before it was renewed (Redis was away too long, or lost its data): reapers may already
   * have ended this worker's jobs, so they are killed without publishing, and the worker registers afresh.
   */
  private async leaseLost(): Promise<void> {
    const old = this.wid;
    this.registered = false;
    this.emit('lease-lost', old);
    // Killed without publishing: a reaper may have ended them already, or will (255) once the old id expires.
    const left = new Set(this.mine.keys());
    for (const id of left) this.disowned.add(id);
    await new Promise<void>((resolve) => {
      const done = (): void => {
        for (const id of left) if (!this.mine.has(id)) left.delete(id);
        if (left.size > 0) return;
        this.off('exit', done);
        resolve();
      };
      this.on('exit', done);
      for (const id of [...left]) if (!this.engine.kill(id, 'KILL')) left.delete(id);
      done();
    });
    if (!this.closing) await this.register();
  }

  private message(channel: string, message: Buffer): void {
    if (channel === this.setChannel) {
      const k = parseJobKey(message);
      if (k?.kind === 'start') void this.offer(k.id);
      return;
    }
    if (!channel.startsWith(this.spacePrefix)) return;
    const key = channel.slice(this.spacePrefix.length);
    const k = parseJobKey(key);
    if (k && 'id' in k && this.mine.has(k.id)) this.context.emitKeyspace(key, message.toString('latin1'));
  }

  private canClaim(): boolean {
    return this.registered && !this.closing && this.mine.size + this.offering.size < this.engine.limits.maxJobs;
  }

  /** A started job was seen: claim it (SET NX) and hand it to the engine. False if someone else has it. */
  private async offer(id: number): Promise<boolean> {
    if (this.mine.has(id) || this.offering.has(id)) return false;
    if (!this.canClaim() || (this.gate && !this.gate.open)) {
      if (!this.candidates.has(id)) this.candidates.set(id, Date.now());
      return false;
    }
    this.offering.add(id);
    const wid = this.wid;
    const epoch = this.gate?.epoch;
    const r = this.redis;
    const unlist = (): Promise<unknown> => r.srem(workerJobsKey(wid), String(id));
    try {
      // A job this worker cannot run is left to a live worker that can (see mayTake).
      if (!(await this.mayTake(id))) {
        if (!this.candidates.has(id)) this.candidates.set(id, Date.now());
        return false;
      }
      // Listed before claimed: a worker that dies in between leaves an id its reapers skip, never a lost claim.
      // A finished job's claim outlives its keys, so SET NX also refuses a job that already ran.
      await r.sadd(workerJobsKey(wid), String(id));
      let won = (await r.set(claimKey(id), `run:${wid}`, 'NX')) === 'OK';
      if (won && this.gate && this.gate.epoch !== epoch) {
        // The connections moved while claiming: the reads and the claim may have hit the old master. Keep the job
        // only if the claim is on the master now (the gate re-asserted or kept it), else leave it for later.
        await this.gate.whenOpen();
        won = (await r.get(claimKey(id))) === `run:${wid}` && (await this.mayTake(id));
        if (!won) {
          await unlist();
          if (!this.candidates.has(id)) this.candidates.set(id, Date.now());
          return false;
        }
      }
      if (!won || wid !== this.wid || this.closing) {
        // Won while leaving: released, so that another worker takes it.
        if (won) await r.del(claimKey(id));
        await unlist();
        this.candidates.delete(id);
        return false;
      }
      this.candidates.delete(id);
      this.mine.set(id, wid);
      await this.notes.subscribe(jobChannels(this.spacePrefix, id));
      this.emit('claim', id);
      this.context.emitKeyspace(jobKey(id), 'set');
      return true;
    } catch (e) {
      this.emit('warning', `claiming job ${id} failed: ${(e as Error).message}`);
      return false;
    } finally {
      this.offering.delete(id);
    }
  }

  /**
   * Workers may differ (handlers, exec allow-lists): a job this worker cannot run is left to a live worker that
   * can, and taken (to fail with 127 or 126, as on one server) only when none can.
   */
  private async mayTake(id: number): Promise<boolean> {
    const [name, arg1] = await Promise.all([this.redis.lindex(JOBS_KEY, id), this.redis.lindex(jobKey(id, 'args'), 1)]);
    // Not visible (yet), e.g. read from a server that has not got the job: never taken (to exit 127) on such a
    // read; the reconciliation pass offers it again. Discovery only offers ids below LLEN /jobs, so a job that
    // exists on the master always has a name there.
    if (name === null) return false;
    const args = arg1 === null ? [name] : [name, arg1];
    if (this.engine.check(name, args) === 'ok') return true;
    return (await readWorkerCatalog(this.redis)).check(name, args) !== 'ok';
  }

  /**
   * SharedContextHooks.finish: `run:WID -> done:WID`, then the status and the wait entry; false (nothing
   * written) when a reaper got there first or a failover gave the job to another worker.
   */
  private async finish(id: number, status: number): Promise<boolean> {
    await this.gate?.whenOpen();
    if (this.disowned.delete(id)) return false;
    const wid = this.mine.get(id) ?? this.wid;
    const runId = this.gate?.runId ?? '';
    const r = this.redis;
    const p = (async () => {
      if ((await scripts(r).beamSwap(claimKey(id), `run:${wid}`, `done:${wid}`, claimRetainMs(this.retainMs))) !== 1) return false;
      await writeExit(r, id, status);
      if (this.gate) this.recent.add(id, wid, runId, status);
      return true;
    })();
    this.publishing.add(p);
    try {
      return await p;
    } finally {
      this.publishing.delete(p);
    }
  }

  /**
   * The gate found another master (or a restarted one): before job traffic resumes there, running jobs keep
   * their claims or are given up, and recent exits the new master lacks are published again.
   */
  private async switched(before: string, now: string): Promise<void> {
    const r = this.redis;
    // Renewals the old master took may not have reached this one: the lease is set again before anything else
    // (a reaper that already took the jobs shows in their claims, below).
    if (this.registered) await scripts(this.leaseConn).beamLease(WORKERS_KEY, this.wid, this.leaseMs, 'register');
    const lost = await reassertClaims(r, this.mine);
    for (const id of lost) {
      this.disowned.add(id);
      if (!this.engine.kill(id, 'KILL')) this.disowned.delete(id);
    }
    await Promise.allSettled([...this.publishing]);
    const again = await republishExits(r, this.recent.before(now), this.retainMs, claimRetainMs(this.retainMs));
    this.seenLength = undefined;
    this.emit('switched', before, now, { givenUp: lost, republished: again });
  }

  private exited(id: number, status: number): void {
    const wid = this.mine.get(id);
    if (wid === undefined) return;
    this.mine.delete(id);
    this.disowned.delete(id);
    this.notes.unsubscribe(jobChannels(this.spacePrefix, id));
    void this.redis.srem(workerJobsKey(wid), String(id)).catch(() => {});
    this.emit('exit', id, status);
  }

  /**
   * New ids in `/jobs` become candidates; candidates that are started and unclaimed are offered, claimed or
   * finished ones dropped, and unstarted ones kept for unstartedTtlMs (and at most maxUnstartedJobs of them).
   */
  private async discover(): Promise<void> {
    const r = this.redis;
    const n = await r.llen(JOBS_KEY);
    const max = this.engine.limits.maxUnstartedJobs;
    const now = Date.now();
    if (this.seenLength === undefined || n < this.seenLength) {
      // First pass, or `/jobs` shrank (a flush, a restart without persistence): look at the newest ids afresh.
      this.candidates.clear();
      this.seenLength = Math.max(0, n - max);
    }
    for (let id = this.seenLength; id < n; id++) if (!this.mine.has(id)) this.candidates.set(id, now);
    this.seenLength = n;
    for (const [id, at] of this.candidates) {
      if (this.candidates.size <= max && (this.unstartedTtlMs === 0 || now - at < this.unstartedTtlMs)) break;
      this.candidates.delete(id);
    }
    const ids = [...this.candidates.keys()];
    for (let i = 0; i < ids.length; i += 512) {
      const batch = ids.slice(i, i + 512);
      const states = await Promise.all(
        batch.map(async (id) => {
          const [start, done, claimed] = await Promise.all([r.exists(jobKey(id)), r.exists(jobKey(id, 'status')), r.exists(claimKey(id))]);
          return { id, start, gone: done + claimed > 0 };
        }),
      );
      for (const s of states) {
        if (s.gone) this.candidates.delete(s.id);
        else if (s.start && this.canClaim()) await this.offer(s.id);
      }
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new RedisTargetError(`${what}: not ready after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

function jobChannels(prefix: string, id: number): string[] {
  return [`${prefix}${jobKey(id, 'in')}`, `${prefix}${jobKey(id, 'out')}`, `${prefix}${jobKey(id, 'signal')}`];
}
