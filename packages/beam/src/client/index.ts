export { BeamClient, type BeamClientOptions, type RunOptions, type Reply } from './beam-client.js';
export type { BeamJob } from './job-client.js';
export { BeamError, BeamReplyError, BeamConnectionError } from './errors.js';
export { RespConnection, type RawReply } from './connection.js';
export { BeamMirror, syncMirror, type SyncOptions, type MirrorChange, type MirrorValue, type MirrorState } from './sync-client.js';
export { resolveTarget, DEFAULT_PORT, type BeamTarget } from './target.js';
export { openSocket, type BeamClientTlsOptions } from './socket.js';
