export * from './wire/frame.js';
export * from './wire/index.js';
export * from './errors.js';
export * from './api/index.js';
export * from './profiles/index.js';
export type { ConnectSecurityOptions } from './api/session-security.js';
export * from './testing/test-profiles.js';
export { MessageStream } from './session/message-stream.js';
export * from './conform/index.js';
