/** Public types shared by the session, its channels and profile handlers. */
import type { Channel } from './channel.js';
import type { IncomingMessage, Responder } from './message.js';
import type { Payload } from './payload.js';

export type { EntityOptions, Payload, ReplyOptions } from './payload.js';

/** What a peer offered in a `start` element, as seen by `ProfileDefinition.onStart`. */
export interface StartInfo {
  // `session: Session` is added by session.ts (module augmentation), so that this file does not import it.
  /** The channel number the peer asked for. */
  channel: number;
  uri: string;
  /** Piggybacked content (base64 already decoded), or undefined. */
  content: Buffer | undefined;
  /** The `encoding` attribute the content was sent with. */
  encoding: 'none' | 'base64';
  serverName: string | undefined;
}

/** The result of `onStart`: accept (optionally with piggybacked reply content) or refuse. */
export type StartDecision =
  | void
  | undefined
  | boolean
  | {
      /** Refuse this profile with this reply code (e.g. 550, 501, 534) and text. */
      refuse?: { code: number; text?: string };
      /** Piggybacked content for the `profile` element of the positive reply. */
      content?: Payload;
      /** Send the content base64-encoded. Default: 'base64' for binary Buffers, 'none' for strings. */
      encoding?: 'none' | 'base64';
      /** Tuning: send nothing after this reply (see ReplyOptions.quiet). */
      quiet?: boolean;
      /** Called once the positive reply was handed to the transport. */
      onSent?: (channel: Channel) => void;
    };

/** A profile this peer offers (RFC 3080 §2.3.1.2). */
export interface ProfileDefinition {
  /** The profile URI advertised in the greeting. */
  uri: string;
  /** Accept or refuse a peer's `start`. Default: accept. May be async (channel-0 replies stay in order). */
  onStart?: (info: StartInfo) => StartDecision | Promise<StartDecision>;
  /** Serve a MSG received on a channel of this profile. Throwing/rejecting before replying sends ERR 451. */
  onMessage?: (msg: IncomingMessage, reply: Responder) => void | Promise<void>;
  /**
   * Receive MSGs as streams: `onMessage` is called as soon as a MSG's MIME header block arrived, with the body in
   * `msg.stream` (a Readable of frame payloads, not subject to `maxMessageSize`). Reading the stream is what opens
   * the receive window again, so the peer sends no faster than the handler reads. Replies wait until the MSG's
   * last frame; a final reply given while the stream was never read drops the rest of the MSG. Default false.
   */
  streaming?: boolean;
  /** Called when a channel of this profile opened (either side started it). */
  onChannel?: (channel: Channel) => void;
  /** Approve (true, default) or decline (false or a reply code/text) the peer's request to close a channel. */
  onCloseRequest?: (channel: Channel, code: number) => boolean | { code: number; text?: string };
  /**
   * Hide this profile from the greeting (still accepted in `start`). Used by tuning profiles once they have run.
   */
  hidden?: boolean;
}

/** What the peer said in its greeting. */
export interface GreetingInfo {
  profiles: string[];
  features: string[];
  localize: string[];
}
