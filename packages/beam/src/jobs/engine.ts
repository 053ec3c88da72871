import { TypedEventEmitter } from '@beamgate/base';
import { debuglog } from 'node:util';
import type { CommandFilter, FlushEvent, KeyspaceEvent } from '../context/api.js';
import { catHandler, echoHandler } from './builtins.js';
import { checkJob, type JobCatalog, type JobCheck } from './catalog.js';
import { execHandler, runProgram, type ExecOptions } from './exec.js';
import { createJobFilter, type FilterHost, type JobPhase, type JobRecord } from './filter.js';
import { HandlerRegistry, type JobHandler } from './handler.js';
import { IdSet } from './id-set.js';
import { EXEC_KEY, HANDLERS_KEY, JOBS_DB, JOBS_KEY, jobKey, parseJobKey } from './keys.js';
import {
  DEFAULT_KILL_GRACE_MS,
  DEFAULT_RETAIN_FINISHED_MS,
  DEFAULT_UNSTARTED_TTL_MS,
  resolveLimits,
  type JobEngineOptions,
  type JobLimits,
  type SharedContextHooks,
} from './options.js';
import { JobRun } from './run.js';
import { parseSignal, type SignalName } from './signals.js';
import { asInt, JobStore, type JobContext } from './store.js';
import { UnstartedJobs } from './unstarted.js';
import { BeamOptionError } from '../errors.js';

const debug = debuglog('beamgate:jobs');

export type { JobCheck } from './catalog.js';

/** Where the engine registers its CommandFilter: a Dispatcher (or anything with addFilter). */
export interface FilterTarget {
  addFilter(filter: CommandFilter): () => void;
}

export interface AttachJobsOptions extends JobEngineOptions {
  /** Registers the engine's filter there (the server's Dispatcher for this context). */
  dispatcher?: FilterTarget;
  /**
   * Close the engine (killing its jobs and their programs) when `context.close()` is called. Default true:
   * per-connection contexts are closed by the server without telling anyone else.
   */
  closeWithContext?: boolean;
}

/** Events of a JobEngine. */
export interface JobEngineEvents {
  start: [id: number, name: string];
  exit: [id: number, status: number];
}

/**
 * The Beam job engine of one context. It sees the context only through commands on an internal client,
 * the 'keyspace'/'flush' events, and the CommandFilter it hands to the dispatcher.
 *
 * It publishes what it can run (handler names, exec allow-list) under `/beam/handlers` and `/beam/exec` in
 * database 0, so that clients of a remote context can refuse a job before creating it (catalog.ts).
 *
 * Events: 'start' (id, name), 'exit' (id, status).
 */
export class JobEngine extends TypedEventEmitter<JobEngineEvents> {
  readonly registry = new HandlerRegistry((name, registered) => this.handlerChanged(name, registered));
  readonly limits: JobLimits;
  /** Register on the dispatcher serving this context (attachJobs does it when given `dispatcher`). */
  readonly filter: CommandFilter;
  readonly store: JobStore;

  private readonly exec: ExecOptions;
  private readonly execBuiltin: JobHandler;
  private readonly retainFinishedMs: number;
  private readonly killGraceMs: number;
  private readonly shared: SharedContextHooks | undefined;
  private readonly runs = new Map<number, JobRun>();
  /** Every id whose start was accepted since the last flush of database 0 (a job starts once, ever). */
  private readonly started = new IdSet();
  /** Started and not yet exited. */
  private readonly active = new Set<number>();
  private readonly records = new Map<number, JobRecord>();
  /** Created and never started: counted for maxUnstartedJobs, reclaimed after unstartedTtlMs. */
  private readonly unstarted: UnstartedJobs;
  private readonly filterRemovers: Array<() => void> = [];
  private closed = false;
  /** Set once the initial catalog is published: from then on registry changes are published one by one. */
  private publishing = false;
  private readonly catalog: JobCatalog = {
    hasHandler: (name) => this.registry.has(name),
    isExecBuiltin: (name) => this.registry.get(name) === this.execBuiltin,
    execAllowed: (program) => this.exec.allow.has(program),
  };

  private readonly onKeyspace = (e: KeyspaceEvent): void => this.keyspace(e);
  private readonly onFlush = (e: FlushEvent): void => {
    if (e.db !== JOBS_DB && e.db !== -1) return;
    this.flushed();
    // The flush runs inside a command: publish again once it has returned.
    queueMicrotask(() => this.publishCatalog());
  };

  constructor(
    readonly context: JobContext,
    options: JobEngineOptions = {},
  ) {
    super();
    this.limits = resolveLimits(options.limits);
    this.retainFinishedMs = options.retainFinishedMs ?? DEFAULT_RETAIN_FINISHED_MS;
    this.killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.shared = options.shared;
    if (!(this.retainFinishedMs >= 0)) throw new BeamOptionError('retainFinishedMs must be >= 0');
    if (!(this.killGraceMs >= 0)) throw new BeamOptionError('killGraceMs must be >= 0');
    const unstartedTtlMs = options.unstartedTtlMs ?? DEFAULT_UNSTARTED_TTL_MS;
    if (!(unstartedTtlMs >= 0)) throw new BeamOptionError('unstartedTtlMs must be >= 0');
    this.exec = {
      allow: new Set(options.exec ?? []),
      inheritEnv: options.execInheritEnv === true,
      ...(options.execCwd !== undefined ? { cwd: options.execCwd } : {}),
    };
    this.execBuiltin = execHandler(this.exec);
    this.store = new JobStore(context);
    // Jobs already in /jobs at attach (a loaded snapshot) are not tracked: only creations seen from now on.
    this.unstarted = new UnstartedJobs(
      unstartedTtlMs,
      { isStarted: (id) => this.started.has(id), reclaim: (id) => this.reclaim(id) },
      asInt(this.store.sync('LLEN', JOBS_KEY)),
    );
    this.registry.register('echo', echoHandler);
    this.registry.register('cat', catHandler);
    this.registry.register('exec', this.execBuiltin);
    const extra = options.handlers;
    if (extra) for (const [n, h] of extra instanceof Map ? extra : Object.entries(extra)) this.registry.register(n, h);

    this.filter = createJobFilter(this.filterHost());
    context.on('keyspace', this.onKeyspace);
    context.on('flush', this.onFlush);
    // A shared context holds one catalog per engine, published by its owner (beam worker).
    if (!this.shared) {
      this.publishCatalog();
      this.publishing = true;
    }
  }

  registerHandler(name: string, handler: JobHandler): this {
    this.registry.register(name, handler);
    return this;
  }

  unregisterHandler(name: string): boolean {
    return this.registry.unregister(name);
  }

  /** Program names jobs may exec. */
  get execAllowList(): string[] {
    return [...this.exec.allow].sort();
  }

  /**
   * What would happen to a job NAME with these args: 'ok' (a handler or allowed program runs),
   * 'unknown' (exit 127) or 'forbidden' (`exec` of a program outside the allow-list: exit 126).
   */
  check(name: string, args: readonly string[] = [name]): JobCheck {
    return checkJob(this.catalog, name, args);
  }

  /** Ids of jobs started and not yet exited. */
  activeJobs(): number[] {
    return [...this.active].sort((a, b) => a - b);
  }

  /** Registers the filter on a dispatcher; returns the remover (also run by close()). */
  attachFilter(target: FilterTarget): () => void {
    const remove = target.addFilter(this.filter);
    this.filterRemovers.push(remove);
    return remove;
  }

  /** Sends a signal to a running job, as `RPUSH /jobs/$id/signal NAME` does. False if it is not running. */
  kill(id: number, signal: SignalName | string = 'TERM'): boolean {
    const name = parseSignal(signal);
    const run = this.runs.get(id);
    if (!name || !run) return false;
    run.signal(name);
    return true;
  }

  /**
   * Sends TERM to every running job (to an exec'd program's whole process group), waits for them to exit (a job
   * still running after killGraceMs is killed by its own grace timer), then closes. Bounded by killGraceMs.
   */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    const exits = [...this.runs.values()].map((r) => this.exitOf(r));
    for (const r of this.runs.values()) r.signal('TERM');
    await Promise.all(exits);
    await this.close();
  }

  private exitOf(run: JobRun): Promise<void> {
    return new Promise<void>((resolve) => {
      const onExit = (id: number): void => {
        if (id !== run.id) return;
        this.off('exit', onExit);
        resolve();
      };
      this.on('exit', onExit);
    });
  }

  /** Kills every running job (KILL), waits until they have published their exit, and detaches. */
  async close(): Promise<void> {
    if (this.closed) return;
    // Withdrawn first: nothing may look runnable on a context whose engine is leaving.
    if (!this.shared) this.publish('DEL', HANDLERS_KEY, EXEC_KEY);
    this.closed = true;
    this.unstarted.stop();
    const runs = [...this.runs.values()];
    const waits = runs.map((r) => this.exitOf(r));
    for (const r of runs) r.signal('KILL');
    await Promise.all(waits);
    for (const remove of this.filterRemovers.splice(0)) remove();
    this.context.off('keyspace', this.onKeyspace);
    this.context.off('flush', this.onFlush);
  }

  // ---- internals ----

  /** Replaces the published catalog (at attach and after a flush of database 0). */
  private publishCatalog(): void {
    this.publish('DEL', HANDLERS_KEY, EXEC_KEY);
    const names = this.registry.names();
    if (names.length > 0) this.publish('SADD', HANDLERS_KEY, ...names);
    const allow = this.execAllowList;
    if (allow.length > 0) this.publish('SADD', EXEC_KEY, ...allow);
  }

  private handlerChanged(name: string, registered: boolean): void {
    if (this.publishing) this.publish(registered ? 'SADD' : 'SREM', HANDLERS_KEY, name);
  }

  /** A catalog write on the internal client (database 0); never throws, the catalog is advisory. */
  private publish(...args: string[]): void {
    if (this.closed) return;
    try {
      this.store.cmd(...args).catch((e: unknown) => debug('publishing %s failed: %o', args[0], e));
    } catch (e) {
      debug('publishing %s failed: %o', args[0], e);
    }
  }

  private filterHost(): FilterHost {
    return {
      limits: this.limits,
      jobCount: () => {
        const r = this.store.sync('LLEN', JOBS_KEY);
        return r === undefined ? undefined : asInt(r);
      },
      size: (cmd, key) => {
        const r = this.store.sync(cmd, key);
        return r === undefined ? undefined : asInt(r);
      },
      phase: (id) => this.phase(id),
      activeCount: () => this.active.size,
      unstartedCount: () => {
        const r = this.store.sync('LLEN', JOBS_KEY);
        return this.unstarted.pending(r === undefined ? undefined : asInt(r));
      },
      record: (id) => this.record(id),
      claimStart: (id) => {
        this.unstarted.starting(id);
        this.started.add(id);
        this.active.add(id);
      },
    };
  }

  private phase(id: number): JobPhase {
    if (this.active.has(id)) return 'active';
    if (this.started.has(id)) return 'exited';
    return this.unstarted.isExpired(id) ? 'expired' : 'new';
  }

  private record(id: number): JobRecord {
    let r = this.records.get(id);
    if (!r) this.records.set(id, (r = { argsBytes: 0, envBytes: 0, inBytes: 0, closedInputs: new Set() }));
    return r;
  }

  private keyspace(e: KeyspaceEvent): void {
    if (e.db !== JOBS_DB || this.closed || e.key[0] !== 0x2f) return;
    const k = parseJobKey(e.key);
    if (k?.kind === 'jobs') {
      if (e.event === 'rpush') queueMicrotask(() => this.jobsCreated());
      return;
    }
    if (!k || k.kind === 'invalid') return;
    const id = k.id;
    // Events arrive while the context finishes a command: act on them once it has returned.
    switch (k.kind) {
      case 'start':
        if (e.event === 'set') queueMicrotask(() => this.launch(id));
        break;
      case 'in':
        if (e.event === 'rpush') queueMicrotask(() => this.runs.get(id)?.inputArrived());
        break;
      case 'out':
        // Our own RPUSH and expiry settings (the exit's PEXPIRE) leave the queued frames as they are.
        if (e.event !== 'rpush' && e.event !== 'expire' && e.event !== 'persist') {
          queueMicrotask(() => this.runs.get(id)?.outputConsumed(e.event));
        }
        break;
      case 'signal':
        if (e.event === 'rpush') queueMicrotask(() => void this.runs.get(id)?.drainSignals());
        break;
      default:
        break;
    }
  }

  /** `SET /jobs/$id ""` happened: run the job (once). */
  private launch(id: number): void {
    if (this.runs.has(id) || (this.started.has(id) && !this.active.has(id)) || this.closed) return;
    if (this.unstarted.isExpired(id)) {
      // Only without the filter (which refuses such a start): the job's other keys are gone already.
      debug('job %d: start after it expired, ignored', id);
      this.publish('DEL', jobKey(id));
      return;
    }
    // Without the filter (e.g. no dispatcher) the start is claimed here; on a shared context, by its owner.
    if (!this.shared) {
      this.unstarted.starting(id);
      this.started.add(id);
    }
    this.active.add(id);
    const run = new JobRun(
      id,
      this.store,
      {
        limits: this.limits,
        retainFinishedMs: this.retainFinishedMs,
        killGraceMs: this.killGraceMs,
        ...(this.shared ? { finish: this.shared.finish } : {}),
      },
      (bytes) => {
        const rec = this.records.get(id);
        if (rec) rec.inBytes = Math.max(0, rec.inBytes - bytes);
      },
      () => this.exiting(run),
    );
    this.runs.set(id, run);
    void this.execute(run).then(
      (status) => this.finished(run, status),
      (err: unknown) => {
        debug('job %d failed inside the engine: %o', id, err);
        this.finished(run, 1);
      },
    );
  }

  private async execute(run: JobRun): Promise<number> {
    const spec = await run.load();
    this.emit('start', run.id, spec.name);
    debug('job %d: start %s %o', run.id, spec.name, spec.rawArgs.map((b) => b.toString()));
    return run.run(spec, this.resolve(spec.name));
  }

  private resolve(name: string): JobHandler {
    const h = this.registry.get(name);
    if (h) return h;
    if (this.exec.allow.has(name)) return (job) => runProgram(job, name, job.args, this.exec);
    return (job) => {
      job.stderr.write(`beam: ${name}: no such job handler\n`);
      return 127;
    };
  }

  /** `/jobs` grew: note the new ids' creation (this runs after the RPUSH returned). */
  private jobsCreated(): void {
    if (this.closed) return;
    const r = this.store.sync('LLEN', JOBS_KEY);
    if (r !== undefined) this.unstarted.jobsCreated(asInt(r));
  }

  /** A job was never started within unstartedTtlMs: drop what it holds. */
  private reclaim(id: number): void {
    debug('job %d: never started, reclaimed', id);
    this.records.delete(id);
    this.publish('DEL', jobKey(id, 'args'), jobKey(id, 'env'), jobKey(id, 'in'));
  }

  /** The run is about to publish its status: it no longer counts as running. */
  private exiting(run: JobRun): void {
    if (this.runs.get(run.id) !== run) return; // flushed meanwhile
    this.active.delete(run.id);
    this.records.delete(run.id);
  }

  private finished(run: JobRun, status: number): void {
    if (this.runs.get(run.id) !== run) return; // flushed meanwhile
    this.exiting(run);
    this.runs.delete(run.id);
    debug('job %d: exit %d', run.id, status);
    this.emit('exit', run.id, status);
  }

  /** Database 0 was flushed: every job key is gone, so running jobs stop silently and ids restart at 0. */
  private flushed(): void {
    debug('database %d flushed: dropping %d running jobs', JOBS_DB, this.runs.size);
    const runs = [...this.runs.values()];
    this.runs.clear();
    this.active.clear();
    this.started.clear();
    this.records.clear();
    this.unstarted.clear();
    for (const r of runs) {
      r.detach();
      this.emit('exit', r.id, 128 + 9);
    }
  }
}

/**
 * Attaches a job engine to a context. Pass the Dispatcher serving that context as `dispatcher` so that the
 * engine's CommandFilter guards the job keys; without it, call `engine.attachFilter(dispatcher)` yourself.
 */
export function attachJobs(context: JobContext, options: AttachJobsOptions = {}): JobEngine {
  const { dispatcher, closeWithContext = true, ...rest } = options;
  const engine = new JobEngine(context, rest);
  if (dispatcher) engine.attachFilter(dispatcher);
  const closable = context as JobContext & { close?: () => void };
  if (closeWithContext && typeof closable.close === 'function') {
    const close = closable.close.bind(context);
    closable.close = () => {
      // KILL reaches every job (and exec child) synchronously; the exit is published while the context still answers.
      void engine.close();
      close();
    };
  }
  return engine;
}
