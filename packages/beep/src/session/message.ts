/** Received messages and the reply handle given to profile handlers. */
import { BeepClosedError, BeepUsageError } from '../errors.js';
import { parseEntity, type MimeEntity } from '../wire/mime.js';
import { buildXmlEntity } from '../wire/mime.js';
import { buildError } from '../wire/xml/build.js';
import type { DataKeyword } from '../wire/frame.js';
import type { MessageStream } from './message-stream.js';
import { buildPayload, buildPayloadParts } from './entity.js';
import type { Payload, ReplyOptions } from './payload.js';

/**
 * A complete message received on a channel: a MSG for handlers, a RPY/ERR/ANS/NUL for requesters. Its `channel`
 * (the Channel it arrived on) is declared by channel.ts (module augmentation), so that this file does not import
 * channel.ts, which imports it.
 */
export class IncomingMessage {
  private parsed: MimeEntity | undefined;
  /** For `request()` answered with ANS ... NUL: the ANS messages in arrival order. */
  answers: IncomingMessage[] | undefined;
  /**
   * Streamed messages only (a `streaming` profile or channel, `channel.requestStream()`): the body as a Readable
   * of frame payloads, whatever its size. `raw` then holds just the MIME header block and `payload` is empty.
   * Read it (or destroy it) promptly: unread octets hold back the peer.
   */
  stream: MessageStream | undefined;

  constructor(
    readonly type: DataKeyword,
    channel: object,
    readonly msgno: number,
    /** The whole wire payload (MIME header block + body). */
    readonly raw: Buffer,
    readonly ansno: number | undefined = undefined,
  ) {
    // Declared by augmentation (see above): an ordinary own property, as a constructor parameter property would be.
    (this as unknown as { channel: object }).channel = channel;
  }

  /** The MIME entity (headers, content type); lenient: no header block means defaults. */
  get entity(): MimeEntity {
    return (this.parsed ??= parseEntity(this.raw));
  }

  /** The body, after the MIME header block. */
  get payload(): Buffer {
    return this.entity.body;
  }

  /** The body as UTF-8 text. */
  text(): string {
    return this.payload.toString('utf8');
  }
}

/** Consumer of the replies to one of our MSGs. */
export interface ReplySink {
  /** A complete RPY or ERR (final), ANS (not final) or NUL (final, with an empty message). */
  deliver(msg: IncomingMessage, final: boolean): void;
  /** The exchange failed locally (channel/session closed, reply too large). */
  fail(err: Error): void;
  /** Streamed replies (requestStream): the RPY's header block is known; its body follows in `msg.stream`. */
  streamStarted?(msg: IncomingMessage): void;
}

/** Where the replies to one received MSG go (the session's sender, for that MSG's channel and slot). */
export interface ReplyTarget {
  readonly msgno: number;
  /** False once the channel or the session closed. */
  readonly open: boolean;
  /**
   * Queue one reply message: an ANS (numbered by the target), or the final RPY, ERR or NUL. Replies of one channel
   * leave in MSG order.
   */
  send(type: 'RPY' | 'ERR' | 'NUL' | 'ANS', data: Buffer | { head: Buffer; body: Buffer }, opts: ReplyOptions | undefined): void;
  /** Resolves once the channel may queue more (below sendHighWater). */
  whenWritable(): Promise<void>;
}

/**
 * The reply handle of one received MSG. Exactly one of: `rpy()`, `err()`, or any number of `ans()` followed by
 * `nul()`. Replies of one channel are sent in MSG order whatever order handlers finish in.
 */
export class Responder {
  private finished = false;

  /** @internal */
  constructor(
    private readonly target: ReplyTarget,
  ) {}

  /** True once the final reply (RPY, ERR or NUL) was given. */
  get done(): boolean {
    return this.finished;
  }

  /** True after ans() until nul(): only ans() and nul() may follow. */
  get answering(): boolean {
    return this.ansStarted;
  }

  get msgno(): number {
    return this.target.msgno;
  }

  private final(
    type: 'RPY' | 'ERR' | 'NUL',
    data: Buffer | { head: Buffer; body: Buffer },
    opts: ReplyOptions | undefined,
  ): void {
    if (this.finished) throw new BeepUsageError(`the reply to MSG ${this.target.msgno} was already completed`, 'BEEP_REPLY_DONE');
    if (type !== 'NUL' && this.ansStarted) {
      throw new BeepUsageError('after ans() the reply must end with nul()', 'BEEP_REPLY_DONE');
    }
    this.finished = true;
    this.target.send(type, data, opts);
  }

  private ansStarted = false;

  /** Positive reply (RPY). */
  rpy(payload?: Payload, opts?: ReplyOptions): void {
    this.final('RPY', buildPayloadParts(payload, opts), opts);
  }

  /**
   * Negative reply (ERR). `err(550, 'text')` sends an application/beep+xml `<error code='550'>text</error>`;
   * `err(payload, opts)` sends any payload.
   */
  err(codeOrPayload: number | Payload, textOrOpts?: string | ReplyOptions): void {
    if (typeof codeOrPayload === 'number') {
      const text = typeof textOrOpts === 'string' ? textOrOpts : undefined;
      const xml = buildError(text === undefined ? { code: codeOrPayload } : { code: codeOrPayload, text });
      this.final('ERR', buildXmlEntity(xml), typeof textOrOpts === 'object' ? textOrOpts : undefined);
    } else {
      const opts = typeof textOrOpts === 'object' ? textOrOpts : undefined;
      this.final('ERR', buildPayload(codeOrPayload, opts), opts);
    }
  }

  /**
   * One answer of a one-to-many reply (ANS). Resolves once the channel's unsent data is below `sendHighWater`,
   * so `await reply.ans(x)` in a loop cannot outrun a slow reader. Rejects with BeepClosedError if the channel
   * or session closed.
   */
  ans(payload: Payload, opts?: ReplyOptions): Promise<void> {
    if (this.finished) return Promise.reject(new BeepUsageError('the reply was already completed', 'BEEP_REPLY_DONE'));
    if (!this.target.open) return Promise.reject(new BeepClosedError('BEEP_CHANNEL_CLOSED', 'channel closed'));
    this.ansStarted = true;
    this.target.send('ANS', buildPayloadParts(payload, opts), opts?.onSent ? { onSent: opts.onSent } : undefined);
    return this.target.whenWritable();
  }

  /** Ends a one-to-many reply (NUL, always size 0). Legal with zero preceding ANS. */
  nul(): void {
    this.ansStarted = false;
    this.final('NUL', Buffer.alloc(0), undefined);
  }
}
