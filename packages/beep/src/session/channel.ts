/** The public face of one BEEP channel. */
import { EventEmitter } from 'node:events';

import type { IncomingMessage, Responder } from './message.js';
import { ReplyStream, SingleReply, StreamReply } from './reply-sinks.js';
import type { Session } from './session.js';
import type { ChanState, ReplySink } from './state.js';
import type { EntityOptions, Payload } from './types.js';

/** Options of `channel.request()` / `channel.requestMany()`. */
export interface RequestOptions extends EntityOptions {
  /** Abort waiting: the promise rejects (the exchange still completes on the wire; its reply is discarded). */
  signal?: AbortSignal;
}

/** What a Channel asks of its session (implemented by the session's facade). */
export interface ChannelPort {
  /** Send a MSG on `ch`; its reply goes to `sink`. */
  request(
    ch: ChanState,
    payload: Payload,
    opts: RequestOptions | undefined,
    sink: ReplySink,
    signal: AbortSignal | undefined,
    streaming: boolean,
  ): void;
  /** Receive-window accounting of `ch`: octets held (+) or consumed (-) by a reply's reader. */
  backlog(ch: ChanState, delta: number): void;
  /** Close `ch` (RFC 3080 §2.3.1.3). */
  close(ch: ChanState, code: number, text: string | undefined, signal: AbortSignal | undefined): Promise<void>;
}

/**
 * A channel (RFC 3080 §2.3). Either side may send MSGs on it (§2.7). Events: `close` (reason?: Error) once
 * the channel is closed or the session ended.
 */
export class Channel extends EventEmitter {
  /** Piggybacked content of the peer's positive start reply (for channels we started), or undefined. */
  startReplyContent: Buffer | undefined;

  /** @internal */
  constructor(
    /** The session this channel belongs to. */
    readonly session: Session,
    /** @internal */
    readonly _s: ChanState,
    private readonly port: ChannelPort,
  ) {
    super();
  }

  private readonly backlog = (delta: number): void => this.port.backlog(this._s, delta);

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
    this.port.request(this._s, payload, opts, sink, opts?.signal, false);
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
    this.port.request(this._s, payload, opts, sink, opts?.signal, true);
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
    this.port.request(this._s, payload, opts, sink, opts?.signal, false);
    return sink;
  }

  /**
   * Close the channel (RFC 3080 §2.3.1.3): waits until our MSGs on it are acknowledged, sends `close`, resolves on
   * `ok`; rejects with BeepReplyError (e.g. 550) if the peer declines, the channel then stays open.
   */
  close(code = 200, opts: { text?: string; signal?: AbortSignal } = {}): Promise<void> {
    if (!this._s.open) return Promise.resolve();
    return this.port.close(this._s, code, opts.text, opts.signal);
  }
}

