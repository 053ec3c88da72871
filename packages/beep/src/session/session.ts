/**
 * The RFC 3080 session state machine with RFC 3081 flow control, sans-IO: bytes go in through `receive()`, bytes
 * come out through the attached SessionBinding (see transport/ for sockets and Duplex streams).
 *
 * Output is produced by `flush()`, scheduled once per event-loop turn: pending SEQ frames first, then one frame per
 * channel in round-robin order (each cut to the peer's window and to maxSendFrameSize), all coalesced into one
 * write. When the binding reports back-pressure, nothing more is produced until `drain()`.
 */
import { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import type { Duplex } from 'node:stream';
import {
  BeepClosedError,
  BeepError,
  BeepLimitError,
  BeepProtocolError,
  BeepReplyError,
  BeepUsageError,
  BeepXmlError,
} from '../errors.js';
import { DEFAULT_WINDOW, type DataFrame, type DataFrameHeader, type Frame, type SeqFrame } from '../wire/frame.js';
import { FrameParser } from '../wire/frame-parser.js';
import { BEEP_XML_CONTENT_TYPE, buildXmlEntity, parseEntity } from '../wire/mime.js';
import { edgeMovesLeft, fitsWindow, seqAdd, seqDistance } from '../wire/seqno.js';
import { buildClose, buildError, buildGreeting, buildOk, buildProfile, buildStart } from '../wire/xml/build.js';
import {
  DEFAULT_CHANNEL0_MAX_BYTES,
  parseChannel0,
  profileContentBytes,
  type Close,
  type Start,
} from '../wire/xml/channel0.js';
import { Channel, type RequestOptions } from './channel.js';
import { buildPayloadParts } from './entity.js';
import { IncomingMessage, Responder } from './message.js';
import { HeaderCollector, MessageStream } from './message-stream.js';
import { resolveLimits, type ResolvedLimits, type Role, type SessionOptions } from './options.js';
import { InputPacer } from './input-pacer.js';
import type { QueueHolder, SendBudget } from './send-budget.js';
import {
  ChanState,
  OutMessage,
  outMessage,
  ReplySlot,
  RequestState,
  type Assembly,
  type InPartial,
  type ReplySink,
} from './state.js';
import type { GreetingInfo, Payload, ProfileDefinition, StartDecision } from './types.js';

const debug = debuglog('beamgate:beep');
const TRAILER = Buffer.from('END\r\n', 'latin1');
const EMPTY = Buffer.alloc(0);
/** Octets produced per flush before yielding to the event loop. */
const FLUSH_BUDGET = 256 * 1024;
/**
 * Octets a session parses per event-loop turn (see InputPacer): with 20 flooding sessions, about 5 MiB of work
 * between two chances for anyone else, while one fast stream still gets 4 socket reads per turn.
 */
const READ_TURN_BYTES = 256 * 1024;
/** Raw input held while parsing is paused for tuning before the session gives up. */
const MAX_PAUSED_INPUT = 1024 * 1024;
const STOP = Symbol('stop');

/** Where a session writes its bytes; implemented by transport/ for sockets and Duplex streams. */
export interface SessionBinding {
  /** Write bytes; return false when the transport is full (the session then waits for `session.drain()`). */
  write(chunk: Buffer): boolean;
  /**
   * Optional: write several buffers as one gathered write (no copy into one buffer). Same return value as write().
   */
  writev?(chunks: Buffer[]): boolean;
  /** Flush what was written, then close the byte stream. */
  end(): void;
  /** Close the byte stream at once. */
  destroy(err?: Error): void;
  /** Tuning: replace the byte stream, e.g. wrap a socket in TLS. `leftover` holds octets read but not parsed. */
  rewrap?(wrap: WrapFunction, leftover: Buffer): Promise<void>;
  /** Optional: stop / restart reading (back-pressure on a peer that sends but does not read). */
  pauseReading?(): void;
  resumeReading?(): void;
}

/** Builds the new byte stream after a tuning exchange (e.g. `new tls.TLSSocket(old, ...)`). */
export type WrapFunction = (old: Duplex, leftover: Buffer) => Duplex | Promise<Duplex>;

/** Options of `session.startChannel()`. */
export interface StartChannelOptions {
  /** `serverName` attribute of the start element. */
  serverName?: string;
  /** Piggybacked initialization content for every offered profile. */
  content?: Payload;
  /** How to send the content. Default: base64 for binary Buffers, none for strings. */
  encoding?: 'none' | 'base64';
  /** Channel number (default: the next free one of our parity). */
  number?: number;
  /** Abort waiting for the reply (the channel, if the peer accepts it later, is then closed). */
  signal?: AbortSignal;
  /**
   * Tuning (RFC 3080 §3.1): send nothing after this start until its reply, and stop parsing right after a positive
   * reply; then call `session.tune()` (or `session.resume()`).
   */
  tuning?: boolean;
}

/** Options of `session.tune()`. */
export interface TuneOptions {
  /** Replace the byte stream (e.g. wrap it in TLS); needs a binding that supports it (transport/). */
  wrap?: WrapFunction;
  /** New set of offered profiles (e.g. without the tuning profile just used). */
  profiles?: readonly ProfileDefinition[];
  features?: readonly string[];
  localize?: readonly string[];
}

/** Payload slices at least this large are handed to the transport as they are instead of being copied. */
const GATHER_MIN = 8192;

/**
 * One turn's frames to the transport: small pieces (headers, trailers, short payloads) are coalesced into one
 * buffer; large payload slices go by reference in a gathered write when the binding supports it.
 */
function writeGathered(binding: SessionBinding, parts: Buffer[], bytes: number): boolean {
  if (parts.length === 1) return binding.write(parts[0] as Buffer);
  if (binding.writev === undefined || bytes < 2 * GATHER_MIN) return binding.write(Buffer.concat(parts, bytes));
  const out: Buffer[] = [];
  let run: Buffer[] = [];
  let runBytes = 0;
  const endRun = (): void => {
    if (run.length === 0) return;
    out.push(run.length === 1 ? (run[0] as Buffer) : Buffer.concat(run, runBytes));
    run = [];
    runBytes = 0;
  };
  for (const p of parts) {
    if (p.length >= GATHER_MIN) {
      endRun();
      out.push(p);
    } else {
      run.push(p);
      runBytes += p.length;
    }
  }
  endRun();
  return out.length === 1 ? binding.write(out[0] as Buffer) : binding.writev(out);
}

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

function perr(code: string, message: string): BeepProtocolError {
  return new BeepProtocolError(code, message, { replyCode: 500 });
}

function closedError(code = 'BEEP_SESSION_CLOSED', msg = 'session closed'): BeepClosedError {
  return new BeepClosedError(code, msg);
}

function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new BeepClosedError('BEEP_ABORTED', 'operation aborted', { cause: r });
}

/** Consumer of a channel-0 reply (start, close): RPY and ERR bodies go to a callback; bad XML terminates. */
class Ch0Sink implements ReplySink {
  constructor(
    private readonly onReply: (type: 'RPY' | 'ERR', msg: IncomingMessage) => void,
    private readonly onFail: (err: Error) => void,
  ) {}
  deliver(msg: IncomingMessage): void {
    if (msg.type !== 'RPY' && msg.type !== 'ERR') throw perr('BEEP_CHANNEL0_ANS', `${msg.type} on channel 0`);
    try {
      this.onReply(msg.type, msg);
    } catch (e) {
      // A poorly formed reply on channel 0 terminates the session (checklist C.21).
      if (e instanceof BeepProtocolError) throw e;
      throw new BeepProtocolError('BEEP_BAD_CHANNEL0_REPLY', `bad channel-0 reply: ${(e as Error).message}`, {
        cause: e,
        replyCode: 500,
      });
    }
  }
  fail(err: Error): void {
    this.onFail(err);
  }
}

interface Waiter {
  pred: () => boolean;
  resolve: () => void;
}

/**
 * A BEEP session. Events:
 * - `greeting` (info: GreetingInfo) when the peer's greeting arrived (again after each tuning reset);
 * - `channel` (channel: Channel) when the peer started a channel;
 * - `close` (reason?: Error) once, when the session ended (no reason after an orderly release);
 * - `error` (err: Error) only when a listener is attached: the same reason as `close` when it is an error.
 */
export class Session extends EventEmitter implements QueueHolder {
  readonly role: Role;
  readonly limits: ResolvedLimits;
  /** Profiles offered and accepted, by URI. Replaced by `tune({ profiles })`. */
  profiles = new Map<string, ProfileDefinition>();
  features: readonly string[];
  localize: readonly string[];
  /** The peer's greeting, once received. */
  peerGreeting: GreetingInfo | undefined;
  /** The serverName bound by the first successful start that carried one (RFC 3080 §2.3.1.2). */
  serverName: string | undefined;
  /** Identity authenticated by a SASL profile (set by the profile). */
  authenticatedIdentity: string | undefined;
  /** Security layer negotiated by tuning ('tls', or a SASL mechanism), set by the profile. */
  securityLayer: string | undefined;
  /** Why the session ended; undefined while open or after an orderly release. */
  closeReason: Error | undefined;
  /** True once the session ended. */
  closed = false;

  private readonly opts: SessionOptions;
  private binding: SessionBinding | undefined;
  private parser!: FrameParser;
  private readonly chans = new Map<number, ChanState>();
  private ch0!: ChanState;
  private ring: ChanState[] = [];
  private seqDue: ChanState[] = [];
  private flushScheduled = false;
  private blocked = false;
  private quiet = false;
  private inputPaused = false;
  private pendingInput: Buffer[] = [];
  private pendingInputBytes = 0;
  private greetingReceived = false;
  private greetingTimer: NodeJS.Timeout | undefined;
  private nextChannel: number;
  private readonly reserved = new Set<number>();
  private waiters: Waiter[] = [];
  private closingSelf = false;
  private releasing = false;
  private readyPromise!: Promise<GreetingInfo>;
  private readyResolve!: (g: GreetingInfo) => void;
  private readyReject!: (e: Error) => void;
  private closePromise: Promise<void> | undefined;
  private readonly flushBound = (): void => this.flush();
  /** Octets queued on all channels (see maxQueuedBytes). */
  queuedTotal = 0;
  /** Above maxQueuedBytes: new work waits (see enterOver). */
  private over = false;
  private overTimer: NodeJS.Timeout | undefined;
  private readsPaused = false;
  /** Input over this turn's budget waits for the next turn (the transport does not read meanwhile). */
  private readonly pacer = new InputPacer(
    { consume: (chunk) => this.consume(chunk), backlogged: (pending) => this.inputBacklogged(pending) },
    READ_TURN_BYTES,
  );
  private inputBacklog = false;
  private budget: SendBudget | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private sawInput = false;

  constructor(options: SessionOptions) {
    super();
    if (options.role !== 'initiator' && options.role !== 'listener') {
      throw new BeepUsageError(`role must be 'initiator' or 'listener'`);
    }
    this.opts = options;
    this.role = options.role;
    this.limits = resolveLimits(options);
    this.features = options.features ?? [];
    this.localize = options.localize ?? [];
    this.setProfiles(options.profiles ?? []);
    this.nextChannel = this.role === 'initiator' ? 1 : 2;
    this.budget = options.sendBudget;
    this.reset();
  }

  // ------------------------------------------------------------------ public API

  /** Resolves with the peer's greeting (after a tuning reset: the new one); rejects if the session ends first. */
  get ready(): Promise<GreetingInfo> {
    return this.readyPromise;
  }

  /** Profile URIs the peer advertised. */
  get peerProfiles(): string[] {
    return this.peerGreeting?.profiles ?? [];
  }

  /** Open channels (channel 0 excluded). */
  get channels(): Channel[] {
    const out: Channel[] = [];
    for (const c of this.chans.values()) if (c.number !== 0) out.push(c.api);
    return out;
  }

  /** Octets queued in the session and not yet handed to the transport (all channels). */
  get queuedBytes(): number {
    return this.queuedTotal;
  }

  /**
   * Bind the byte stream and send our greeting at once (never waiting for the peer's). Transports call this.
   */
  attach(binding: SessionBinding): void {
    if (this.binding !== undefined) throw new BeepUsageError('session already attached');
    this.binding = binding;
    if (this.closed) {
      binding.destroy(this.closeReason);
      return;
    }
    this.startGreetingTimer();
    this.startIdleTimer();
    this.scheduleFlush();
  }

  /**
   * Feed bytes read from the transport. At most READ_TURN_BYTES are parsed per event-loop turn; the rest is parsed
   * on the next turns while the transport is asked to stop reading (`pauseReading`).
   */
  receive(chunk: Buffer): void {
    if (this.closed || chunk.length === 0) return;
    this.pacer.push(chunk);
  }

  private consume(chunk: Buffer): void {
    if (this.closed) return;
    if (this.inputPaused) {
      this.holdInput(chunk);
      return;
    }
    try {
      this.parser.push(chunk);
    } catch (e) {
      if (e !== STOP) this.terminate(e);
      return;
    }
    if (this.seqDue.length > 0) this.sendSeqsNow();
    if (this.waiters.length > 0) this.checkWaiters();
  }

  /** The transport can take more bytes again. */
  drain(): void {
    this.blocked = false;
    this.updateReads();
    this.scheduleFlush();
  }

  /** The transport closed (peer EOF, socket error). */
  transportClosed(err?: Error): void {
    if (this.closed) return;
    if (this.releasing) {
      this.finish(undefined);
      return;
    }
    this.terminate(
      err ?? new BeepClosedError('BEEP_TRANSPORT_CLOSED', 'the peer closed the connection without releasing the session'),
    );
  }

  /**
   * Start a channel (RFC 3080 §2.3.1.2) offering one or more profiles; resolves with the channel once the peer
   * accepted one (its piggybacked reply is `channel.startReplyContent`), rejects with BeepReplyError (e.g. 550).
   */
  startChannel(profile: string | readonly string[], opts: StartChannelOptions = {}): Promise<Channel> {
    if (this.closed) return Promise.reject(closedError());
    if (this.closingSelf) return Promise.reject(closedError('BEEP_CLOSING', 'session is closing'));
    if (opts.signal?.aborted) return Promise.reject(abortError(opts.signal));
    const uris = typeof profile === 'string' ? [profile] : [...profile];
    if (uris.length === 0) return Promise.reject(new BeepUsageError('startChannel needs at least one profile URI'));
    let number: number;
    try {
      number = this.allocateChannel(opts.number);
    } catch (e) {
      return Promise.reject(e);
    }
    const content = opts.content === undefined ? undefined : typeof opts.content === 'string' ? opts.content : Buffer.from(opts.content);
    let xml: string;
    try {
      xml = buildStart({
        number,
        ...(opts.serverName !== undefined ? { serverName: opts.serverName } : {}),
        profiles: uris.map((uri) => ({
          uri,
          ...(content !== undefined ? { content } : {}),
          ...(opts.encoding !== undefined ? { encoding: opts.encoding } : {}),
        })),
      });
    } catch (e) {
      return Promise.reject(e);
    }
    this.reserved.add(number);
    return new Promise<Channel>((resolve, reject) => {
      let settled = false;
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        reject(abortError(opts.signal as AbortSignal));
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => {
        opts.signal?.removeEventListener('abort', onAbort);
      };
      const sink = new Ch0Sink(
        (type, msg) => {
          this.reserved.delete(number);
          done();
          if (type === 'ERR') {
            if (opts.tuning) this.unquiet();
            const e = this.ch0Error(msg);
            if (!settled) {
              settled = true;
              reject(new BeepReplyError(e.code, e.text || `start refused (${e.code})`, e.lang));
            }
            return;
          }
          const el = parseChannel0(msg.payload, { expect: 'rpy', maxContentBytes: this.limits.maxMessageSize });
          if (el.type !== 'profile' || !uris.includes(el.uri)) {
            throw perr('BEEP_BAD_START_REPLY', 'the start reply does not name one of the offered profiles');
          }
          if (this.chans.has(number)) throw perr('BEEP_BAD_START_REPLY', `channel ${number} already open`);
          const ch = this.openChannel(number, el.uri);
          ch.api.startReplyContent = el.content === undefined ? undefined : profileContentBytes(el);
          if (opts.serverName !== undefined && this.serverName === undefined) this.serverName = opts.serverName;
          if (opts.tuning) this.pauseInput();
          this.creditCheck(ch);
          this.notifyChannel(ch, false);
          if (settled) {
            // the caller gave up: close the channel again
            ch.api.close().catch(() => undefined);
            return;
          }
          settled = true;
          resolve(ch.api);
        },
        (err) => {
          this.reserved.delete(number);
          done();
          if (!settled) {
            settled = true;
            reject(err);
          }
        },
      );
      const out = new OutMessage('MSG', buildXmlEntity(xml));
      if (opts.tuning) out.quiet = true;
      this.dispatchRequest(this.ch0, new RequestState(out, sink));
    });
  }

  /**
   * Release the session (`<close number='0' code='200'/>`, RFC 3080 §2.3.1.3): waits until our MSGs are
   * acknowledged, asks the peer, and resolves once it answered `ok` and the connection is closing. Rejects with
   * BeepReplyError (e.g. 550) when the peer declines; the session then stays up.
   */
  close(opts: { code?: number; text?: string; signal?: AbortSignal } = {}): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.closePromise) return this.closePromise;
    const p = this.doClose(opts.code ?? 200, opts.text, opts.signal);
    this.closePromise = p;
    p.then(
      () => undefined,
      () => {
        this.closePromise = undefined;
      },
    );
    return p;
  }

  /** End the session at once (no negotiation). `reason` becomes `closeReason`. */
  destroy(reason?: Error): void {
    if (this.closed) return;
    if (reason === undefined) {
      this.finish(undefined);
    } else {
      this.terminate(reason);
    }
  }

  /**
   * Tuning reset (RFC 3080 §3): after a tuning profile's exchange (ours or the peer's `quiet` reply / our `tuning`
   * start), drop every channel, reset all sequence state, optionally swap the byte stream and the offered profiles,
   * and exchange new greetings. Resolves with the peer's new greeting.
   */
  async tune(opts: TuneOptions = {}): Promise<GreetingInfo> {
    if (this.closed) throw closedError();
    const leftover = this.takeInput();
    this.inputPaused = true;
    this.quiet = true;
    const resetErr = closedError('BEEP_TUNING_RESET', 'channels closed by a tuning reset');
    this.failChannels(resetErr, true);
    this.readyReject(resetErr);
    if (opts.profiles !== undefined) this.setProfiles(opts.profiles);
    if (opts.features !== undefined) this.features = opts.features;
    if (opts.localize !== undefined) this.localize = opts.localize;
    this.reset();
    if (opts.wrap !== undefined) {
      const b = this.binding;
      if (b?.rewrap === undefined) throw new BeepUsageError('this transport cannot swap its byte stream');
      await b.rewrap(opts.wrap, leftover);
    }
    this.inputPaused = false;
    this.quiet = false;
    this.blocked = false;
    this.startGreetingTimer();
    this.scheduleFlush();
    if (opts.wrap === undefined && leftover.length > 0) this.receive(leftover);
    return this.readyPromise;
  }

  /** Undo a `quiet` reply or a `tuning` start whose tuning did not happen: send and parse again. */
  resume(): void {
    if (this.closed) return;
    this.unquiet();
    if (this.inputPaused) {
      this.inputPaused = false;
      this.parser = this.newParser();
      const rest = this.takeInput();
      if (rest.length > 0) this.receive(rest);
    }
  }

  // ------------------------------------------------------------------ internals used by Channel / Responder

  /** @internal */
  _sendRequest(
    ch: ChanState,
    payload: Payload,
    opts: RequestOptions | undefined,
    sink: ReplySink,
    signal?: AbortSignal,
    streaming = false,
  ): void {
    if (this.closed || !ch.open) return sink.fail(closedError(this.closed ? 'BEEP_SESSION_CLOSED' : 'BEEP_CHANNEL_CLOSED', 'closed'));
    if (ch.closingSelf || this.closingSelf) return sink.fail(closedError('BEEP_CLOSING', 'channel is closing'));
    if (signal?.aborted) return sink.fail(abortError(signal));
    let parts: { head: Buffer; body: Buffer };
    try {
      parts = buildPayloadParts(payload, opts);
    } catch (e) {
      return sink.fail(e as Error);
    }
    const req = new RequestState(outMessage('MSG', parts), sink);
    req.streaming = streaming;
    if (signal !== undefined) {
      const onAbort = (): void => {
        if (req.done || req.abandoned) return;
        req.abandoned = true;
        if (ch.waiting.remove(req)) req.done = true;
        sink.fail(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      req.unlisten = () => signal.removeEventListener('abort', onAbort);
    }
    if (ch.awaiting.length >= this.limits.maxOutstanding) ch.waiting.push(req);
    else this.dispatchRequest(ch, req);
  }

  /** @internal */
  _queueReply(ch: ChanState, slot: ReplySlot, out: OutMessage): void {
    if (!ch.open || this.closed) return;
    out.msgno = slot.msgno;
    this.addQueued(ch, out.length);
    if (ch.slots.peek() === slot && !slot.holding) this.enqueueOut(ch, out);
    else slot.items.push(out);
    if (out.replyFinal) {
      slot.final = true;
      if (slot.holding) {
        // Replied before reading a streamed MSG to its end: nobody will read the rest, so drop it as it arrives.
        const st = ch.inPartial?.slot === slot ? ch.inPartial.stream : undefined;
        if (st !== undefined && st.readableFlowing === null) st._discard();
      }
      this.advanceSlots(ch);
    }
  }

  /** @internal */
  _whenWritable(ch: ChanState): Promise<void> {
    if (ch.queuedBytes < this.limits.sendHighWater && !this.over) return Promise.resolve();
    return new Promise((resolve, reject) => ch.highWaiters.push({ resolve, reject }));
  }

  /** @internal Stream consumers: `delta` octets delivered (+) or consumed (-). */
  _backlog(ch: ChanState, delta: number): void {
    ch.backlog += delta;
    if (delta < 0) this.creditCheck(ch);
  }

  /** @internal */
  _closeChannel(ch: ChanState, code: number, text: string | undefined, signal?: AbortSignal): Promise<void> {
    if (ch.closePromise) return ch.closePromise;
    if (this.closed) return Promise.resolve();
    const p = this.doCloseChannel(ch, code, text, signal);
    ch.closePromise = p;
    p.catch(() => {
      ch.closePromise = undefined;
    });
    return p;
  }

  // ------------------------------------------------------------------ state setup

  private setProfiles(list: readonly ProfileDefinition[]): void {
    const m = new Map<string, ProfileDefinition>();
    for (const p of list) {
      if (typeof p?.uri !== 'string' || p.uri === '') throw new BeepUsageError('every profile needs a uri');
      m.set(p.uri, p);
    }
    this.profiles = m;
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

  /** Fresh channel 0, parser and greeting state (construction and tuning reset). */
  private reset(): void {
    for (const ch of this.chans.values()) this.addQueued(ch, -ch.queuedBytes);
    this.chans.clear();
    this.ring = [];
    this.seqDue = [];
    this.reserved.clear();
    this.greetingReceived = false;
    this.peerGreeting = undefined;
    this.nextChannel = this.role === 'initiator' ? 1 : 2;
    this.parser = this.newParser();
    this.readyPromise = new Promise<GreetingInfo>((res, rej) => {
      this.readyResolve = res;
      this.readyReject = rej;
    });
    this.readyPromise.catch(() => undefined);
    const ch0 = new ChanState(0, '', DEFAULT_WINDOW, undefined);
    ch0.api = new Channel(this, ch0);
    ch0.advertised = true;
    this.ch0 = ch0;
    this.chans.set(0, ch0);
    // The greeting is the reply to an implicit MSG 0 of each side.
    const implicit = new OutMessage('MSG', EMPTY);
    implicit.started = implicit.sent = true;
    const greetReq = new RequestState(implicit, {
      deliver: (msg) => this.onGreeting(msg),
      fail: () => undefined,
    });
    greetReq.msgno = 0;
    ch0.awaiting.push(greetReq);
    this.queueGreeting();
  }

  private queueGreeting(): void {
    const ch0 = this.ch0;
    let out: OutMessage;
    const unavailable = this.role === 'listener' ? this.opts.unavailable : undefined;
    if (unavailable !== undefined) {
      const code = unavailable.code ?? 421;
      const xml = buildError(unavailable.text ? { code, text: unavailable.text } : { code });
      out = new OutMessage('ERR', buildXmlEntity(xml));
      out.quiet = true;
      out.onSent = () => {
        this.closeReason = new BeepClosedError('BEEP_UNAVAILABLE', `session refused with ${code}`);
        this.releasing = true;
        this.binding?.end();
        this.finish(this.closeReason, false);
      };
    } else {
      const profiles: string[] = [];
      for (const p of this.profiles.values()) if (!p.hidden) profiles.push(p.uri);
      out = new OutMessage(
        'RPY',
        buildXmlEntity(buildGreeting({ profiles, features: this.features, localize: this.localize })),
      );
    }
    out.msgno = 0;
    this.addQueued(ch0, out.length);
    this.enqueueOut(ch0, out);
  }

  private startGreetingTimer(): void {
    if (this.greetingTimer) clearTimeout(this.greetingTimer);
    const ms = this.limits.greetingTimeout;
    if (ms <= 0) return;
    this.greetingTimer = setTimeout(() => {
      this.greetingTimer = undefined;
      if (!this.greetingReceived) this.terminate(perr('BEEP_GREETING_TIMEOUT', `no greeting within ${ms} ms`));
    }, ms);
    this.greetingTimer.unref?.();
  }

  private onGreeting(msg: IncomingMessage): void {
    if (msg.type === 'ERR') {
      const e = this.ch0Error(msg);
      throw new BeepReplyError(e.code, e.text || `the peer refused the session (${e.code})`, e.lang);
    }
    if (msg.type !== 'RPY') throw perr('BEEP_EXPECTED_GREETING', `${msg.type} instead of the greeting`);
    const bad = this.limits.strict ? this.strictEntityError(msg.raw, true) : undefined;
    if (bad !== undefined) throw new BeepProtocolError('BEEP_BAD_GREETING', `bad greeting: ${bad.message}`, { cause: bad, replyCode: 500 });
    let el;
    try {
      el = parseChannel0(msg.payload, { expect: 'rpy' });
    } catch (e) {
      throw new BeepProtocolError('BEEP_BAD_GREETING', `bad greeting: ${(e as Error).message}`, { cause: e, replyCode: 500 });
    }
    if (el.type !== 'greeting') throw perr('BEEP_EXPECTED_GREETING', `<${el.type}> instead of <greeting>`);
    this.greetingReceived = true;
    if (this.greetingTimer) clearTimeout(this.greetingTimer);
    this.greetingTimer = undefined;
    const info: GreetingInfo = { profiles: el.profiles, features: el.features, localize: el.localize };
    this.peerGreeting = info;
    this.readyResolve(info);
    this.emit('greeting', info);
  }

  private ch0Error(msg: IncomingMessage): { code: number; text: string; lang: string | undefined } {
    let el;
    try {
      el = parseChannel0(msg.payload, { expect: 'err' });
    } catch (e) {
      throw new BeepProtocolError('BEEP_BAD_CHANNEL0_REPLY', `bad error element: ${(e as Error).message}`, {
        cause: e,
        replyCode: 500,
      });
    }
    if (el.type !== 'error') throw perr('BEEP_BAD_CHANNEL0_REPLY', 'ERR without <error>');
    return { code: el.code, text: el.text, lang: el.lang };
  }

  private allocateChannel(wanted: number | undefined): number {
    const myParity = this.role === 'initiator' ? 1 : 0;
    if (this.chans.size - 1 + this.reserved.size >= this.limits.maxChannels) {
      throw new BeepLimitError('BEEP_TOO_MANY_CHANNELS', `at most ${this.limits.maxChannels} channels`);
    }
    if (wanted !== undefined) {
      if (!Number.isInteger(wanted) || wanted < 1 || wanted > 2147483647 || wanted % 2 !== myParity) {
        throw new BeepUsageError(`channel number ${wanted} is not valid for the ${this.role}`);
      }
      if (this.chans.has(wanted) || this.reserved.has(wanted)) throw new BeepUsageError(`channel ${wanted} is in use`);
      return wanted;
    }
    for (;;) {
      const n = this.nextChannel;
      this.nextChannel = n + 2 > 2147483647 ? 2 - myParity : n + 2;
      if (!this.chans.has(n) && !this.reserved.has(n)) return n;
    }
  }

  private openChannel(number: number, uri: string): ChanState {
    const profile = this.profiles.get(uri);
    const ch = new ChanState(number, uri, this.limits.receiveWindow, profile);
    ch.streaming = profile?.streaming === true;
    const init = this.opts.initialSeqno;
    if (init !== undefined) {
      ch.sendSeq = ch.peerAck = init;
      ch.recvSeq = ch.advAck = init;
    }
    ch.api = new Channel(this, ch);
    this.chans.set(number, ch);
    return ch;
  }

  private notifyChannel(ch: ChanState, peerStarted: boolean): void {
    try {
      ch.profile?.onChannel?.(ch.api);
      if (peerStarted) this.emit('channel', ch.api);
    } catch (e) {
      debug('onChannel handler threw: %s', (e as Error)?.message);
    }
  }

  // ------------------------------------------------------------------ input

  private holdInput(chunk: Buffer): void {
    this.pendingInput.push(chunk);
    this.pendingInputBytes += chunk.length;
    if (this.pendingInputBytes > MAX_PAUSED_INPUT) {
      this.terminate(perr('BEEP_INPUT_WHILE_TUNING', 'the peer kept sending while the session was paused for tuning'));
    }
  }

  private takeInput(): Buffer {
    const b = this.pendingInput.length === 1 ? (this.pendingInput[0] as Buffer) : Buffer.concat(this.pendingInput);
    this.pendingInput = [];
    this.pendingInputBytes = 0;
    return b;
  }

  /** Stop parsing (tuning): octets after the current frame are held raw. Call from inside onFrame or between pushes. */
  private pauseInput(): void {
    if (this.inputPaused) return;
    this.inputPaused = true;
    const rest = this.parser.detach();
    if (rest.length > 0) this.holdInput(Buffer.from(rest));
  }

  private onHeader(h: DataFrameHeader): void {
    const ch = this.chans.get(h.channel);
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
    if (this.closed) throw STOP;
    this.sawInput = true;
    if (f.type === 'SEQ') {
      this.onSeq(f);
      return;
    }
    const ch = this.chans.get(f.channel);
    if (ch === undefined) throw perr('BEEP_UNKNOWN_CHANNEL', `channel ${f.channel} is not open`);
    if (f.payload.length > 0) f.payload = owned(f.payload);
    const isMsg = f.type === 'MSG';
    if (!this.greetingReceived && isMsg) throw perr('BEEP_EXPECTED_GREETING', 'a MSG arrived before the greeting');
    if (ch.contMsgno !== -1 && (f.msgno !== ch.contMsgno || isMsg !== ch.contIsMsg)) {
      throw perr(
        'BEEP_INTERLEAVED',
        `channel ${ch.number}: ${f.type} ${f.msgno} interleaved with the unfinished message ${ch.contMsgno}`,
      );
    }
    if (isMsg) this.onMsgFrame(ch, f);
    else this.onReplyFrame(ch, f);
    this.creditCheck(ch);
  }

  private onSeq(f: SeqFrame): void {
    const ch = this.chans.get(f.channel);
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
    if (ch.queue.length > 0 && !ch.inRing && ch.ready) {
      ch.inRing = true;
      this.ring.push(ch);
      this.scheduleFlush();
    }
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
        const r = new Responder(this, ch, p.slot);
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
      const bad = this.strictEntityError(payload, ch.number === 0);
      if (bad !== undefined) {
        new Responder(this, ch, p.slot).err(500, bad.message);
        return;
      }
    }
    if (ch.number === 0) this.onChannel0Msg(p.slot, msg);
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
    p.stream?._end();
    const slot = p.slot;
    slot.holding = false;
    if (ch.slots.peek() === slot && slot.items.length > 0) {
      const items = slot.items;
      slot.items = [];
      for (const o of items) this.enqueueOut(ch, o);
    }
    this.advanceSlots(ch);
  }

  private deliverMsg(ch: ChanState, slot: ReplySlot, msg: IncomingMessage): void {
    const responder = new Responder(this, ch, slot);
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
    if (r.done || this.closed) return;
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
        this.addQueued(ch, -rest);
        out.truncate(out.off);
        if (!ch.inRing && ch.ready) {
          ch.inRing = true;
          this.ring.push(ch);
        }
        this.scheduleFlush();
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
      if (req.abandoned) msg.stream?._discard();
      else req.sink.streamStarted?.(msg);
    }
    if (last) {
      ch.contMsgno = -1;
      req.stream?._end();
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
      into.stream._enqueue(f.payload);
      return undefined;
    }
    const hc = (into.header ??= new HeaderCollector());
    const before = hc.held;
    const r = hc.feed(f.payload, !f.more);
    if (r === undefined) {
      this._backlog(ch, f.payload.length);
      return undefined;
    }
    if (before > 0) this._backlog(ch, -before);
    into.header = undefined;
    const stream = new MessageStream({ backlog: (d) => this._backlog(ch, d) });
    into.stream = stream;
    const msg = new IncomingMessage(type, ch.api, f.msgno, r.header);
    msg.stream = stream;
    stream._enqueue(r.body);
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
      if (!next.abandoned) this.dispatchRequest(ch, next);
    }
  }

  /**
   * Hand a complete reply message to its requester. A poorly formed one (strict: not a MIME entity; channel 0: not
   * application/beep+xml; or the sink refusing it with a protocol/XML error) terminates the session on channel 0
   * and closes just that channel elsewhere (checklist C.21, RFC 3080 §2.2.2.1).
   */
  private deliverReply(ch: ChanState, req: RequestState, msg: IncomingMessage, final: boolean): void {
    const bad = this.limits.strict ? this.strictEntityError(msg.raw, ch.number === 0) : undefined;
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

  /** Strict mode: why `raw` is not a well-formed MIME entity (for channel 0: of type application/beep+xml). */
  private strictEntityError(raw: Buffer, channel0: boolean): BeepProtocolError | undefined {
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

  /** A poorly formed reply on a profile channel: close that channel with 500 (the session stays up). */
  private channelFault(ch: ChanState, err: Error): void {
    debug('channel %d: poorly formed reply, closing the channel: %s', ch.number, err.message);
    if (!ch.open || this.closed) return;
    this._closeChannel(ch, 500, 'poorly formed reply').catch((e: unknown) => {
      debug('channel %d: close after a poorly formed reply failed: %s', ch.number, (e as Error)?.message);
    });
  }

  // ------------------------------------------------------------------ channel 0 management

  private onChannel0Msg(slot: ReplySlot, msg: IncomingMessage): void {
    let el;
    try {
      el = parseChannel0(msg.payload, { expect: 'msg', decodeBase64: true, strict: this.limits.strict });
    } catch (e) {
      const code = e instanceof BeepError && e.replyCode !== undefined ? e.replyCode : 500;
      this.ch0Reply(slot, 'ERR', buildError({ code, text: (e as Error).message }));
      return;
    }
    if (el.type === 'start') {
      this.onStart(slot, el).catch((e: unknown) => {
        debug('start handling failed: %s', (e as Error)?.message);
        if (!this.closed) this.ch0Reply(slot, 'ERR', buildError({ code: 451, text: 'local error' }));
      });
    } else if (el.type === 'close') {
      this.onClose(slot, el);
    }
  }

  private ch0Reply(slot: ReplySlot, type: 'RPY' | 'ERR', xml: string, setup?: (out: OutMessage) => void): void {
    const out = new OutMessage(type, buildXmlEntity(xml));
    out.replyFinal = true;
    setup?.(out);
    this.ch0ReplyOut(slot, out);
  }

  private ch0ReplyOut(slot: ReplySlot, out: OutMessage): void {
    this._queueReply(this.ch0, slot, out);
  }

  private async onStart(slot: ReplySlot, start: Start): Promise<void> {
    const n = start.number;
    const peerParity = this.role === 'listener' ? 1 : 0;
    const refuse = (code: number, text: string): void => this.ch0Reply(slot, 'ERR', buildError({ code, text }));
    if (n % 2 !== peerParity) {
      return refuse(501, `channel number ${n} has the wrong parity for the ${this.role === 'listener' ? 'initiator' : 'listener'}`);
    }
    if (this.chans.has(n) || this.reserved.has(n)) return refuse(550, `channel ${n} is already in use`);
    if (this.chans.size - 1 + this.reserved.size >= this.limits.maxChannels) return refuse(550, 'too many channels');
    if (start.serverName !== undefined && this.opts.acceptServerName && !this.opts.acceptServerName(start.serverName)) {
      return refuse(550, `serverName ${start.serverName} is not served here`);
    }
    this.reserved.add(n);
    let last: { code: number; text?: string } | undefined;
    try {
      for (const offered of start.profiles) {
        const def = this.profiles.get(offered.uri);
        if (def === undefined) continue;
        let decision: StartDecision = true;
        if (def.onStart !== undefined) {
          const content =
            offered.content === undefined ? undefined : offered.contentBytes ?? profileContentBytes(offered);
          const r = def.onStart({
            session: this,
            channel: n,
            uri: offered.uri,
            content,
            encoding: offered.encoding,
            serverName: start.serverName,
          });
          decision = r instanceof Promise ? await r : r;
          if (this.closed) return;
        }
        if (decision === false) {
          last = { code: 550, text: `profile ${offered.uri} refused` };
          continue;
        }
        const d = typeof decision === 'object' && decision !== null ? decision : {};
        if (d.refuse !== undefined) {
          last = d.refuse;
          continue;
        }
        this.reserved.delete(n);
        const ch = this.openChannel(n, offered.uri);
        ch.ready = false;
        if (start.serverName !== undefined && this.serverName === undefined) this.serverName = start.serverName;
        const content = d.content === undefined ? undefined : typeof d.content === 'string' ? d.content : Buffer.from(d.content);
        const xml = buildProfile({
          uri: offered.uri,
          ...(content !== undefined ? { content } : {}),
          ...(d.encoding !== undefined ? { encoding: d.encoding } : {}),
        });
        this.ch0Reply(slot, 'RPY', xml, (out) => {
          if (d.quiet) out.quiet = true;
          else out.opens = ch;
          out.onSent = () => {
            ch.ready = true;
            if (ch.queue.length > 0 && !ch.inRing) {
              ch.inRing = true;
              this.ring.push(ch);
            }
            this.creditCheck(ch);
            d.onSent?.(ch.api);
          };
        });
        this.notifyChannel(ch, true);
        return;
      }
    } finally {
      this.reserved.delete(n);
    }
    if (last !== undefined) {
      this.ch0Reply(slot, 'ERR', buildError(last.text ? { code: last.code, text: last.text } : { code: last.code }));
    } else {
      refuse(550, 'none of the offered profiles is available');
    }
  }

  private onClose(slot: ReplySlot, close: Close): void {
    const n = close.number;
    if (n === 0) {
      this.waitFor(() => this.sessionQuiescent(), this.limits.closeTimeout).then((ok) => {
        if (this.closed) return;
        if (!ok) {
          this.ch0Reply(slot, 'ERR', buildError({ code: 550, text: 'session still busy' }));
          return;
        }
        this.releasing = true;
        this.ch0Reply(slot, 'RPY', buildOk(), (out) => {
          out.quiet = true;
          out.onSent = () => {
            // The sender of ok closes the transport first (RFC 3080 §2.3.1.3).
            this.binding?.end();
            this.finish(undefined);
          };
        });
      });
      return;
    }
    const ch = this.chans.get(n);
    if (ch === undefined || !ch.ready) {
      this.ch0Reply(slot, 'ERR', buildError({ code: 550, text: `channel ${n} is not open` }));
      return;
    }
    const hook = ch.profile?.onCloseRequest;
    if (hook !== undefined) {
      let verdict: boolean | { code: number; text?: string } = true;
      try {
        verdict = hook(ch.api, close.code);
      } catch {
        verdict = { code: 451, text: 'local error' };
      }
      if (verdict !== true) {
        const v = verdict === false ? { code: 550, text: 'close declined' } : verdict;
        this.ch0Reply(slot, 'ERR', buildError(v.text ? { code: v.code, text: v.text } : { code: v.code }));
        return;
      }
    }
    ch.closeRequested = true;
    this.waitFor(() => !ch.open || this.channelQuiescent(ch), this.limits.closeTimeout).then((ok) => {
      if (this.closed) return;
      ch.closeRequested = false;
      if (!ch.open) {
        this.ch0Reply(slot, 'RPY', buildOk());
        return;
      }
      if (!ok) {
        this.ch0Reply(slot, 'ERR', buildError({ code: 550, text: `channel ${n} is still busy` }));
        return;
      }
      this.ch0Reply(slot, 'RPY', buildOk());
      this.dropChannel(ch, undefined);
    });
  }

  private channelQuiescent(ch: ChanState): boolean {
    return (
      ch.queue.length === 0 &&
      ch.awaiting.length === 0 &&
      ch.waiting.length === 0 &&
      ch.slots.length === 0 &&
      ch.inPartial === undefined
    );
  }

  private sessionQuiescent(): boolean {
    for (const ch of this.chans.values()) {
      if (ch.number !== 0 && !this.channelQuiescent(ch)) return false;
    }
    for (const r of this.ch0.awaiting) if (!r.isClose && r.msgno !== 0) return false;
    return true;
  }

  private async doCloseChannel(ch: ChanState, code: number, text: string | undefined, signal?: AbortSignal): Promise<void> {
    ch.closingSelf = true;
    try {
      // RFC 3080 §2.3.1.3: all of our MSGs on the channel must have been acknowledged first.
      await this.waitUntil(() => !ch.open || this.acknowledged(ch), signal);
      if (!ch.open) return;
      await this.ch0Request(buildClose(text ? { number: ch.number, code, text } : { number: ch.number, code }), signal);
      this.dropChannel(ch, undefined);
    } catch (e) {
      ch.closingSelf = false;
      throw e;
    }
  }

  private acknowledged(ch: ChanState): boolean {
    if (ch.waiting.length > 0) return false;
    for (const r of ch.awaiting) if (!r.acked) return false;
    return true;
  }

  private async doClose(code: number, text: string | undefined, signal?: AbortSignal): Promise<void> {
    await this.waitUntil(() => {
      for (const ch of this.chans.values()) if (ch.number !== 0 && !this.acknowledged(ch)) return false;
      return true;
    }, signal);
    if (this.closed) return;
    this.closingSelf = true;
    try {
      await this.ch0Request(buildClose(text ? { number: 0, code, text } : { number: 0, code }), signal, true);
    } catch (e) {
      if (this.closed && this.releasing) return;
      this.closingSelf = false;
      throw e;
    }
    this.releasing = true;
    this.binding?.end();
    this.finish(undefined);
  }

  /** Send a close on channel 0; resolves on ok, rejects with BeepReplyError on error. */
  private ch0Request(xml: string, signal?: AbortSignal, isClose = false): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(abortError(signal as AbortSignal));
      signal?.addEventListener('abort', onAbort, { once: true });
      const sink = new Ch0Sink(
        (type, msg) => {
          signal?.removeEventListener('abort', onAbort);
          if (type === 'ERR') {
            const e = this.ch0Error(msg);
            reject(new BeepReplyError(e.code, e.text || `close declined (${e.code})`, e.lang));
            return;
          }
          const el = parseChannel0(msg.payload, { expect: 'rpy' });
          if (el.type !== 'ok') throw perr('BEEP_BAD_CLOSE_REPLY', `<${el.type}> in reply to close`);
          // Session release: the peer closes the transport right after its ok; that EOF is the orderly end.
          if (isClose) this.releasing = true;
          resolve();
        },
        (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
      const req = new RequestState(new OutMessage('MSG', buildXmlEntity(xml)), sink);
      req.isClose = isClose;
      this.dispatchRequest(this.ch0, req);
    });
  }

  private dropChannel(ch: ChanState, reason: Error | undefined): void {
    if (!ch.open) return;
    ch.open = false;
    this.chans.delete(ch.number);
    // The error is built only when something waits on the channel (an Error's stack costs more than a close).
    this.failChannelState(ch, reason ?? (() => closedError('BEEP_CHANNEL_CLOSED', `channel ${ch.number} closed`)));
    ch.api._closed(reason);
  }

  private failChannelState(ch: ChanState, reason: Error | (() => Error)): void {
    ch.open = false;
    const pending =
      ch.inPartial?.stream !== undefined || ch.awaiting.length > 0 || ch.waiting.length > 0 || ch.highWaiters.length > 0;
    if (!pending) {
      ch.queue.clear();
      this.addQueued(ch, -ch.queuedBytes);
      return;
    }
    const err = typeof reason === 'function' ? reason() : reason;
    ch.inPartial?.stream?._fail(err);
    for (const r of ch.awaiting) {
      if (!r.done && !r.abandoned) {
        r.done = true;
        r.unlisten?.();
        try {
          r.sink.fail(err);
        } catch {
          // ignore
        }
      }
    }
    for (const r of ch.waiting) {
      if (!r.abandoned) r.sink.fail(err);
    }
    ch.awaiting.clear();
    ch.waiting.clear();
    ch.queue.clear();
    this.addQueued(ch, -ch.queuedBytes);
    const hw = ch.highWaiters;
    ch.highWaiters = [];
    for (const w of hw) w.reject(err);
  }

  private failChannels(err: Error, emit: boolean): void {
    for (const ch of [...this.chans.values()]) {
      if (ch.number === 0) {
        this.failChannelState(ch, err);
        continue;
      }
      this.chans.delete(ch.number);
      this.failChannelState(ch, err);
      if (emit) ch.api._closed(err);
    }
  }

  // ------------------------------------------------------------------ waiting

  private checkWaiters(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) {
      if (this.closed || w.pred()) w.resolve();
      else this.waiters.push(w);
    }
  }

  /** Resolves true once pred holds, false after timeoutMs (0 = no limit) or when the session ends. */
  private waitFor(pred: () => boolean, timeoutMs: number): Promise<boolean> {
    if (pred()) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const w: Waiter = {
        pred,
        resolve: () => {
          if (timer) clearTimeout(timer);
          resolve(!this.closed);
        },
      };
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve(false);
        }, timeoutMs);
        timer.unref?.();
      }
      this.waiters.push(w);
    });
  }

  /** Resolves once pred holds; rejects on abort or when the session ends. */
  private waitUntil(pred: () => boolean, signal?: AbortSignal): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    if (pred()) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        pred,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          if (this.closed) reject(closedError());
          else resolve();
        },
      };
      const onAbort = (): void => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(abortError(signal as AbortSignal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(w);
    });
  }

  // ------------------------------------------------------------------ output

  private dispatchRequest(ch: ChanState, req: RequestState): void {
    const n = ch.nextMsgno;
    ch.nextMsgno = n === 2147483647 ? 0 : n + 1;
    req.msgno = n;
    req.out.msgno = n;
    ch.awaiting.push(req);
    this.addQueued(ch, req.out.length);
    this.enqueueOut(ch, req.out);
  }

  private advanceSlots(ch: ChanState): void {
    for (;;) {
      const h = ch.slots.peek();
      if (h === undefined || !h.final || h.holding) break;
      ch.slots.shift();
      const next = ch.slots.peek();
      if (next !== undefined && next.items.length > 0 && !next.holding) {
        const items = next.items;
        next.items = [];
        for (const o of items) this.enqueueOut(ch, o);
      }
    }
    this.creditCheck(ch);
  }

  private enqueueOut(ch: ChanState, out: OutMessage): void {
    ch.queue.push(out);
    if (!ch.inRing && ch.ready) {
      ch.inRing = true;
      this.ring.push(ch);
    }
    this.scheduleFlush();
  }

  /** Decide whether the channel's receive window deserves a SEQ (consolidated: at most one per flush). */
  private creditCheck(ch: ChanState): void {
    if (ch.inSeqDue || !ch.open || !ch.ready || this.over) return;
    // Channel 0's replies (to start and close) are bounded like other channels' sends: no more requests while
    // sendHighWater octets of them wait for the peer's window.
    if (ch.number === 0 && ch.queuedBytes >= this.limits.sendHighWater) return;
    if (ch.slots.length >= this.limits.maxOutstanding) return;
    const free = ch.bufSize - ch.backlog;
    if (free <= 0) return;
    const newEdge = seqAdd(ch.recvSeq, free);
    const oldEdge = seqAdd(ch.advAck, ch.advWin);
    if (edgeMovesLeft(oldEdge, newEdge)) return;
    const inc = seqDistance(oldEdge, newEdge);
    if (inc === 0) return;
    if (inc * 2 >= ch.bufSize || (!ch.advertised && free !== ch.advWin)) {
      ch.inSeqDue = true;
      this.seqDue.push(ch);
      this.scheduleFlush();
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    setImmediate(this.flushBound);
  }

  /** Produce frames: SEQs first, then round-robin data, into one coalesced write. */
  private flush(): void {
    this.flushScheduled = false;
    const binding = this.binding;
    if (this.closed || binding === undefined || this.blocked || this.quiet) return;
    const parts: Buffer[] = [];
    let bytes = 0;
    if (this.seqDue.length > 0) bytes += this.takeSeqs(parts);
    const ring = this.ring;
    const maxFrame = this.limits.maxSendFrameSize;
    let sentCallbacks: Array<() => void> | undefined;
    let opened: ChanState[] | undefined;
    let i = 0;
    while (i < ring.length && bytes < FLUSH_BUDGET && !this.quiet) {
      const ch = ring[i++] as ChanState;
      ch.inRing = false;
      if (!ch.open) continue;
      const out = ch.queue.peek();
      if (out === undefined) continue;
      const rem = out.length - out.off;
      let n = rem;
      if (n > 0) {
        const used = seqDistance(ch.peerAck, ch.sendSeq);
        const avail = used >= ch.peerWin ? 0 : ch.peerWin - used;
        if (avail === 0) continue; // window closed: re-added when a SEQ arrives
        if (n > avail) n = avail;
        if (n > maxFrame) n = maxFrame;
      }
      const more = n < rem;
      const head =
        out.type === 'ANS'
          ? `ANS ${ch.number} ${out.msgno} ${more ? '*' : '.'} ${ch.sendSeq} ${n} ${out.ansno}\r\n`
          : `${out.type} ${ch.number} ${out.msgno} ${more ? '*' : '.'} ${ch.sendSeq} ${n}\r\n`;
      const hb = Buffer.from(head, 'latin1');
      parts.push(hb);
      if (n > 0) {
        const head = out.head;
        const data = out.data;
        const hl = head.length;
        const from = out.off;
        const to = from + n;
        if (from < hl) parts.push(to >= hl && from === 0 ? head : head.subarray(from, Math.min(to, hl)));
        if (to > hl) {
          const s0 = from > hl ? from - hl : 0;
          const e0 = to - hl;
          parts.push(s0 === 0 && e0 === data.length ? data : data.subarray(s0, e0));
        }
      }
      parts.push(TRAILER);
      bytes += hb.length + n + 5;
      ch.sendSeq = seqAdd(ch.sendSeq, n);
      out.off += n;
      out.started = true;
      this.addQueued(ch, -n);
      if (!more) {
        ch.queue.shift();
        out.sent = true;
        if (out.replyFinal) ch.inMsgnos.delete(out.msgno);
        if (out.quiet) {
          this.quiet = true;
          // A tuning reply (e.g. proceed) stops parsing too; a tuning start still needs to read its reply.
          if (out.type !== 'MSG' && !this.inputPaused) this.pauseInput();
        }
        if (out.onSent !== undefined) (sentCallbacks ??= []).push(out.onSent);
        if (out.opens !== undefined && !this.quiet) (opened ??= []).push(out.opens);
      }
      if (ch.highWaiters.length > 0 && ch.queuedBytes < this.limits.sendHighWater && !this.over) {
        const hw = ch.highWaiters;
        ch.highWaiters = [];
        for (const w of hw) w.resolve();
      }
      if (ch === this.ch0 && !ch.inSeqDue) this.creditCheck(ch);
      if (ch.queue.length > 0 && !ch.inRing && ch.open) {
        ch.inRing = true;
        ring.push(ch);
      }
    }
    this.ring = i >= ring.length ? [] : ring.slice(i);
    if (opened !== undefined) bytes += this.firstSeqs(opened, parts);
    if (parts.length > 0 && !this.closed) {
      if (!writeGathered(binding, parts, bytes)) this.setBlocked();
    }
    if (sentCallbacks !== undefined) {
      // After the write: a callback may end the transport (session release) or swap it (tuning).
      for (const cb of sentCallbacks) {
        try {
          cb();
        } catch (e) {
          debug('onSent callback threw: %s', (e as Error)?.message);
        }
      }
    }
    if (this.waiters.length > 0) this.checkWaiters();
    if (!this.blocked && !this.quiet && (this.ring.length > 0 || this.seqDue.length > 0)) this.scheduleFlush();
  }

  /**
   * Channels whose positive start reply was cut into this flush: their first SEQ (a receive window larger than the
   * default) follows that reply in the same write instead of a write of its own once the reply is sent. Their
   * frames still wait for the reply's onSent (the peer's application learns of the channel only then).
   */
  private firstSeqs(opened: ChanState[], parts: Buffer[]): number {
    let bytes = 0;
    for (const ch of opened) {
      if (!ch.open || ch.ready || ch.advertised || ch.inSeqDue) continue;
      const win = ch.bufSize - ch.backlog;
      if (win <= ch.advWin) continue;
      bytes += this.seqFrame(ch, win, parts);
    }
    return bytes;
  }

  /** A SEQ advertising `win` on `ch` into `parts`, recorded as advertised; returns its octets. */
  private seqFrame(ch: ChanState, win: number, parts: Buffer[]): number {
    const b = Buffer.from(`SEQ ${ch.number} ${ch.recvSeq} ${win}\r\n`, 'latin1');
    parts.push(b);
    ch.advAck = ch.recvSeq;
    ch.advWin = win;
    ch.advertised = true;
    return b.length;
  }

  /** Build the due SEQ frames into `parts`, recording what they advertise; returns their octets. */
  private takeSeqs(parts: Buffer[]): number {
    let bytes = 0;
    const due = this.seqDue;
    this.seqDue = [];
    for (const ch of due) {
      ch.inSeqDue = false;
      if (!ch.open || !ch.ready) continue;
      const win = ch.bufSize - ch.backlog;
      if (win <= 0) continue;
      bytes += this.seqFrame(ch, win, parts);
    }
    return bytes;
  }

  /**
   * Send due SEQs right after a read instead of at the next flush: the transport delivers many reads in one turn,
   * and a window update that waits for the turn to end leaves a fast sender idle (SEQs are still consolidated, at
   * most one per channel and read, and only once half the window is free).
   */
  private sendSeqsNow(): void {
    const binding = this.binding;
    if (binding === undefined || this.closed || this.blocked || this.quiet) return;
    // A channel's first advertisement waits for the flush, where it travels with the MSG that usually follows it.
    let first: ChanState[] | undefined;
    if (this.seqDue.some((ch) => !ch.advertised)) {
      first = this.seqDue.filter((ch) => !ch.advertised);
      this.seqDue = this.seqDue.filter((ch) => ch.advertised);
    }
    const parts: Buffer[] = [];
    const bytes = this.takeSeqs(parts);
    if (first !== undefined) this.seqDue.push(...first);
    if (bytes === 0) return;
    if (!binding.write(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, bytes))) this.setBlocked();
  }

  private setBlocked(): void {
    this.blocked = true;
    if (this.over) this.updateReads();
  }

  // ------------------------------------------------------------------ send-queue bounds

  /** Every change of a channel's queued octets goes through here: session total, shared budget, over state. */
  private addQueued(ch: ChanState, delta: number): void {
    if (delta === 0) return;
    ch.queuedBytes += delta;
    this.queuedTotal += delta;
    this.budget?.add(this, delta);
    if (delta > 0) {
      if (!this.over && this.queuedTotal > this.limits.maxQueuedBytes && !this.closed) this.enterOver();
    } else if (this.over && this.queuedTotal <= this.limits.maxQueuedBytes / 2) this.leaveOver();
  }

  /** Too much queued: new work waits; the session must get under again within slowReaderTimeout. */
  private enterOver(): void {
    this.over = true;
    debug('session over its send queue bound: %d octets queued', this.queuedTotal);
    this.updateReads();
    const ms = this.limits.slowReaderTimeout;
    if (ms > 0) {
      this.overTimer = setTimeout(() => {
        this.overTimer = undefined;
        if (!this.over) return;
        this.terminate(
          new BeepLimitError(
            'BEEP_SLOW_READER',
            `the peer left ${this.queuedTotal} octets unread (over ${this.limits.maxQueuedBytes}) for ${ms} ms`,
          ),
        );
      }, ms);
      this.overTimer.unref?.();
    }
  }

  private leaveOver(): void {
    this.over = false;
    if (this.overTimer) clearTimeout(this.overTimer);
    this.overTimer = undefined;
    this.updateReads();
    for (const ch of this.chans.values()) {
      this.creditCheck(ch);
      if (ch.highWaiters.length > 0 && ch.queuedBytes < this.limits.sendHighWater) {
        const hw = ch.highWaiters;
        ch.highWaiters = [];
        for (const w of hw) w.resolve();
      }
    }
  }

  /**
   * Stop reading while over the bound and the transport is full: the peer sends but does not read. While only the
   * peer's windows are closed, reading goes on (its SEQ frames are what let the queue drain).
   */
  private updateReads(): void {
    const pause = !this.closed && ((this.over && this.blocked) || this.inputBacklog);
    if (pause === this.readsPaused) return;
    this.readsPaused = pause;
    if (pause) this.binding?.pauseReading?.();
    else this.binding?.resumeReading?.();
  }

  private inputBacklogged(pending: boolean): void {
    this.inputBacklog = pending;
    this.updateReads();
  }

  /** @internal SendBudget: this session holds the most while all sessions together are over the bound. */
  overBudget(total: number, limit: number): void {
    this.budget = undefined;
    this.terminate(
      new BeepLimitError(
        'BEEP_SEND_BUDGET',
        `dropped as the slowest reader: ${this.queuedTotal} octets unread while all sessions held ${total} (bound ${limit})`,
      ),
    );
  }

  private startIdleTimer(): void {
    const ms = this.limits.idleTimeout;
    if (ms <= 0 || this.closed) return;
    this.sawInput = false;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.closed) return;
      if (!this.sawInput && this.chans.size <= 1 && this.queuedTotal === 0) {
        this.terminate(new BeepClosedError('BEEP_IDLE_TIMEOUT', `no channel and nothing received for ${ms} ms`));
        return;
      }
      this.startIdleTimer();
    }, ms);
    this.idleTimer.unref?.();
  }

  private unquiet(): void {
    if (!this.quiet) return;
    this.quiet = false;
    this.scheduleFlush();
  }

  // ------------------------------------------------------------------ ending

  private terminate(e: unknown): void {
    if (this.closed) return;
    const err =
      e instanceof Error ? e : new BeepProtocolError('BEEP_INTERNAL', `unexpected failure: ${String(e)}`, { cause: e });
    debug('session terminated: %s %s', (err as BeepError).code ?? err.name, err.message);
    this.finish(err);
  }

  private finish(reason: Error | undefined, destroyTransport = true): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    if (this.greetingTimer) clearTimeout(this.greetingTimer);
    this.greetingTimer = undefined;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.overTimer) clearTimeout(this.overTimer);
    const err = reason ?? closedError();
    this.pacer.stop();
    this.failChannels(err, true);
    this.budget?.remove(this);
    this.budget = undefined;
    this.readyReject(err);
    this.checkWaiters();
    if (destroyTransport && reason !== undefined) this.binding?.destroy();
    else if (destroyTransport) this.binding?.end();
    this.emit('close', reason);
    if (reason !== undefined && this.listenerCount('error') > 0) this.emit('error', reason);
  }
}
