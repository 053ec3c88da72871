import { Context } from '../../src/context/context.js';
import { Dispatcher, type DispatchClient } from '../../src/context/dispatch.js';
import { attachJobs, type AttachJobsOptions, type JobEngine } from '../../src/jobs/engine.js';
import { ErrorReply, type Reply } from '../../src/wire/reply.js';
import { pollUntil } from '@beamgate/base/testing';

/** A Context + Dispatcher + JobEngine, and clients that speak through the dispatcher (filters included). */
export class Harness {
  readonly context: Context;
  readonly dispatcher: Dispatcher;
  readonly engine: JobEngine;
  readonly client: DispatchClient;
  private readonly clients: DispatchClient[] = [];

  /** Ids whose handler has been called (the engine's 'start' event). */
  readonly startedIds = new Set<number>();

  constructor(options: AttachJobsOptions = {}) {
    this.context = new Context({ activeExpireInterval: 10 });
    this.dispatcher = new Dispatcher({ context: this.context });
    this.engine = attachJobs(this.context, { dispatcher: this.dispatcher, ...options });
    this.engine.on('start', (id: number) => this.startedIds.add(id));
    this.client = this.newClient();
  }

  /** Resolves once job `id`'s handler runs. */
  async running(id: number): Promise<void> {
    await until(() => this.startedIds.has(id));
  }

  newClient(): DispatchClient {
    const c = this.dispatcher.createClient();
    this.clients.push(c);
    return c;
  }

  /** Runs a command; string replies come back as strings, errors as ErrorReply. */
  async cmd(...args: Array<string | Buffer | number>): Promise<unknown> {
    return this.on(this.client, ...args);
  }

  async on(client: DispatchClient, ...args: Array<string | Buffer | number>): Promise<unknown> {
    const r = await this.dispatcher.call(client, args.map((a) => (typeof a === 'number' ? String(a) : a)));
    return plain(r);
  }

  /** Creates and starts a job; returns its id. */
  async start(name: string, args: string[] = [name], input?: string[]): Promise<number> {
    const n = (await this.cmd('RPUSH', '/jobs', name)) as number;
    const id = n - 1;
    if (args.length > 0) expectOk(await this.cmd('RPUSH', `/jobs/${id}/args`, ...args));
    if (input) expectOk(await this.cmd('RPUSH', `/jobs/${id}/in`, ...input));
    expectOk(await this.cmd('SET', `/jobs/${id}`, ''));
    return id;
  }

  /** Reads every frame until the exit status (BLPOP on out, then wait). */
  async collect(id: number, client = this.newClient()): Promise<Collected> {
    const frames: string[] = [];
    const streams: Record<number, string> = {};
    for (;;) {
      const r = (await this.on(client, 'BLPOP', `/jobs/${id}/out`, `/jobs/${id}/wait`, '0')) as [string, string];
      if (r[0].endsWith('/wait')) return { frames, streams, status: Number(r[1]), stdout: streams[1] ?? '', stderr: streams[2] ?? '' };
      frames.push(r[1]);
      const colon = r[1].indexOf(':');
      const n = Number(r[1].slice(0, colon));
      streams[n] = (streams[n] ?? '') + r[1].slice(colon + 1);
    }
  }

  async close(): Promise<void> {
    await this.engine.close();
    for (const c of this.clients) this.dispatcher.release(c);
    this.dispatcher.close();
    this.context.close();
  }
}

export interface Collected {
  frames: string[];
  streams: Record<number, string>;
  stdout: string;
  stderr: string;
  status: number;
}

export function plain(r: Reply): unknown {
  if (Buffer.isBuffer(r)) return r.toString('utf8');
  if (Array.isArray(r)) return r.map(plain);
  if (r instanceof ErrorReply) return r;
  if (r !== null && typeof r === 'object' && 'value' in r) return (r as { value: unknown }).value;
  return r;
}

function expectOk(r: unknown): void {
  if (r instanceof ErrorReply) throw new Error(`unexpected error reply: ${r.message}`);
}

export function errorText(r: unknown): string {
  if (!(r instanceof ErrorReply)) throw new Error(`expected an error reply, got ${JSON.stringify(r)}`);
  return r.message;
}

/** One turn of the event loop: every queued microtask (the engine's keyspace reactions) has run after it. */
export const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Polls until fn() is truthy or the time is up (a deadline generous enough for a loaded machine). */
export async function until(fn: () => boolean | Promise<boolean>, ms = 10000): Promise<void> {
  return pollUntil(fn, { timeoutMs: ms, intervalMs: 5 });
}
