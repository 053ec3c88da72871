/** Consumers of the reply to one of our MSGs: a single promise (`request`) or an async iterator (`requestMany`). */
import { BeepReplyError } from '../errors.js';
import { parseChannel0 } from '../wire/xml/channel0.js';
import { IncomingMessage, type ReplySink } from './message.js';
import { MessageStream } from './message-stream.js';

/** Receive-window accounting of the reply's channel: octets held (+) or consumed (-) by the reader. */
export type Backlog = (delta: number) => void;

/** A negative reply (ERR) to one of our MSGs; `reply` is the ERR message itself. */
export class BeepErrReply extends BeepReplyError {
  override name = 'BeepErrReply';
  /** The ERR message itself (non-enumerable, to keep logs small). */
  declare readonly reply: IncomingMessage;
  constructor(code: number, text: string, lang: string | undefined, reply: IncomingMessage) {
    super(code, text, lang);
    Object.defineProperty(this, 'reply', { value: reply, enumerable: false });
  }
}

/**
 * Turn an ERR message into an error: the `<error code='...'>text</error>` element when the body is one, else
 * replyCode 0 with the body text as the message.
 */
export function errorFromErr(msg: IncomingMessage): BeepErrReply {
  const body = msg.payload;
  if (body.length > 0 && body.length <= 65536) {
    const trimmed = body.toString('utf8').trim();
    if (trimmed.startsWith('<error')) {
      try {
        const el = parseChannel0(trimmed, { expect: 'err' });
        if (el.type === 'error') return new BeepErrReply(el.code, el.text || `error ${el.code}`, el.lang, msg);
      } catch {
        // not an error element: fall through
      }
    }
  }
  return new BeepErrReply(0, body.toString('utf8', 0, Math.min(body.length, 512)) || 'ERR reply', undefined, msg);
}

/** A reply sink whose consumer waits on one promise. */
abstract class PromisedReply implements ReplySink {
  readonly promise: Promise<IncomingMessage>;
  protected resolve!: (m: IncomingMessage) => void;
  protected reject!: (e: Error) => void;

  constructor(protected readonly backlog: Backlog) {
    this.promise = new Promise((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
  }

  abstract deliver(msg: IncomingMessage, final: boolean): void;
  abstract fail(err: Error): void;
}

/** request(): resolves with the RPY (or the NUL with the ANS before it), rejects on ERR. */
export class SingleReply extends PromisedReply {
  private answers: IncomingMessage[] | undefined;

  deliver(msg: IncomingMessage, _final: boolean): void {
    switch (msg.type) {
      case 'RPY':
        this.resolve(msg);
        return;
      case 'ERR':
        this.reject(errorFromErr(msg));
        return;
      case 'ANS':
        (this.answers ??= []).push(msg);
        return;
      default:
        msg.answers = this.answers ?? [];
        this.resolve(msg);
    }
  }

  fail(err: Error): void {
    this.reject(err);
  }
}

/** Async iterator over a one-to-many reply with consumer-driven flow control. */
export class ReplyStream implements ReplySink, AsyncIterableIterator<IncomingMessage> {
  private queue: IncomingMessage[] = [];
  private ended = false;
  private error: Error | undefined;
  private waiter: { resolve: (r: IteratorResult<IncomingMessage>) => void; reject: (e: Error) => void } | undefined;
  /** Set by the session: called with the octets the consumer took. */
  abandoned = false;

  constructor(private readonly backlog: Backlog) {}

  deliver(msg: IncomingMessage, final: boolean): void {
    if (this.abandoned) return;
    if (msg.type === 'ERR') {
      this.finish(errorFromErr(msg));
      return;
    }
    if (msg.type !== 'NUL') {
      if (this.waiter !== undefined) {
        const w = this.waiter;
        this.waiter = undefined;
        w.resolve({ value: msg, done: false });
      } else {
        this.queue.push(msg);
        this.backlog(msg.raw.length);
      }
    }
    if (final) this.finish(undefined);
  }

  fail(err: Error): void {
    this.finish(err);
  }

  private finish(err: Error | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.error = err;
    if (this.waiter !== undefined && this.queue.length === 0) {
      const w = this.waiter;
      this.waiter = undefined;
      if (err) w.reject(err);
      else w.resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<IncomingMessage>> {
    const m = this.queue.shift();
    if (m !== undefined) {
      this.backlog(-m.raw.length);
      return Promise.resolve({ value: m, done: false });
    }
    if (this.ended) {
      if (this.error) {
        const e = this.error;
        this.error = undefined;
        return Promise.reject(e);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Stop iterating: the remaining answers are discarded as they arrive. */
  return(): Promise<IteratorResult<IncomingMessage>> {
    this.abandoned = true;
    let n = 0;
    for (const m of this.queue) n += m.raw.length;
    this.queue = [];
    if (n > 0) this.backlog(-n);
    if (!this.ended) {
      this.ended = true;
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<IncomingMessage> {
    return this;
  }
}

/**
 * requestStream(): resolves with the reply once its body starts. A streamed RPY comes through `streamStarted`; a
 * one-to-many reply is turned into one stream of ANS bodies (each counted as backlog until read).
 */
export class StreamReply extends PromisedReply {
  private stream: MessageStream | undefined;
  private settled = false;

  streamStarted(msg: IncomingMessage): void {
    this.stream = msg.stream;
    this.settle(msg);
  }

  deliver(msg: IncomingMessage, final: boolean): void {
    if (msg.type === 'ERR') {
      if (this.stream !== undefined) this.stream.failWith(errorFromErr(msg));
      else this.fail(errorFromErr(msg));
      return;
    }
    if (this.stream === undefined) {
      const stream = new MessageStream({ backlog: this.backlog });
      this.stream = stream;
      const head = new IncomingMessage(msg.type === 'NUL' ? 'NUL' : 'ANS', msg.channel, msg.msgno, EMPTY_HEADER, msg.ansno);
      head.stream = stream;
      this.settle(head);
    }
    if (msg.type !== 'NUL') this.stream.deliverChunk(msg.payload);
    if (final) this.stream.deliverEnd();
  }

  fail(err: Error): void {
    if (this.stream !== undefined) this.stream.failWith(err);
    else if (!this.settled) {
      this.settled = true;
      this.reject(err);
    }
  }

  private settle(msg: IncomingMessage): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve(msg);
  }
}

const EMPTY_HEADER = Buffer.alloc(0);
