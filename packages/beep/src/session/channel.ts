/** The public face of one BEEP channel. */
import { TypedEventEmitter } from '@beamgate/base';

import type { IncomingMessage, ReplySink, Responder } from './message.js';
import type { EntityOptions, Payload } from './payload.js';
import { ReplyStream, SingleReply, StreamReply } from './reply-sinks.js';

declare module './message.js' {
  interface IncomingMessage {
    /** The channel the message arrived on. */
    readonly channel: Channel;
  }
}

/** Options of `channel.request()` / `channel.requestMany()`. */
export interface RequestOptions extends EntityOptions {
  /** Abort waiting: the promise rejects (the exchange still completes on the wire; its reply is discarded). */
  signal?: AbortSignal;
}

/** Events of a Channel. */
export interface ChannelEvents {
  close: [reason?: Error];
}

/** What a Channel shows of its session-side state. */
export interface ChannelState {
  readonly number: number;
  readonly uri: string;
  readonly open: boolean;
  streaming: boolean;
  onMessage: ((msg: IncomingMessage, reply: Responder) => void | Promise<void>) | undefined;
}

/** What a Channel asks of its session, for this channel (implemented by the session). */
export interface ChannelPort {
  /** Send a MSG; its reply goes to `sink`. */
  request(payload: Payload, opts: RequestOptions | undefined, sink: ReplySink, signal: AbortSignal | undefined, streaming: boolean): void;
  /** Receive-window accounting: octets held (+) or consumed (-) by a reply's reader. */
  backlog(delta: number): void;
  /** Close the channel (RFC 3080 §2.3.1.3). */
  close(code: number, text: string | undefined, signal: AbortSignal | undefined): Promise<void>;
}

/**
 * A channel (RFC 3080 §2.3). Either side may send MSGs on it (§2.7). Events: `close` (reason?: Error) once
 * the channel is closed or the session ended. Its `session` (the Session it belongs to) is declared by session.ts
 * (module augmentation), so that this file does not import session.ts, which imports it.
 */
export class Channel extends TypedEventEmitter<ChannelEvents> {
  /** Piggybacked content of the peer's positive start reply (for channels we started), or undefined. */
  startReplyContent: Buffer | undefined;

  /** @internal */
  constructor(
    session: object,
    /** @internal */
    readonly _s: ChannelState,
    private readonly port: ChannelPort,
  ) {
    super();
    // Declared by augmentation (see above): an ordinary own property, as a constructor parameter property would be.
    (this as unknown as { session: object }).session = session;
  }

  private readonly backlog = (delta: number): void => this.port.backlog(delta);

  /** Channel number (odd: started by the initiator, even: by the listener). */
  get number(): number {
    return this._s.number;
  }

  /** The profile URI this channel runs. */
  get profile(): string {
    return this._s.uri;
  }

  /** True until the channel is closed (by either side) or the session ends. */
  get isOpen(): boolean {
    return this._s.open;
  }

  /**
   * Handler for MSGs the peer sends on this channel (overrides the profile's `onMessage`). Without one, MSGs
   * are refused with ERR 504.
   */
  set onMessage(fn: ((msg: IncomingMessage, reply: Responder) => void | Promise<void>) | undefined) {
    this._s.onMessage = fn;
  }
  get onMessage(): ((msg: IncomingMessage, reply: Responder) => void | Promise<void>) | undefined {
    return this._s.onMessage;
  }

  /**
   * Send a MSG and wait for its reply: resolves with the RPY, rejects with BeepReplyError for ERR (the peer's
   * code and text when it sent an `<error>` element). A reply made of ANS ... NUL resolves with the NUL message
   * whose `answers` holds the ANS messages.
   */
  request(payload: Payload, opts?: RequestOptions): Promise<IncomingMessage> {
    const sink = new SingleReply(this.backlog);
    this.port.request(payload, opts, sink, opts?.signal, false);
    return sink.promise;
  }

  /**
   * Send a MSG and receive its reply as a stream, whatever its size: resolves as soon as the RPY's MIME header block
   * arrived, with the body in `msg.stream` (a Readable; reading it opens our receive window again, so the peer is
   * flow-controlled by the reader). Rejects with BeepReplyError for ERR. A one-to-many reply (ANS ... NUL) resolves
   * at the first ANS with type 'ANS' and a stream carrying every ANS body in arrival order (each ANS is reassembled,
   * so each stays under `maxMessageSize`), ending at NUL.
   */
  requestStream(payload: Payload, opts?: RequestOptions): Promise<IncomingMessage> {
    const sink = new StreamReply(this.backlog);
    this.port.request(payload, opts, sink, opts?.signal, true);
    return sink.promise;
  }

  /**
   * Receive the peer's MSGs on this channel as streams (see ProfileDefinition.streaming, its default). Takes effect
   * from the next MSG.
   */
  get streaming(): boolean {
    return this._s.streaming;
  }
  set streaming(on: boolean) {
    this._s.streaming = on;
  }

  /**
   * Send a MSG and iterate over its one-to-many reply: yields each ANS (or a lone RPY), ends at NUL, throws
   * BeepReplyError for ERR. Unread answers hold back the peer (their octets stay out of our advertised window).
   */
  requestMany(payload: Payload, opts?: RequestOptions): AsyncIterableIterator<IncomingMessage> {
    const sink = new ReplyStream(this.backlog);
    this.port.request(payload, opts, sink, opts?.signal, false);
    return sink;
  }

  /**
   * Close the channel (RFC 3080 §2.3.1.3): waits until our MSGs on it are acknowledged, sends `close`, resolves on
   * `ok`; rejects with BeepReplyError (e.g. 550) if the peer declines, the channel then stays open.
   */
  close(code = 200, opts: { text?: string; signal?: AbortSignal } = {}): Promise<void> {
    if (!this._s.open) return Promise.resolve();
    return this.port.close(code, opts.text, opts.signal);
  }
}

