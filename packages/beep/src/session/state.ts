/**
 * Internal per-channel bookkeeping of a session (not part of the public API): send and receive sequence state,
 * the outgoing message queue, our MSGs awaiting replies, and received MSGs awaiting our replies (kept in MSG order).
 */
import { DEFAULT_WINDOW, type DataKeyword } from '../wire/frame.js';
import type { Channel } from './channel.js';
import type { IncomingMessage, Responder } from './message.js';
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
  constructor(
    readonly type: DataKeyword,
    public data: Buffer,
    readonly ansno: number | undefined = undefined,
  ) {}
}

/** A reply fragment being reassembled. */
export interface Assembly {
  chunks: Buffer[];
  size: number;
  discard: boolean;
}

/** Consumer of the replies to one of our MSGs. */
export interface ReplySink {
  /** A complete RPY or ERR (final), ANS (not final) or NUL (final, with an empty message). */
  deliver(msg: IncomingMessage, final: boolean): void;
  /** The exchange failed locally (channel/session closed, reply too large). */
  fail(err: Error): void;
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
  inPartial: { msgno: number; asm: Assembly; refused: boolean; slot: ReplySlot } | undefined = undefined;
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
