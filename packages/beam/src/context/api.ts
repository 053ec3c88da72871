import type { Reply } from '../wire/reply.js';

/**
 * The command interface every caller goes through: network connections, MULTI/EXEC, the job engine
 * (through an internal client) and, later, replication. Handlers are synchronous unless they must block.
 */

/** Per-connection state a command may read or change. */
export interface ClientState {
  readonly id: number;
  /** Selected database, 0..15. */
  db: number;
  /** Protocol chosen with HELLO. */
  resp: 2 | 3;
  name: string | null;
  /** True while EXEC runs queued commands: blocking commands must not block then. */
  inExec: boolean;
  /** Internal clients (job engine, replication) may write reserved `/beam*` keys. */
  readonly internal: boolean;
  /**
   * The replication master's commands on a replica (a mirror): every key is live for them, whatever its TTL on
   * the local clock; keys expire only by the master's DEL (Redis' master client on a replica).
   */
  readonly master?: boolean;
  /** Aborted when the connection closes: cancels blocking waits. */
  readonly signal: AbortSignal;
  /** The client a Lua script's redis.call() runs as (SORT of a set then sorts, as in Redis). */
  script?: boolean;
  /** Set while the client is blocked on keys: ends the wait (CLIENT UNBLOCK), with an error reply or as a timeout. */
  unblock?: ((error: boolean) => void) | null;
}

export interface CommandInvocation {
  /** argv[0] is the command name as sent (any case). */
  readonly argv: Buffer[];
  readonly client: ClientState;
  /**
   * Replace what is propagated to replicas for this call (Redis' alsoPropagate/rewriteClientCommandVector):
   * e.g. EXPIRE -> PEXPIREAT, SPOP -> SREM, BLPOP -> LPOP, INCRBYFLOAT -> SET KEEPTTL. Pass [] to
   * propagate nothing. Without a call, a write command that changed the dataset propagates its argv.
   */
  propagate(commands: Buffer[][]): void;
}

export type CommandResult = Reply | Promise<Reply>;

export type CommandHandler = (inv: CommandInvocation) => CommandResult;

/** Redis command metadata, as COMMAND INFO reports it. */
export interface CommandSpec {
  /** Lower case, e.g. `get`; container commands use `config|get` style for subcommands only in metadata. */
  name: string;
  /** Redis convention: N > 0 exactly N words including the name; -N at least N. */
  arity: number;
  /** e.g. 'write', 'readonly', 'denyoom', 'fast', 'blocking', 'pubsub', 'admin', 'noscript', 'loading', 'stale'. */
  flags: string[];
  firstKey: number;
  lastKey: number;
  step: number;
  handler: CommandHandler;
}

/** Emitted by the context on every change of a key (the event names Redis uses for keyspace notifications). */
export interface KeyspaceEvent {
  db: number;
  /** e.g. 'set', 'rpush', 'lpop', 'del', 'expire', 'expired', 'hset', 'sadd', 'rename_from', 'rename_to'. */
  event: string;
  key: Buffer;
  /** Notification class as in notify-keyspace-events: '$' string, 'l' list, 'h' hash, 's' set, 'g' generic, 'x' expired, 'e' evicted, 't' stream, 'n' new key. */
  cls: '$' | 'l' | 'h' | 's' | 'z' | 'g' | 'x' | 'e' | 't' | 'n';
}

/** Emitted for FLUSHDB (db number) and FLUSHALL (db = -1): WATCH treats every key of that db as touched. */
export interface FlushEvent {
  db: number;
  /**
   * Whether a key of a database was live in the data this command emptied or swapped in. WATCH marks only such
   * keys touched (Redis 7.0); without it every watched key of the database counts as touched.
   */
  existed?: (db: number, key: string) => boolean;
}

/** A write to propagate to replicas, in execution order. */
export interface PropagateEvent {
  db: number;
  argv: Buffer[];
}

/** Validates a call before it runs (e.g. the job engine refusing a second start): return an error to refuse. */
export type CommandFilter = (inv: CommandInvocation, spec: CommandSpec) => Reply | undefined;
