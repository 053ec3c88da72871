import type { ClientState, CommandResult, FlushEvent, KeyspaceEvent } from '../context/api.js';
import { ErrorReply, RespMap, type Reply } from '../wire/reply.js';
import { BeamError } from '../errors.js';

/**
 * What the job engine needs from a context: the command interface and its change events. A Context
 * satisfies it; so could an adaptor over a remote Redis connection with keyspace notifications.
 */
export interface JobContext {
  call(client: ClientState, argv: Buffer[]): CommandResult;
  createInternalClient(): ClientState;
  on(event: 'keyspace', listener: (e: KeyspaceEvent) => void): unknown;
  on(event: 'flush', listener: (e: FlushEvent) => void): unknown;
  off(event: 'keyspace', listener: (e: KeyspaceEvent) => void): unknown;
  off(event: 'flush', listener: (e: FlushEvent) => void): unknown;
}

export class JobStoreError extends BeamError {
  override readonly name = 'JobStoreError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('BEAM_JOB_STORE', message, options);
  }
}

type Arg = Buffer | string | number;

function toArgv(args: Arg[]): Buffer[] {
  return args.map((a) => (Buffer.isBuffer(a) ? a : Buffer.from(String(a))));
}

/** The engine's only door to the data: commands on its internal client (database 0). */
export class JobStore {
  readonly client: ClientState;

  constructor(readonly context: JobContext) {
    this.client = context.createInternalClient();
    this.client.db = 0;
  }

  /** Runs a command; error replies become JobStoreError. */
  async cmd(...args: Arg[]): Promise<Reply> {
    const r = await this.context.call(this.client, toArgv(args));
    if (r instanceof ErrorReply) throw new JobStoreError(`${String(args[0])}: ${r.message}`);
    return r;
  }

  /**
   * Runs a non-blocking command synchronously (for the command filter, which must answer at once).
   * Returns undefined when the context answered asynchronously or with an error.
   */
  sync(...args: Arg[]): Reply | undefined {
    const r = this.context.call(this.client, toArgv(args));
    if (r instanceof Promise) {
      r.catch(() => {});
      return undefined;
    }
    return r instanceof ErrorReply ? undefined : r;
  }

  async int(...args: Arg[]): Promise<number> {
    return asInt(await this.cmd(...args));
  }

  async list(...args: Arg[]): Promise<Buffer[]> {
    return asBuffers(await this.cmd(...args));
  }
}

export function asInt(r: Reply | undefined): number {
  if (typeof r === 'number') return r;
  if (typeof r === 'bigint') return Number(r);
  if (typeof r === 'boolean') return r ? 1 : 0;
  return 0;
}

export function asBuffer(r: Reply | undefined): Buffer | null {
  if (Buffer.isBuffer(r)) return r;
  if (typeof r === 'string') return Buffer.from(r);
  return null;
}

export function asBuffers(r: Reply | undefined): Buffer[] {
  if (r instanceof RespMap) return r.entries.flatMap(([k, v]) => [asBuffer(k) ?? Buffer.alloc(0), asBuffer(v) ?? Buffer.alloc(0)]);
  if (!Array.isArray(r)) return [];
  return r.map((x) => asBuffer(x) ?? Buffer.alloc(0));
}
