import type { Readable } from 'node:stream';
import { RespConnection, type RawReply } from './connection.js';
import { BeamOptionError } from '../errors.js';
import { BeamReplyError } from './errors.js';
import { startJob, type BeamJob, type RunOptions } from './job-client.js';

export type { RunOptions };
import type { CommandArg } from '../wire/command-encoder.js';
import { ErrorReply } from '../wire/reply.js';
import type { BeamClientTlsOptions } from './socket.js';
import { resolveTarget, type BeamTarget, type ResolvedTarget } from './target.js';
import type { BeamMirror, SyncOptions } from './sync-client.js';

export interface BeamClientOptions {
  /** ACL user for AUTH (Redis 6+); without it AUTH authenticates the default user. */
  username?: string;
  password?: string;
  connectTimeoutMs?: number;
  /** TLS (also implied by a `rediss://` URL): `true`, or `{ ca, servername, rejectUnauthorized, cert, key }`. */
  tls?: BeamClientTlsOptions | boolean;
}


/** Decoded reply: strings (UTF-8), numbers (bigint beyond 2^53), booleans, null, arrays; errors inside arrays (EXEC) are BeamReplyErrors. */
export type Reply = string | number | bigint | boolean | null | BeamReplyError | Reply[];

function decode(r: RawReply): Reply {
  if (Buffer.isBuffer(r)) return r.toString('utf8');
  if (Array.isArray(r)) return r.map(decode);
  if (r instanceof ErrorReply) return new BeamReplyError(r.message);
  return r;
}

/**
 * A client of a Beam server (or any Redis-compatible server running the job protocol).
 * `call()` sends any command (pipelined); `run()` runs a job and streams its output.
 */
export class BeamClient {
  private readonly target: ResolvedTarget;
  private readonly conn: RespConnection;
  private readonly extra = new Set<RespConnection>();

  constructor(
    target: BeamTarget,
    private readonly options: BeamClientOptions = {},
  ) {
    this.target = resolveTarget(target);
    this.conn = new RespConnection(this.target, options);
  }

  async connect(): Promise<this> {
    await this.conn.connect();
    return this;
  }

  /** Any command; replies decoded to strings. Error replies reject with BeamReplyError. */
  async call(...args: CommandArg[]): Promise<Reply> {
    return decode(await this.conn.call(args));
  }

  /** Any command; strings stay Buffers. */
  callBuffer(...args: CommandArg[]): Promise<RawReply> {
    return this.conn.call(args);
  }

  /** A second connection for blocking reads (closed with the client). */
  async openConnection(): Promise<RespConnection> {
    const c = new RespConnection(this.target, this.options);
    this.extra.add(c);
    try {
      await c.connect();
    } catch (e) {
      this.extra.delete(c);
      throw e;
    }
    return c;
  }

  async releaseConnection(c: RespConnection): Promise<void> {
    this.extra.delete(c);
    await c.close();
  }

  /**
   * Creates and starts a job: `RPUSH /jobs NAME`, args, env, `SET /jobs/$id ""`, then streams stdin to
   * stream 0 and output frames from a second connection (BLPOP) into `stdout`/`stderr`.
   */
  run(args: readonly string[], options: RunOptions = {}): Promise<BeamJob> {
    const name = options.name ?? args[0];
    if (name === undefined || name === '') return Promise.reject(new BeamOptionError('run: a job needs a name (args[0])', 'BEAM_JOB_NAME'));
    return startJob(this, name, args, options);
  }

  /**
   * A local mirror of the server's dataset, kept by the replication protocol on a connection of its own:
   * resolves once the snapshot is loaded, then emits 'change' for every write. Close it with `mirror.close()`.
   */
  async sync(options: SyncOptions = {}): Promise<BeamMirror> {
    // The mirror keeps its dataset in a replica Context (the whole command set): loaded only by those who sync.
    const { syncMirror } = await import('./sync-client.js');
    return syncMirror(this.target, { ...this.options, ...options });
  }

  async close(): Promise<void> {
    await Promise.all([...this.extra].map((c) => c.close()));
    this.extra.clear();
    await this.conn.close();
  }
}
