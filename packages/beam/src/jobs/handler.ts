import type { Readable, Writable } from 'node:stream';
import type { SignalName } from './signals.js';
import { BeamOptionError } from '../errors.js';

/** What a job handler gets: the job's argv, env and streams. */
export interface JobIO {
  readonly id: number;
  /** The name pushed to `/jobs`. */
  readonly name: string;
  /** argv, UTF-8 decoded; argv[0] is conventionally the name. Never empty: defaults to `[name]`. */
  readonly args: string[];
  /** argv as the client sent it, byte for byte. */
  readonly rawArgs: Buffer[];
  readonly env: Record<string, string>;
  /** Input stream 0. */
  readonly stdin: Readable;
  /** Output stream 1. */
  readonly stdout: Writable;
  /** Output stream 2. */
  readonly stderr: Writable;
  /** Input stream n (0 is stdin). */
  input(n: number): Readable;
  /** Output stream n (1 is stdout, 2 stderr); opening it makes the engine send its close frame at exit. */
  output(n: number): Writable;
  /** Aborted when the job is signalled; `reason` is a JobSignalError naming the signal. */
  readonly signal: AbortSignal;
  /** Called for every signal the job receives (the AbortSignal only reports the first); returns an unsubscribe. */
  onSignal(listener: (name: SignalName) => void): () => void;
  /**
   * Tells the engine the job's final status before the handler returns (e.g. its program exited and only
   * its output is still being flushed): if the job is killed meanwhile, this status is published, not 137.
   */
  reportExit(status: number): void;
}

/**
 * Resolves to the exit status (an integer; taken modulo 256 like POSIX). Throwing ends the job with status 1
 * and the error message on stream 2, or 128+signo when it throws the signal's JobSignalError.
 */
export type JobHandler = (job: JobIO) => number | Promise<number>;

/** Handlers by name. */
export class HandlerRegistry {
  private readonly map = new Map<string, JobHandler>();

  /** `onChange` hears every registration (also a replacement) and every removal. */
  constructor(private readonly onChange?: (name: string, registered: boolean) => void) {}

  register(name: string, handler: JobHandler): void {
    if (name.length === 0) throw new BeamOptionError('job handler name must not be empty');
    if (typeof handler !== 'function') throw new BeamOptionError(`job handler ${name} must be a function`);
    this.map.set(name, handler);
    this.onChange?.(name, true);
  }

  unregister(name: string): boolean {
    const had = this.map.delete(name);
    if (had) this.onChange?.(name, false);
    return had;
  }

  get(name: string): JobHandler | undefined {
    return this.map.get(name);
  }

  has(name: string): boolean {
    return this.map.has(name);
  }

  names(): string[] {
    return [...this.map.keys()].sort();
  }
}
