/**
 * The job engine's JobContext over a real Redis: commands go to Redis through ioredis, and the keyspace events
 * the engine reacts to come from Redis' keyspace notifications (relayed by the worker with `emitKeyspace`).
 * The engine's logic is unchanged; only its door to the data is different.
 */
import { TypedEventEmitter } from '@beamgate/base';
import type { ClientState, FlushEvent, KeyspaceEvent } from '../context/api.js';
import { ErrorReply, type Reply } from '../wire/reply.js';
import type { JobContext } from '../jobs/store.js';
import type { MasterGate } from './master-gate.js';
import { isCluster, type RedisLike } from './target.js';

/** Commands whose keys may span slots on a Redis Cluster: split into one call per key, integer replies summed. */
const SUMMED = new Set(['del', 'unlink', 'exists', 'touch']);

function isReplyError(e: unknown): e is Error {
  return e instanceof Error && e.name === 'ReplyError';
}

/** Events of a RedisJobContext: what JobContext promises. */
export interface RedisJobContextEvents {
  keyspace: [event: KeyspaceEvent];
  flush: [event: FlushEvent];
}

export class RedisJobContext extends TypedEventEmitter<RedisJobContextEvents> implements JobContext {
  private ids = 0;
  private readonly cluster: boolean;

  /** With a gate, commands wait while the connections may not reach the master (a failover in progress). */
  constructor(
    readonly redis: RedisLike,
    private readonly gate?: Pick<MasterGate, 'open' | 'whenOpen'>,
  ) {
    super();
    this.cluster = isCluster(redis);
  }

  call(_client: ClientState, argv: Buffer[]): Promise<Reply> {
    if (this.gate && !this.gate.open) return this.gate.whenOpen().then(() => this.send(argv));
    return this.send(argv);
  }

  private send(argv: Buffer[]): Promise<Reply> {
    const name = argv[0]!.toString('latin1').toLowerCase();
    const args = argv.slice(1);
    if (this.cluster && SUMMED.has(name) && args.length > 1) {
      return Promise.all(args.map((k) => this.one(name, [k]))).then((rs) =>
        rs.some((r) => r instanceof ErrorReply) ? rs.find((r) => r instanceof ErrorReply)! : rs.reduce<number>((a, r) => a + Number(r), 0),
      );
    }
    return this.one(name, args);
  }

  private one(name: string, args: Buffer[]): Promise<Reply> {
    return (this.redis.callBuffer(name, args) as Promise<Reply>).catch((e: unknown) => {
      if (isReplyError(e)) return new ErrorReply(e.message);
      throw e;
    });
  }

  createInternalClient(): ClientState {
    return { id: -1 - this.ids++, db: 0, resp: 2, name: null, inExec: false, internal: true, signal: new AbortController().signal };
  }

  /** Hands the engine a change of a job key (from a notification, or synthesized by the reconciliation pass). */
  emitKeyspace(key: string, event: string): void {
    const e: KeyspaceEvent = { db: 0, event, key: Buffer.from(key, 'latin1'), cls: event === 'set' ? '$' : 'l' };
    this.emit('keyspace', e);
  }
}
