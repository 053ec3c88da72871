import type { Entry, TypeName, Value } from './store.js';

/** Default of ContextOptions.maxLcsTableBytes: Redis' default proto-max-bulk-len. */
export const DEFAULT_LCS_MAX_TABLE_BYTES = 512 * 1024 * 1024;

export interface ContextOptions {
  /** Number of databases (default 16). */
  databases?: number;
  /** Clock in ms (default Date.now); inject one for deterministic expiry tests. */
  now?: () => number;
  /** Random source in [0, 1) (default Math.random), for SPOP/SRANDMEMBER/HRANDFIELD/RANDOMKEY. */
  random?: () => number;
  /** Active expiry period in ms (default 100); 0 disables the timer (lazy expiry only). */
  activeExpireInterval?: number;
  /** Most keys expired per database per active expiry tick (default 2000). */
  activeExpireBudget?: number;
  /** Most SCAN/HSCAN/SSCAN cursors kept resumable at once (default 256). */
  scanCursorCache?: number;
  /**
   * Most bytes of LCS' transient table (4 per cell; default 512 MiB). A server keeps it equal to its CONFIG
   * `proto-max-bulk-len`, as Redis does.
   */
  maxLcsTableBytes?: number;
  /**
   * The dataset of a replica (BeamMirror): keys never expire locally. A key past its TTL reads as absent but
   * stays until the master's DEL, and the master's own commands see it as live (ClientState.master).
   */
  replica?: boolean;
  /**
   * Key prefixes of Beam's own keys (default ['/beam']): they stay readable by name, but DBSIZE, KEYS, SCAN,
   * RANDOMKEY and INFO keyspace leave them out, so they never show in the user's keyspace.
   */
  hiddenPrefixes?: string[];
}

/** One key/value pair as `entries()` yields it for snapshots. Values are the live objects: do not mutate. */
export interface SnapshotEntry {
  key: Buffer;
  type: TypeName;
  /** string: Buffer; list: the live Deque; hash: Map<field latin1, Buffer>; set: Set<member latin1>; zset: the live ZSet. */
  value: Value;
  expireAt: number | null;
}

/** Told about a key before it changes (see Context.observeKeys). `data` is the map holding the key right now. */
export interface KeyObserver {
  beforeKeyChange(data: Map<string, Entry>, key: string, e: Entry, removing: boolean): void;
}

export interface KeyspaceInfo {
  db: number;
  keys: number;
  expires: number;
  avgTtl: number;
}

