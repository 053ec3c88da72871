/** Everything public of the session layer, transports and entry points (re-exported by src/index.ts). */
export { connect, createSession, DEFAULT_LISTENER_IDLE_TIMEOUT, listen, listenOn, Listener } from './connect.js';
export type { ConnectOptions, ConnectTarget, CreateSessionOptions, ListenOptions, PeerOptions } from './connect.js';
export { Session } from '../session/session.js';
export type { SessionBinding, StartChannelOptions, TuneOptions, WrapFunction } from '../session/session.js';
export { Channel } from '../session/channel.js';
export type { RequestOptions } from '../session/channel.js';
export { IncomingMessage, Responder } from '../session/message.js';
export { BeepErrReply, errorFromErr } from '../session/reply-sinks.js';
export { DEFAULT_LIMITS } from '../session/options.js';
export { DEFAULT_MAX_TOTAL_QUEUED_BYTES, SendBudget } from '../session/send-budget.js';
export type { ResolvedLimits, Role, SessionLimits, SessionOptions } from '../session/options.js';
export type {
  EntityOptions,
  GreetingInfo,
  Payload,
  ProfileDefinition,
  ReplyOptions,
  StartDecision,
  StartInfo,
} from '../session/types.js';
export { bindSession, DuplexBinding } from '../transport/duplex-binding.js';
export type { ListenerEvents } from './connect.js';
export type { SessionEvents } from '../session/session.js';
export type { ChannelEvents } from '../session/channel.js';
