import type { ClientRegistry, DispatchClient, Dispatcher } from '../../context/dispatch.js';
import type { ServerConfig } from '../../context/config.js';
import type { Context } from '../../context/context.js';
import type { Monitors } from '../monitor.js';
import type { Authenticator } from '../auth.js';

/** What the connection commands know about the server they run in. */
export interface ServerEnv {
  /** Reported as `server` in HELLO (default 'redis', which clients expect). */
  readonly serverName: string;
  /** Reported as `version` in HELLO and `redis_version` in INFO. */
  readonly version: string;
  readonly config: ServerConfig;
  readonly registry: ClientRegistry;
  readonly runId: string;
  /** TCP port, or 0 for unix sockets. */
  port(): number;
  /** Number of databases SELECT accepts. */
  readonly databases: number;
  /** MONITOR clients of the whole server. */
  readonly monitors: Monitors;
  /** Users, passwords and AUTH throttling. */
  readonly auth: Authenticator;
  /**
   * A script of `dispatcher` runs past busy-reply-threshold: read and answer the other clients now (BUSY to most
   * commands), from inside the script's hook.
   */
  serveWhileBusy?(dispatcher: Dispatcher, caller: DispatchClient): void;
  /**
   * SHUTDOWN was accepted (after any SAVE it asked for): the server emits 'shutdown' and, when nobody listens,
   * closes itself.
   */
  shutdown(): void;
}

/** The per-dispatcher pieces: the dispatcher itself and the Context it serves (if any). */
export interface CommandScope {
  readonly env: ServerEnv;
  readonly dispatcher: Dispatcher;
  readonly context: Context | undefined;
}
