/** Replication building blocks: RDB writer/reader, backlog, propagation stream, master side of a replica link. */
export { crc64, Crc64 } from './crc64.js';
export { SyncError, RdbError, ReplicationError } from './errors.js';
export { RDB_WRITE_VERSION, RDB_MAX_READ_VERSION, RdbType, RdbOpcode } from './rdb-format.js';
export type { Snapshot, SnapshotSource, SnapshotDb, SnapshotEntry, SnapshotValueType, SnapshotBytes } from './snapshot-source.js';
export { staticSnapshot } from './snapshot-source.js';
export { captureSnapshot, KeyspaceSnapshot, type SnapshotKeyspace } from './snapshot.js';
export {
  captureLazySnapshot,
  LazySnapshot,
  type LiveKeyspace,
  type LiveEntry,
  type LiveMap,
  type KeyChangeObserver,
} from './lazy-snapshot.js';
export { rdbChunks, rdbChunksSync, rdbReadable, writeRdbSync, YIELD_POINT, type RdbWriteOptions } from './rdb-writer.js';
export { RdbParser, parseRdb, type RdbEntry, type RdbFile, type RdbReadOptions } from './rdb-reader.js';
export { decodeListpack, decodeZiplist, decodeIntset } from './rdb-encodings.js';
export { lzfDecompress } from './lzf.js';
export { ReplicationBacklog, randomReplId, type BacklogOptions } from './backlog.js';
export { ReplicationStreamReader, type StreamCommand, type StreamReaderOptions } from './stream-reader.js';
export { encodeCommand } from '../wire/command-encoder.js';
export { ReplicationFeed, type ReplicationFeedOptions, type StreamListener } from './propagation.js';
export {
  ReplicaLink,
  DEFAULT_REPLICA_OUTPUT_LIMIT,
  type ReplicaLinkOptions,
  type ReplicaSink,
  type ReplicaState,
  type OutputLimit,
} from './replica-link.js';
