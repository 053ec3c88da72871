/**
 * Internal per-channel bookkeeping of a session (not part of the public API): send and receive sequence state,
 * the outgoing message queue, our MSGs awaiting replies, and received MSGs awaiting our replies (kept in MSG order).
 */
import { DEFAULT_WINDOW, type DataKeyword } from '../wire/frame.js';
import type { Channel } from './channel.js';
import type { IncomingMessage, Responder, ReplySink } from './message.js';

export type { ReplySink } from './message.js';
import type { HeaderCollector, MessageStream } from './message-stream.js';
import type { ProfileDefinition } from './types.js';

/** A FIFO with O(1) shift (arrays shift in O(n) once large). */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(v: T): void {
    this.items.push(v);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  at(i: number): T | undefined {
    return this.items[this.head + i];
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const v = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }
  remove(v: T): boolean {
    const i = this.items.indexOf(v, this.head);
    if (i < 0) return false;
    this.items.splice(i, 1);
    return true;
  }
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i] as T;
  }
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/** One message queued for sending; frames are cut from `data` as the window allows. */
export class OutMessage {
  msgno = 0;
  off = 0;
  started = false;
  sent = false;
  /** For replies: this is the last message of the reply (RPY, ERR or NUL). */
  replyFinal = false;
  quiet = false;
  onSent: (() => void) | undefined = undefined;
  /** A positive start reply: the channel it opens, ready (and its first SEQ due) as soon as this is sent. */
  opens: ChanState | undefined = undefined;
  /** Octets sent before `data` (a MIME header block kept apart so a large body is never copied). */
  head: Buffer = EMPTY;
  constructor(
    readonly type: DataKeyword,
    public data: Buffer,
    readonly ansno: number | undefined = undefined,
  ) {}

  /** The whole payload's length: head + data. */
  get length(): number {
    return this.head.length + this.data.length;
  }

  /** Keep only the first `n` octets (the rest will not be sent). */
  truncate(n: number): void {
    const hl = this.head.length;
    if (n <= hl) {
      this.head = this.head.subarray(0, n);
      this.data = EMPTY;
    } else {
      this.data = this.data.subarray(0, n - hl);
    }
  }
}

const EMPTY = Buffer.alloc(0);

/** An outgoing message from an entity split in header block and body (see entity.ts buildPayloadParts). */
export function outMessage(type: DataKeyword, parts: { head: Buffer; body: Buffer }, ansno?: number): OutMessage {
  const out = new OutMessage(type, parts.body, ansno);
  out.head = parts.head;
  return out;
}

/** A reply fragment being reassembled. */
export interface Assembly {
  chunks: Buffer[];
  size: number;
  discard: boolean;
}

/** A MSG being received. Streamed MSGs use `header` until their MIME header block is known, then `stream`. */
export interface InPartial {
  msgno: number;
  asm: Assembly;
  refused: boolean;
  slot: ReplySlot;
  /** Decided at the MSG's first frame (Channel.streaming may change meanwhile). */
  streamed: boolean;
  header?: HeaderCollector;
  stream?: MessageStream;
}

/** One of our MSGs: queued, sent, then awaiting its reply. */
export class RequestState {
  msgno = -1;
  replyType: DataKeyword | undefined = undefined;
  acked = false;
  abandoned = false;
  single: Assembly | undefined = undefined;
  answers: Map<number, Assembly> | undefined = undefined;
  ansPartial = 0;
  done = false;
  /** A `close` on channel 0 (excluded from the quiescence test of a received session close). */
  isClose = false;
  unlisten: (() => void) | undefined = undefined;
  /** requestStream(): a RPY is delivered as a stream (header collected first). */
  streaming = false;
  header: HeaderCollector | undefined = undefined;
  stream: MessageStream | undefined = undefined;
  constructor(
    readonly out: OutMessage,
    readonly sink: ReplySink,
  ) {}
}

/** A received MSG awaiting our reply; replies leave in MSG order, so later slots wait for earlier ones. */
export class ReplySlot {
  items: OutMessage[] = [];
  /** True once the final reply message (RPY, ERR or NUL) is queued; `items` wait here while earlier slots finish. */
  final = false;
  responder: Responder | undefined = undefined;
  ansno = 0;
  /** A streamed MSG still arriving: replies wait here until its last frame (RFC 3080 replies follow the MSG). */
  holding = false;
  constructor(readonly msgno: number) {}
}

export class ChanState {
  // --- send direction
  sendSeq = 0;
  peerAck = 0;
  peerWin = DEFAULT_WINDOW;
  readonly queue = new Fifo<OutMessage>();
  queuedBytes = 0;
  inRing = false;
  nextMsgno: number;
  readonly awaiting = new Fifo<RequestState>();
  readonly waiting = new Fifo<RequestState>();
  highWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  closePromise: Promise<void> | undefined = undefined;
  /** False until our positive start reply for this channel has been sent. */
  ready = true;

  // --- receive direction
  recvSeq = 0;
  advAck = 0;
  advWin = DEFAULT_WINDOW;
  inSeqDue = false;
  /** False until a SEQ was sent (a non-default window is advertised at once, RFC 3081 §3.1.3). */
  advertised = false;
  /** msgno of the message whose `*` frame came last, or -1. */
  contMsgno = -1;
  contIsMsg = false;
  inPartial: InPartial | undefined = undefined;
  /** Deliver this channel's incoming MSGs as streams (ProfileDefinition.streaming, Channel.streaming). */
  streaming = false;
  readonly slots = new Fifo<ReplySlot>();
  readonly inMsgnos = new Set<number>();
  /** Octets of delivered-but-unconsumed data (stream consumers); SEQ is withheld while above the buffer size. */
  backlog = 0;

  // --- lifecycle
  open = true;
  closingSelf = false;
  closeRequested = false;
  uri: string;
  profile: ProfileDefinition | undefined;
  api!: Channel;
  onMessage: ((msg: IncomingMessage, reply: Responder) => void | Promise<void>) | undefined = undefined;

  constructor(
    readonly number: number,
    uri: string,
    readonly bufSize: number,
    profile: ProfileDefinition | undefined,
  ) {
    this.uri = uri;
    this.profile = profile;
    this.nextMsgno = number === 0 ? 1 : 0;
  }
}
