/** TLS and SASL wired into sessions: listener policy and profiles, initiator helpers, identity. */
export * from './identity.js';
export * from './user-store.js';
export * from './security-options.js';
export * from './listener-security.js';
export * from './client-tuning.js';
export { tlsSocketOf } from './tls-socket.js';
export { peerAddressOf } from './peer-address.js';
export { AUTH_FAILURE_CHANNEL, type SaslAuthFailure } from './sasl-guard.js';
