// Reply model and command interface shared by the server, the context and the job engine.
export * from './wire/reply.js';
export type * from './context/api.js';

// RESP wire layer.
export { RequestDecoder, RespProtocolError, DEFAULT_DECODER_LIMITS, parseStrictInt, type RequestDecoderLimits } from './wire/request-decoder.js';
export { RespWriter, encodeReply, type RespVersion } from './wire/resp-encoder.js';
export { encodeCommand, type CommandArg } from './wire/command-encoder.js';
export { ReplyDecoder, RespReplyError, decodeReply, type ReplyValue, type ReplyDecoderOptions, type ReplySink } from './wire/reply-decoder.js';
export { BeamOptionError } from './errors.js';

// The embedded context (keyspace), dispatcher, configuration and pub/sub.
export { Context, type ContextOptions, type KeyspaceInfo } from './context/context.js';
export { Dispatcher, DispatchClient, type DispatcherOptions, type DispatchClientOptions } from './context/dispatch.js';
export { ServerConfig, ConfigError } from './context/config.js';
export { PubSubHub, hubFor } from './context/pubsub.js';
export { globMatch } from './context/glob.js';

// The RESP server.
export { BeamServer, createServer, type BeamServerOptions } from './server/server.js';
export { generateSelfSigned, type BeamServerTlsOptions, type SelfSignedCertificate } from './server/tls.js';
export { Authenticator, AUTH_FAILURE_CHANNEL, PROTECTED_MODE_DENIED, isLocalAddress, isLoopbackBind, type AuthFailure } from './server/auth.js';
export { AuthThrottle, DEFAULT_AUTH_THROTTLE, type AuthThrottleOptions } from './server/auth-throttle.js';

// Beam jobs.
export {
  attachJobs,
  JobEngine,
  HandlerRegistry,
  DEFAULT_LIMITS as DEFAULT_JOB_LIMITS,
  DEFAULT_KILL_GRACE_MS,
  DEFAULT_RETAIN_FINISHED_MS,
  DEFAULT_UNSTARTED_TTL_MS,
  JobSignalError,
  SIGNALS,
  parseSignal,
  encodeFrame as encodeJobFrame,
  parseFrame as parseJobFrame,
  JOBS_DB,
  JOBS_KEY,
  HANDLERS_KEY as BEAM_HANDLERS_KEY,
  EXEC_KEY as BEAM_EXEC_KEY,
  checkJob,
  jobKey,
  parseJobKey,
  EXIT_NOT_EXECUTABLE,
  EXIT_NOT_FOUND,
} from './jobs/index.js';
export type {
  AttachJobsOptions,
  FilterTarget,
  JobCheck,
  JobCatalog,
  JobHandler,
  JobIO,
  JobEngineOptions,
  JobLimits,
  SignalName,
  Frame as JobFrame,
  JobContext,
} from './jobs/index.js';

// Client.
export { BeamClient, BeamError, BeamReplyError, BeamConnectionError, RespConnection, resolveTarget, DEFAULT_PORT } from './client/index.js';
export type { BeamClientOptions, RunOptions, Reply as ClientReply, BeamJob, RawReply, BeamTarget } from './client/index.js';
export { openSocket, type BeamClientTlsOptions } from './client/index.js';

// Beam on a real Redis: workers, claims, catalogs (docs/scale-out.md).
export * as worker from './worker/index.js';
export { BeamWorker, type WorkerOptions, type RedisTarget } from './worker/index.js';

// Replication building blocks (SYNC/PSYNC, RDB).
export * as sync from './sync/index.js';

// Replication: master side of a server, and the client-side mirror.
export { ReplicationMaster, replicationFor, type ReplicationOptions, type ReplicaInfo } from './server/replication.js';
export { BeamMirror, type SyncOptions, type MirrorChange, type MirrorValue, type MirrorState } from './client/index.js';

// Event maps of the EventEmitters above (`on`/`once`/`emit` are checked against them).
export type { ContextEvents } from './context/context.js';
export type { ServerConfigEvents } from './context/config.js';
export type { BeamServerEvents } from './server/server.js';
export type { JobEngineEvents } from './jobs/engine.js';
export type { BeamWorkerEvents } from './worker/worker.js';
export type { BeamMirrorEvents } from './client/sync-client.js';
export type { ReplicaLinkEvents } from './sync/replica-link.js';
