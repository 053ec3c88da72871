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
import type { SessionBinding, WrapFunction } from './binding.js';
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
import { Channel, type ChannelPort, type RequestOptions } from './channel.js';
import { buildPayloadParts } from './entity.js';
import { IncomingMessage, Responder } from './message.js';
import { HeaderCollector, MessageStream } from './message-stream.js';
import { resolveLimits, type ResolvedLimits, type Role, type SessionOptions } from './options.js';
import { InputPacer } from './input-pacer.js';
import { Sender } from './sender.js';
import { Inbound, strictEntityError } from './inbound.js';
import { abortError, closedError, perr } from './failures.js';
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

export type { SessionBinding, WrapFunction } from './binding.js';

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
export class Session extends EventEmitter {
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
  private readonly chans = new Map<number, ChanState>();
  private ch0!: ChanState;
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
  /** Outbound queues, window and scheduling, send-queue bounds. */
  private readonly sender: Sender;
  /** Frames in, messages and replies out to handlers and requesters. */
  private readonly inbound: Inbound;
  private readonly port: ChannelPort = {
    request: (ch, payload, opts, sink, signal, streaming) => this.sendRequest(ch, payload, opts, sink, signal, streaming),
    backlog: (ch, delta) => this.sender.backlog(ch, delta),
    close: (ch, code, text, signal) => this.closeChannel(ch, code, text, signal),
  };
  /** Input over this turn's budget waits for the next turn (the transport does not read meanwhile). */
  private readonly pacer = new InputPacer(
    { consume: (chunk) => this.inbound.push(chunk), backlogged: (pending) => this.sender.inputBacklogged(pending) },
    READ_TURN_BYTES,
  );
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
    const self = this;
    this.sender = new Sender(
      {
        get closed(): boolean {
          return self.closed;
        },
        get binding(): SessionBinding | undefined {
          return self.binding;
        },
        channels: () => this.chans.values(),
        // A tuning reply (e.g. proceed) stops parsing too; a tuning start still needs to read its reply.
        quietSent: (out) => {
          if (out.type !== 'MSG') this.inbound.pause();
        },
        afterFlush: () => {
          if (this.waiters.length > 0) this.checkWaiters();
        },
        terminate: (e) => this.terminate(e),
      },
      this.limits,
      options.sendBudget,
    );
    this.inbound = new Inbound(
      {
        get closed(): boolean {
          return self.closed;
        },
        get greetingReceived(): boolean {
          return self.greetingReceived;
        },
        channel: (n) => this.chans.get(n),
        channel0Msg: (slot, msg) => this.onChannel0Msg(slot, msg),
        closeChannel: (ch, code, text) => this.closeChannel(ch, code, text, undefined),
        frameSeen: () => {
          this.sawInput = true;
        },
        afterInput: () => {
          if (this.sender.seqsDue) this.sender.sendSeqsNow();
          if (this.waiters.length > 0) this.checkWaiters();
        },
        terminate: (e) => this.terminate(e),
      },
      this.limits,
      this.sender,
    );
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
    return this.sender.queuedTotal;
  }

  /** Same as queuedBytes. */
  get queuedTotal(): number {
    return this.sender.queuedTotal;
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
    this.sender.scheduleFlush();
  }

  /**
   * Feed bytes read from the transport. At most READ_TURN_BYTES are parsed per event-loop turn; the rest is parsed
   * on the next turns while the transport is asked to stop reading (`pauseReading`).
   */
  receive(chunk: Buffer): void {
    if (this.closed || chunk.length === 0) return;
    this.pacer.push(chunk);
  }

  /** The transport can take more bytes again. */
  drain(): void {
    this.sender.drained();
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
            if (opts.tuning) this.sender.unquiet();
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
          if (opts.tuning) this.inbound.pause();
          this.sender.creditCheck(ch);
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
      this.sender.dispatchRequest(this.ch0, new RequestState(out, sink));
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
    const leftover = this.inbound.takeHeld();
    this.inbound.paused = true;
    this.sender.quiet = true;
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
    this.inbound.paused = false;
    this.sender.quiet = false;
    this.startGreetingTimer();
    this.sender.drained();
    if (opts.wrap === undefined && leftover.length > 0) this.receive(leftover);
    return this.readyPromise;
  }

  /** Undo a `quiet` reply or a `tuning` start whose tuning did not happen: send and parse again. */
  resume(): void {
    if (this.closed) return;
    this.sender.unquiet();
    if (this.inbound.paused) {
      this.inbound.paused = false;
      this.inbound.resetParser();
      const rest = this.inbound.takeHeld();
      if (rest.length > 0) this.receive(rest);
    }
  }

  // ------------------------------------------------------------------ what channels ask of the session

  private sendRequest(
    ch: ChanState,
    payload: Payload,
    opts: RequestOptions | undefined,
    sink: ReplySink,
    signal: AbortSignal | undefined,
    streaming: boolean,
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
    else this.sender.dispatchRequest(ch, req);
  }

  private closeChannel(ch: ChanState, code: number, text: string | undefined, signal?: AbortSignal): Promise<void> {
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

  /** Fresh channel 0, parser and greeting state (construction and tuning reset). */
  private reset(): void {
    this.sender.reset(this.chans.values());
    this.chans.clear();
    this.reserved.clear();
    this.greetingReceived = false;
    this.peerGreeting = undefined;
    this.nextChannel = this.role === 'initiator' ? 1 : 2;
    this.inbound.resetParser();
    this.readyPromise = new Promise<GreetingInfo>((res, rej) => {
      this.readyResolve = res;
      this.readyReject = rej;
    });
    this.readyPromise.catch(() => undefined);
    const ch0 = new ChanState(0, '', DEFAULT_WINDOW, undefined);
    ch0.api = new Channel(this, ch0, this.port);
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
    this.sender.addQueued(ch0, out.length);
    this.sender.enqueueOut(ch0, out);
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
    const bad = this.limits.strict ? strictEntityError(msg.raw, true) : undefined;
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
    ch.api = new Channel(this, ch, this.port);
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
    this.sender.queueReply(this.ch0, slot, out);
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
            this.sender.wake(ch);
            this.sender.creditCheck(ch);
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
      this.sender.dispatchRequest(this.ch0, req);
    });
  }

  private dropChannel(ch: ChanState, reason: Error | undefined): void {
    if (!ch.open) return;
    ch.open = false;
    this.chans.delete(ch.number);
    // The error is built only when something waits on the channel (an Error's stack costs more than a close).
    this.failChannelState(ch, reason ?? (() => closedError('BEEP_CHANNEL_CLOSED', `channel ${ch.number} closed`)));
    ch.api.emit('close', reason);
  }

  private failChannelState(ch: ChanState, reason: Error | (() => Error)): void {
    ch.open = false;
    const pending =
      ch.inPartial?.stream !== undefined || ch.awaiting.length > 0 || ch.waiting.length > 0 || ch.highWaiters.length > 0;
    if (!pending) {
      ch.queue.clear();
      this.sender.addQueued(ch, -ch.queuedBytes);
      return;
    }
    const err = typeof reason === 'function' ? reason() : reason;
    ch.inPartial?.stream?.failWith(err);
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
    this.sender.addQueued(ch, -ch.queuedBytes);
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
      if (emit) ch.api.emit('close', err);
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

  private startIdleTimer(): void {
    const ms = this.limits.idleTimeout;
    if (ms <= 0 || this.closed) return;
    this.sawInput = false;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.closed) return;
      if (!this.sawInput && this.chans.size <= 1 && this.sender.queuedTotal === 0) {
        this.terminate(new BeepClosedError('BEEP_IDLE_TIMEOUT', `no channel and nothing received for ${ms} ms`));
        return;
      }
      this.startIdleTimer();
    }, ms);
    this.idleTimer.unref?.();
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
    const err = reason ?? closedError();
    this.pacer.stop();
    this.failChannels(err, true);
    this.sender.close();
    this.readyReject(err);
    this.checkWaiters();
    if (destroyTransport && reason !== undefined) this.binding?.destroy();
    else if (destroyTransport) this.binding?.end();
    this.emit('close', reason);
    if (reason !== undefined && this.listenerCount('error') > 0) this.emit('error', reason);
  }
}
