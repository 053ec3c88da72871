import { debuglog } from 'node:util';
import type { Readable, Writable } from 'node:stream';
import type { JobHandler, JobIO } from './handler.js';
import { InputPump } from './input-pump.js';
import { allJobKeys, jobKey } from './keys.js';
import type { JobLimits } from './options.js';
import { OutQueue } from './out-queue.js';
import { FrameWritable } from './output-stream.js';
import { JobSignalError, parseSignal, SIGNALS, type SignalName } from './signals.js';
import { asBuffer, asBuffers, type JobStore } from './store.js';
import { BeamOptionError } from '../errors.js';

const debug = debuglog('beamgate:jobs');

export interface RunSettings {
  limits: JobLimits;
  retainFinishedMs: number;
  killGraceMs: number;
  /** A shared context's publisher (SharedContextHooks.finish): false means another party publishes the exit. */
  finish?: (id: number, status: number) => Promise<boolean>;
}

export interface JobSpec {
  name: string;
  rawArgs: Buffer[];
  env: Record<string, string>;
}

type Outcome = { kind: 'ok'; value: unknown } | { kind: 'error'; error: unknown } | { kind: 'killed' };

/**
 * One started job: loads its spec, runs its handler with streams bound to the job's keys, handles signals,
 * and on exit sends close frames, then the status, then schedules expiry of every key of the job.
 */
export class JobRun {
  private readonly ac = new AbortController();
  private readonly signalListeners = new Set<(name: SignalName) => void>();
  private firstSignal: SignalName | null = null;
  private readonly out: OutQueue;
  private readonly pump: InputPump;
  private readonly outputs = new Map<number, FrameWritable>();
  private killResolve!: () => void;
  private readonly killed = new Promise<void>((resolve) => (this.killResolve = resolve));
  private isKilled = false;
  /** Set by io.reportExit: the status stands even if the job is killed while its output drains. */
  private reportedStatus: number | null = null;
  private graceTimer: NodeJS.Timeout | null = null;
  private exited = false;
  /** The context was flushed: this run may not write any key again. */
  private detached = false;

  constructor(
    readonly id: number,
    private readonly store: JobStore,
    private readonly settings: RunSettings,
    onInputPopped: (bytes: number) => void,
    /** Called right before the status is published: from then on the job counts as exited. */
    private readonly onExiting: (status: number) => void,
  ) {
    const { limits } = settings;
    const outKey = jobKey(id, 'out');
    this.out = new OutQueue(
      {
        push: (frames) => (this.detached ? Promise.resolve(0) : store.cmd('RPUSH', outKey, ...frames)),
        length: () => store.int('LLEN', outKey),
        sizes: async () => (await store.list('LRANGE', outKey, 0, -1)).map((b) => b.length),
      },
      {
        maxFrames: limits.maxQueuedOutputFrames,
        maxBytes: limits.maxQueuedOutputBytes,
        maxFrameBytes: limits.maxOutputFrameBytes,
      },
    );
    const inKey = jobKey(id, 'in');
    this.pump = new InputPump(
      {
        pop: async () => (this.detached ? null : asBuffer(await store.cmd('LPOP', inKey))),
      },
      limits.maxStream,
      limits.streamHighWaterMark,
      onInputPopped,
    );
  }

  /** Reads the job's name, args and env from the context. */
  async load(): Promise<JobSpec> {
    const s = this.store;
    const name = asBuffer(await s.cmd('LINDEX', '/jobs', this.id))?.toString('utf8') ?? '';
    const rawArgs = await s.list('LRANGE', jobKey(this.id, 'args'), 0, -1);
    const flat = asBuffers(await s.cmd('HGETALL', jobKey(this.id, 'env')));
    const env: Record<string, string> = Object.create(null) as Record<string, string>;
    for (let i = 0; i + 1 < flat.length; i += 2) env[flat[i]!.toString('utf8')] = flat[i + 1]!.toString('utf8');
    return { name, rawArgs: rawArgs.length > 0 ? rawArgs : [Buffer.from(name)], env };
  }

  /** Runs the handler to completion and publishes the exit; resolves to the exit status. */
  async run(spec: JobSpec, handler: JobHandler): Promise<number> {
    const io = this.makeIO(spec);
    this.pump.kick();
    let outcome: Outcome;
    if (this.isKilled) {
      outcome = { kind: 'killed' };
    } else {
      const handled: Promise<Outcome> = (async () => handler(io))().then(
        (value): Outcome => ({ kind: 'ok', value }),
        (error: unknown): Outcome => ({ kind: 'error', error }),
      );
      outcome = await Promise.race([handled, this.killed.then((): Outcome => ({ kind: 'killed' }))]);
    }
    let status: number;
    if (outcome.kind === 'killed') {
      status = this.reportedStatus ?? 128 + SIGNALS.KILL;
    } else if (outcome.kind === 'error') {
      if (this.firstSignal !== null) {
        status = 128 + SIGNALS[this.firstSignal];
      } else {
        const msg = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
        io.stderr.write(`beam: ${spec.name}: ${msg}\n`);
        status = 1;
      }
    } else if (typeof outcome.value === 'number' && Number.isInteger(outcome.value)) {
      status = outcome.value & 0xff;
    } else {
      io.stderr.write(`beam: ${spec.name}: handler returned ${String(outcome.value)}, not an integer exit status\n`);
      status = 1;
    }
    await this.closeOutputs(outcome.kind === 'killed');
    await this.publishExit(status);
    return status;
  }

  private makeIO(spec: JobSpec): JobIO {
    const maxStream = this.settings.limits.maxStream;
    const checkStream = (n: number): void => {
      if (!Number.isInteger(n) || n < 0 || n > maxStream) throw new BeamOptionError(`stream number must be 0..${maxStream}, got ${n}`, 'BEAM_BAD_STREAM');
    };
    const output = (n: number): Writable => {
      checkStream(n);
      let w = this.outputs.get(n);
      if (!w) {
        this.out.reserve(n);
        w = new FrameWritable(n, this.out, this.settings.limits.streamHighWaterMark);
        this.outputs.set(n, w);
        if (this.isKilled) w.destroy();
      }
      return w;
    };
    const input = (n: number): Readable => {
      checkStream(n);
      return this.pump.stream(n);
    };
    const stdout = output(1);
    const stderr = output(2);
    const ac = this.ac;
    return {
      id: this.id,
      name: spec.name,
      args: spec.rawArgs.map((b) => b.toString('utf8')),
      rawArgs: spec.rawArgs,
      env: spec.env,
      stdin: input(0),
      stdout,
      stderr,
      input,
      output,
      // Created on first use: most handlers never look at it.
      get signal(): AbortSignal {
        return ac.signal;
      },
      onSignal: (listener) => {
        this.signalListeners.add(listener);
        return () => this.signalListeners.delete(listener);
      },
      reportExit: (status) => {
        if (Number.isInteger(status)) this.reportedStatus = status & 0xff;
      },
    };
  }

  /** Ends every output stream, waits for queued data to reach the list, and sends the close frames. */
  private async closeOutputs(killed: boolean): Promise<void> {
    if (!killed) {
      const finished = [...this.outputs.values()].map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.writableFinished || w.destroyed) return resolve();
            w.once('finish', resolve);
            w.once('close', resolve);
            if (!w.writableEnded) w.end();
          }),
      );
      await Promise.race([Promise.all(finished), this.killed]);
    }
    // Killed (now or while draining to a reader that went away): drop what is still buffered.
    if (this.isKilled) {
      this.out.abort();
      for (const w of this.outputs.values()) w.destroy();
    }
    for (const n of [...this.outputs.keys()].sort((a, b) => a - b)) {
      await this.out.close(n).catch((e: unknown) => debug('job %d: close frame %d: %o', this.id, n, e));
    }
  }

  private async publishExit(status: number): Promise<void> {
    this.exited = true;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.pump.stop();
    if (this.detached) return;
    this.onExiting(status);
    const s = this.store;
    const id = this.id;
    try {
      if (this.settings.finish) {
        if (!(await this.settings.finish(id, status))) {
          debug('job %d: claim lost, exit %d not published', id, status);
          return;
        }
      } else {
        await s.cmd('SET', jobKey(id, 'status'), String(status));
        await s.cmd('RPUSH', jobKey(id, 'wait'), String(status));
      }
      const gone = [jobKey(id, 'in'), jobKey(id, 'signal')];
      await s.cmd('DEL', ...gone);
      if (this.settings.retainFinishedMs > 0) {
        for (const k of allJobKeys(id)) if (!gone.includes(k)) await s.cmd('PEXPIRE', k, this.settings.retainFinishedMs);
      }
    } catch (e) {
      debug('job %d: publishing exit failed: %o', id, e);
    }
  }

  // ---- events from the engine ----

  inputArrived(): void {
    this.pump.kick();
  }

  outputConsumed(event: string): void {
    this.out.consumed(event);
  }

  /** Pops and delivers every queued signal (`RPUSH /jobs/$id/signal NAME`). */
  async drainSignals(): Promise<void> {
    const key = jobKey(this.id, 'signal');
    for (;;) {
      if (this.detached) return;
      const raw = asBuffer(await this.store.cmd('LPOP', key).catch(() => null));
      if (raw === null) return;
      const name = parseSignal(raw.toString('latin1'));
      if (name) this.signal(name);
    }
  }

  /**
   * Delivers a signal: every onSignal listener hears it; the first one aborts the job's AbortSignal.
   * KILL ends the job at once; any other signal gives it killGraceMs to exit before a KILL.
   */
  signal(name: SignalName): void {
    if (this.exited) return;
    debug('job %d: SIG%s', this.id, name);
    for (const l of [...this.signalListeners]) {
      try {
        l(name);
      } catch (e) {
        debug('job %d: signal listener threw: %o', this.id, e);
      }
    }
    if (this.firstSignal === null) {
      this.firstSignal = name;
      this.ac.abort(new JobSignalError(name));
    }
    if (name === 'KILL') {
      this.isKilled = true;
      this.killResolve();
    } else if (this.graceTimer === null) {
      this.graceTimer = setTimeout(() => this.signal('KILL'), this.settings.killGraceMs);
      this.graceTimer.unref();
    }
  }

  /** The context's database 0 was flushed: stop without touching any key. */
  detach(): void {
    this.detached = true;
    this.signal('KILL');
  }
}
