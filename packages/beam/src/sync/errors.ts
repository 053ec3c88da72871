import { BeamError } from '../errors.js';

/** Typed errors of the replication building blocks. Each has a stable `code`. */
export class SyncError extends BeamError {
  override name = 'SyncError';
}

/**
 * A malformed or unsupported RDB payload. Codes: `RDB_BAD_MAGIC`, `RDB_BAD_VERSION`, `RDB_TRUNCATED`,
 * `RDB_BAD_ENCODING`, `RDB_UNSUPPORTED_TYPE`, `RDB_BAD_CHECKSUM`, `RDB_LIMIT`, `RDB_TRAILING_DATA`.
 */
export class RdbError extends SyncError {
  override name = 'RdbError';
}

/**
 * A replica connection was dropped by the master side. Codes: `REPL_OUTPUT_LIMIT` (client-output-buffer-limit),
 * `REPL_TIMEOUT` (repl-timeout), `REPL_SNAPSHOT_FAILED`.
 */
export class ReplicationError extends SyncError {
  override name = 'ReplicationError';
}
