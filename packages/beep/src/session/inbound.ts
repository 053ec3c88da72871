/**
 * Inbound assembly of a session: bytes -> frames (wire/FrameParser) -> messages. Checks every frame against the
 * channel's state (RFC 3081 sequence numbers and our advertised window, msgno rules, interleaving), reassembles
 * MSG and reply frames (whole, or as a stream for streaming profiles and requestStream()), hands MSGs to the
 * channel's handler with a Responder and replies to the request's sink, and applies SEQ frames to the sender.
 * Parsing can be paused at a frame boundary (tuning); octets that arrive meanwhile are held, bounded.
 */
import { debuglog } from 'node:util';
import { BeepLimitError, BeepProtocolError, BeepReplyError, BeepXmlError } from '../errors.js';
import type { DataFrame, DataFrameHeader, Frame, SeqFrame } from '../wire/frame.js';
import { FrameParser } from '../wire/frame-parser.js';
import { BEEP_XML_CONTENT_TYPE, parseEntity } from '../wire/mime.js';
import { edgeMovesLeft, fitsWindow, seqAdd, seqDistance } from '../wire/seqno.js';
import { DEFAULT_CHANNEL0_MAX_BYTES } from '../wire/xml/channel0.js';
import { perr } from './failures.js';
import { IncomingMessage, Responder } from './message.js';
import { HeaderCollector, MessageStream } from './message-stream.js';
import type { ResolvedLimits } from './options.js';
import type { Sender } from './sender.js';
import { ReplySlot, type Assembly, type ChanState, type InPartial, type RequestState } from './state.js';

const debug = debuglog('beamgate:beep');
const EMPTY = Buffer.alloc(0);
/** Raw input held while parsing is paused for tuning before the session gives up. */
const MAX_PAUSED_INPUT = 1024 * 1024;
/** Thrown from inside the parser's callbacks when the session ended meanwhile. */
const STOP = Symbol('stop');

/**
 * A received payload is a view of the transport's read buffer (wire/frame-parser). Kept as is, a small view would
 * keep the whole read alive while it waits in a queue, so memory would be bounded by read sizes times frame counts
 * instead of by the receive window: views that are under a quarter of a buffer larger than Node's Buffer pool are
 * copied. Large frames (the bulk of streamed data) are views of most of their read and stay zero-copy.
 */
function owned(payload: Buffer): Buffer {
  const backing = payload.buffer.byteLength;
  return backing > Buffer.poolSize && backing > 4 * payload.length ? Buffer.from(payload) : payload;
}

/** Strict mode: why `raw` is not a well-formed MIME entity (for channel 0: of type application/beep+xml). */
export function strictEntityError(raw: Buffer, channel0: boolean): BeepProtocolError | undefined {
  let mediaType: string;
  try {
    mediaType = parseEntity(raw, { strict: true }).mediaType;
  } catch (e) {
    return e instanceof BeepProtocolError ? e : perr('BEEP_MIME_SYNTAX', (e as Error).message);
  }
  if (channel0 && mediaType !== BEEP_XML_CONTENT_TYPE) {
    return perr('BEEP_MIME_CONTENT_TYPE', `channel 0 carries ${mediaType}, not ${BEEP_XML_CONTENT_TYPE}`);
  }
  return undefined;
}

/** What inbound assembly needs from its session. */
export interface InboundHost {
  readonly closed: boolean;
  /** The peer's greeting arrived (MSGs before it are a protocol error). */
  readonly greetingReceived: boolean;
  channel(number: number): ChanState | undefined;
  /** A complete MSG on channel 0 (start, close). */
  channel0Msg(slot: ReplySlot, msg: IncomingMessage): void;
  /** Close a profile channel (after a poorly formed reply on it). */
  closeChannel(ch: ChanState, code: number, text: string): Promise<void>;
  /** A complete frame arrived (idle timeout). */
  frameSeen(): void;
  /** After each parsed read (due SEQs go out at once, waiters on session state proceed). */
  afterInput(): void;
  terminate(e: unknown): void;
}

export class Inbound {
  private parser!: FrameParser;
  /** Parsing stopped at a frame boundary (tuning): input is held until resumed. */
  paused = false;
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(
    private readonly host: InboundHost,
    private readonly limits: ResolvedLimits,
    private readonly sender: Sender,
  ) {
    this.resetParser();
  }

  /** Parse octets read from the transport (or hold them while paused for tuning). */
  push(chunk: Buffer): void {
    if (this.host.closed) return;
    if (this.paused) {
      this.hold(chunk);
      return;
    }
    try {
      this.parser.push(chunk);
    } catch (e) {
      if (e !== STOP) this.host.terminate(e);
      return;
    }
    this.host.afterInput();
  }

  /** A fresh frame parser (construction and tuning reset). */
  resetParser(): void {
    this.parser = this.newParser();
  }

  private newParser(): FrameParser {
    return new FrameParser({
      onFrame: (f) => this.onFrame(f),
      onHeader: (h) => this.onHeader(h),
      maxHeaderLength: this.limits.maxHeaderLength,
      maxFrameSize: this.limits.maxFrameSize,
      strict: this.limits.strict,
    });
  }


  private hold(chunk: Buffer): void {
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes > MAX_PAUSED_INPUT) {
      this.host.terminate(perr('BEEP_INPUT_WHILE_TUNING', 'the peer kept sending while the session was paused for tuning'));
    }
  }

  /** The octets held while paused (and forget them). */
  takeHeld(): Buffer {
    const b = this.held.length === 1 ? (this.held[0] as Buffer) : Buffer.concat(this.held);
    this.held = [];
    this.heldBytes = 0;
    return b;
  }

  /** Stop parsing (tuning): octets after the current frame are held raw. Call from inside onFrame or between pushes. */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    const rest = this.parser.detach();
    if (rest.length > 0) this.hold(Buffer.from(rest));
  }

  private onHeader(h: DataFrameHeader): void {
    const ch = this.host.channel(h.channel);
    if (ch === undefined) throw perr('BEEP_UNKNOWN_CHANNEL', `${h.type} on channel ${h.channel}, which is not open`);
    if (h.seqno !== ch.recvSeq) {
      throw perr('BEEP_BAD_SEQNO', `channel ${h.channel}: seqno ${h.seqno}, expected ${ch.recvSeq}`);
    }
    if (!fitsWindow(h.seqno, h.size, ch.advAck, ch.advWin)) {
      throw perr(
        'BEEP_WINDOW_EXCEEDED',
        `channel ${h.channel}: ${h.size} octets at seqno ${h.seqno} exceed the window ${ch.advAck}+${ch.advWin}`,
      );
    }
    ch.recvSeq = seqAdd(h.seqno, h.size);
  }

  private onFrame(f: Frame): void {
    if (this.host.closed) throw STOP;
    this.host.frameSeen();
    if (f.type === 'SEQ') {
      this.onSeq(f);
      return;
    }
    const ch = this.host.channel(f.channel);
    if (ch === undefined) throw perr('BEEP_UNKNOWN_CHANNEL', `channel ${f.channel} is not open`);
    if (f.payload.length > 0) f.payload = owned(f.payload);
    const isMsg = f.type === 'MSG';
    if (!this.host.greetingReceived && isMsg) throw perr('BEEP_EXPECTED_GREETING', 'a MSG arrived before the greeting');
    if (ch.contMsgno !== -1 && (f.msgno !== ch.contMsgno || isMsg !== ch.contIsMsg)) {
      throw perr(
        'BEEP_INTERLEAVED',
        `channel ${ch.number}: ${f.type} ${f.msgno} interleaved with the unfinished message ${ch.contMsgno}`,
      );
    }
    if (isMsg) this.onMsgFrame(ch, f);
    else this.onReplyFrame(ch, f);
    this.sender.creditCheck(ch);
  }

  private onSeq(f: SeqFrame): void {
    const ch = this.host.channel(f.channel);
    if (ch === undefined) throw perr('BEEP_UNKNOWN_CHANNEL', `SEQ for channel ${f.channel}, which is not open`);
    if (seqDistance(ch.peerAck, f.ackno) > seqDistance(ch.peerAck, ch.sendSeq)) {
      throw perr('BEEP_SEQ_BAD_ACKNO', `channel ${f.channel}: ackno ${f.ackno} is beyond the ${ch.sendSeq} octets sent`);
    }
    const oldEdge = seqAdd(ch.peerAck, ch.peerWin);
    const newEdge = seqAdd(f.ackno, f.window);
    if (edgeMovesLeft(oldEdge, newEdge)) {
      throw perr('BEEP_SEQ_WINDOW_SHRINK', `channel ${f.channel}: the window's right edge moved left`);
    }
    ch.peerAck = f.ackno;
    ch.peerWin = f.window;
    this.sender.wake(ch);
  }

  private onMsgFrame(ch: ChanState, f: DataFrame): void {
    let p = ch.inPartial;
    if (p === undefined) {
      if (ch.inMsgnos.has(f.msgno)) {
        throw perr('BEEP_MSGNO_IN_USE', `channel ${ch.number}: MSG ${f.msgno} reuses a msgno not yet answered`);
      }
      const slot = new ReplySlot(f.msgno);
      ch.slots.push(slot);
      ch.inMsgnos.add(f.msgno);
      const streamed = ch.streaming && ch.number !== 0;
      p = { msgno: f.msgno, asm: { chunks: [], size: 0, discard: false }, refused: false, slot, streamed };
      ch.inPartial = p;
    }
    if (p.streamed) {
      this.onStreamedMsgFrame(ch, p, f);
      return;
    }
    const len = f.payload.length;
    if (!p.refused) {
      const cap = ch.number === 0 ? DEFAULT_CHANNEL0_MAX_BYTES : this.limits.maxMessageSize;
      if (p.asm.size + len > cap) {
        // Pre-emptive ERR (RFC 3080 §2.6.3): refuse now, drop the rest of this MSG.
        p.refused = true;
        p.asm.chunks = [];
        const r = new Responder(this.sender.replyTarget(ch, p.slot));
        r.err(554, `message larger than ${cap} octets`);
      } else if (len > 0) {
        p.asm.chunks.push(f.payload);
        p.asm.size += len;
      }
    }
    if (f.more) {
      ch.contMsgno = f.msgno;
      ch.contIsMsg = true;
      return;
    }
    ch.contMsgno = -1;
    ch.inPartial = undefined;
    if (p.refused) return;
    const c = p.asm.chunks;
    const payload = c.length === 0 ? EMPTY : c.length === 1 ? (c[0] as Buffer) : Buffer.concat(c, p.asm.size);
    const msg = new IncomingMessage('MSG', ch.api, f.msgno, payload);
    if (this.limits.strict) {
      // A poorly formed MSG gets a negative reply (checklist C.21, RFC 3080 §2.2.2.1).
      const bad = strictEntityError(payload, ch.number === 0);
      if (bad !== undefined) {
        new Responder(this.sender.replyTarget(ch, p.slot)).err(500, bad.message);
        return;
      }
    }
    if (ch.number === 0) this.host.channel0Msg(p.slot, msg);
    else this.deliverMsg(ch, p.slot, msg);
  }

  /** A frame of a MSG received as a stream: no size cap, the consumer's reading opens the window again. */
  private onStreamedMsgFrame(ch: ChanState, p: InPartial, f: DataFrame): void {
    const last = !f.more;
    const msg = this.feedStreamed(ch, p, 'MSG', f);
    if (msg !== undefined) {
      p.slot.holding = true;
      if (last) this.endStreamedMsg(ch, p);
      this.deliverMsg(ch, p.slot, msg);
      if (!last) {
        ch.contMsgno = f.msgno;
        ch.contIsMsg = true;
      }
      return;
    }
    if (last) this.endStreamedMsg(ch, p);
    else {
      ch.contMsgno = f.msgno;
      ch.contIsMsg = true;
    }
  }

  private endStreamedMsg(ch: ChanState, p: InPartial): void {
    ch.contMsgno = -1;
    ch.inPartial = undefined;
    p.stream?.deliverEnd();
    const slot = p.slot;
    slot.holding = false;
    if (ch.slots.peek() === slot && slot.items.length > 0) {
      const items = slot.items;
      slot.items = [];
      for (const o of items) this.sender.enqueueOut(ch, o);
    }
    this.sender.advanceSlots(ch);
  }

  private deliverMsg(ch: ChanState, slot: ReplySlot, msg: IncomingMessage): void {
    const responder = new Responder(this.sender.replyTarget(ch, slot));
    slot.responder = responder;
    const handler = ch.onMessage ?? ch.profile?.onMessage;
    if (handler === undefined) {
      responder.err(504, `no handler for MSGs on channel ${ch.number}`);
      return;
    }
    try {
      const r = handler(msg, responder);
      if (r !== undefined && typeof (r as Promise<void>).then === 'function') {
        (r as Promise<void>).then(undefined, (e: unknown) => this.handlerFailed(responder, e));
      }
    } catch (e) {
      this.handlerFailed(responder, e);
    }
  }

  private handlerFailed(r: Responder, e: unknown): void {
    debug('message handler failed: %s', (e as Error)?.message ?? e);
    if (r.done || this.host.closed) return;
    try {
      if (r.answering) r.nul();
      else if (e instanceof BeepReplyError && e.replyCode !== undefined && e.replyCode >= 100 && e.replyCode <= 599) {
        r.err(e.replyCode, e.message);
      } else r.err(451, 'local error');
    } catch {
      // the channel went away meanwhile
    }
  }

  private onReplyFrame(ch: ChanState, f: DataFrame): void {
    const req = ch.awaiting.peek();
    if (req === undefined || req.msgno !== f.msgno) {
      for (const r of ch.awaiting) {
        if (r.msgno === f.msgno) {
          throw perr('BEEP_REPLY_OUT_OF_ORDER', `channel ${ch.number}: reply to MSG ${f.msgno} before the reply to MSG ${req?.msgno}`);
        }
      }
      throw perr('BEEP_UNEXPECTED_REPLY', `channel ${ch.number}: ${f.type} ${f.msgno} answers no MSG awaiting a reply`);
    }
    const out = req.out;
    if (!out.sent) {
      if (!out.started) throw perr('BEEP_UNEXPECTED_REPLY', `channel ${ch.number}: reply to MSG ${f.msgno}, not sent yet`);
      if (f.type !== 'ERR') {
        throw perr('BEEP_PREMATURE_REPLY', `channel ${ch.number}: ${f.type} before MSG ${f.msgno} was complete`);
      }
      // Pre-emptive ERR: finish our MSG with an empty final frame (RFC 3080 §2.6.3).
      const rest = out.length - out.off;
      if (rest > 0) {
        this.sender.addQueued(ch, -rest);
        out.truncate(out.off);
        this.sender.wake(ch);
      }
    }
    const type = f.type;
    const rt = req.replyType;
    if (rt === undefined) {
      req.replyType = type === 'NUL' ? 'ANS' : type;
      req.acked = true;
    } else if (rt === 'ANS' ? type !== 'ANS' && type !== 'NUL' : type !== rt) {
      throw perr('BEEP_KEYWORD_CHANGED', `channel ${ch.number}: ${type} ${f.msgno} after ${rt} frames of the same reply`);
    }
    if (ch.number === 0 && (type === 'ANS' || type === 'NUL')) {
      throw perr('BEEP_CHANNEL0_ANS', `${type} is not allowed on channel 0`);
    }
    if (type === 'NUL') {
      if (req.ansPartial > 0) throw perr('BEEP_NUL_INCOMPLETE', `channel ${ch.number}: NUL ${f.msgno} while an ANS is incomplete`);
      ch.contMsgno = -1;
      this.completeRequest(ch, req, new IncomingMessage('NUL', ch.api, f.msgno, EMPTY));
      return;
    }
    const cap = ch.number === 0 ? DEFAULT_CHANNEL0_MAX_BYTES : this.limits.maxMessageSize;
    if (type === 'ANS') {
      const ansno = f.ansno ?? 0;
      const answers = (req.answers ??= new Map<number, Assembly>());
      let a = answers.get(ansno);
      if (a === undefined) {
        a = { chunks: [], size: 0, discard: false };
        answers.set(ansno, a);
        req.ansPartial++;
      }
      this.append(req, a, f.payload, cap);
      if (!f.more) {
        answers.delete(ansno);
        req.ansPartial--;
        if (!a.discard && !req.abandoned) {
          this.deliverReply(ch, req, new IncomingMessage('ANS', ch.api, f.msgno, this.joined(a), ansno), false);
        }
      }
      ch.contMsgno = req.ansPartial > 0 ? f.msgno : -1;
      ch.contIsMsg = false;
      return;
    }
    if (req.streaming && type === 'RPY') {
      this.onStreamedReplyFrame(ch, req, f);
      return;
    }
    const a = (req.single ??= { chunks: [], size: 0, discard: false });
    this.append(req, a, f.payload, cap);
    if (f.more) {
      ch.contMsgno = f.msgno;
      ch.contIsMsg = false;
      return;
    }
    ch.contMsgno = -1;
    this.completeRequest(ch, req, a.discard ? undefined : new IncomingMessage(type, ch.api, f.msgno, this.joined(a)));
  }

  /** A frame of a RPY received as a stream (channel.requestStream). */
  private onStreamedReplyFrame(ch: ChanState, req: RequestState, f: DataFrame): void {
    const last = !f.more;
    const msg = this.feedStreamed(ch, req, 'RPY', f);
    if (msg !== undefined) {
      if (req.abandoned) msg.stream?.discardRest();
      else req.sink.streamStarted?.(msg);
    }
    if (last) {
      ch.contMsgno = -1;
      req.stream?.deliverEnd();
      this.completeRequest(ch, req, undefined);
    } else {
      ch.contMsgno = f.msgno;
      ch.contIsMsg = false;
    }
  }

  /**
   * One frame of a message received as a stream (a MSG or a requestStream() RPY): its MIME header is collected
   * first, held octets counted as backlog, then `into.stream` carries the body. Returns the message when this frame
   * completes the header, undefined otherwise.
   */
  private feedStreamed(
    ch: ChanState,
    into: { header?: HeaderCollector | undefined; stream?: MessageStream | undefined },
    type: 'MSG' | 'RPY',
    f: DataFrame,
  ): IncomingMessage | undefined {
    if (into.stream !== undefined) {
      into.stream.deliverChunk(f.payload);
      return undefined;
    }
    const hc = (into.header ??= new HeaderCollector());
    const before = hc.held;
    const r = hc.feed(f.payload, !f.more);
    if (r === undefined) {
      this.sender.backlog(ch, f.payload.length);
      return undefined;
    }
    if (before > 0) this.sender.backlog(ch, -before);
    into.header = undefined;
    const stream = new MessageStream({ backlog: (d) => this.sender.backlog(ch, d) });
    into.stream = stream;
    const msg = new IncomingMessage(type, ch.api, f.msgno, r.header);
    msg.stream = stream;
    stream.deliverChunk(r.body);
    return msg;
  }

  private append(req: RequestState, a: Assembly, payload: Buffer, cap: number): void {
    if (a.discard) return;
    if (a.size + payload.length > cap) {
      a.discard = true;
      a.chunks = [];
      if (!req.abandoned) {
        req.abandoned = true;
        req.sink.fail(new BeepLimitError('BEEP_MESSAGE_TOO_LARGE', `reply larger than ${cap} octets`));
      }
      return;
    }
    if (payload.length > 0) {
      a.chunks.push(payload);
      a.size += payload.length;
    }
  }

  private joined(a: Assembly): Buffer {
    const c = a.chunks;
    return c.length === 0 ? EMPTY : c.length === 1 ? (c[0] as Buffer) : Buffer.concat(c, a.size);
  }

  private completeRequest(ch: ChanState, req: RequestState, msg: IncomingMessage | undefined): void {
    ch.awaiting.shift();
    req.done = true;
    req.unlisten?.();
    if (msg !== undefined && !req.abandoned) this.deliverReply(ch, req, msg, true);
    while (ch.waiting.length > 0 && ch.awaiting.length < this.limits.maxOutstanding && ch.open) {
      const next = ch.waiting.shift() as RequestState;
      if (!next.abandoned) this.sender.dispatchRequest(ch, next);
    }
  }

  /**
   * Hand a complete reply message to its requester. A poorly formed one (strict: not a MIME entity; channel 0: not
   * application/beep+xml; or the sink refusing it with a protocol/XML error) terminates the session on channel 0
   * and closes just that channel elsewhere (checklist C.21, RFC 3080 §2.2.2.1).
   */
  private deliverReply(ch: ChanState, req: RequestState, msg: IncomingMessage, final: boolean): void {
    const bad = this.limits.strict ? strictEntityError(msg.raw, ch.number === 0) : undefined;
    if (ch.number === 0) {
      if (bad !== undefined) {
        const code = req.msgno === 0 ? 'BEEP_BAD_GREETING' : 'BEEP_BAD_CHANNEL0_REPLY';
        throw new BeepProtocolError(code, `poorly formed reply on channel 0: ${bad.message}`, { cause: bad, replyCode: 500 });
      }
      req.sink.deliver(msg, final);
      return;
    }
    try {
      if (bad !== undefined) throw bad;
      req.sink.deliver(msg, final);
    } catch (e) {
      if (!(e instanceof BeepProtocolError || e instanceof BeepXmlError)) throw e;
      req.abandoned = true;
      try {
        req.sink.fail(e);
      } catch {
        // the requester is gone
      }
      this.channelFault(ch, e);
    }
  }

  /** A poorly formed reply on a profile channel: close that channel with 500 (the session stays up). */
  private channelFault(ch: ChanState, err: Error): void {
    debug('channel %d: poorly formed reply, closing the channel: %s', ch.number, err.message);
    if (!ch.open || this.host.closed) return;
    this.host.closeChannel(ch, 500, 'poorly formed reply').catch((e: unknown) => {
      debug('channel %d: close after a poorly formed reply failed: %s', ch.number, (e as Error)?.message);
    });
  }
}
