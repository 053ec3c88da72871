/**
 * The session facade: the RFC 3080 session state machine with RFC 3081 flow control, sans-IO. Bytes go in through
 * `receive()` (paced by InputPacer, parsed by Inbound), bytes come out through the attached SessionBinding (see
 * transport/) from the Sender; Channel0 runs the channel-0 exchanges and ChannelTable keeps the channels. This
 * class holds the public API, the events, the greeting and tuning resets, timers, and the session's end.
 */
import { TypedEventEmitter } from '@beamgate/base';
import { debuglog } from 'node:util';
import { BeepClosedError, BeepError, BeepProtocolError, BeepReplyError, BeepUsageError } from '../errors.js';
import { buildXmlEntity } from '../wire/mime.js';
import { buildError, buildGreeting } from '../wire/xml/build.js';
import { parseChannel0 } from '../wire/xml/channel0.js';
import type { SessionBinding, WrapFunction } from './binding.js';
import { Channel, type ChannelPort, type RequestOptions } from './channel.js';
import { ChannelTable } from './channel-table.js';
import { Channel0, ch0Error, type StartChannelOptions } from './channel0.js';
import { buildPayloadParts } from './entity.js';
import { abortError, closedError, perr } from './failures.js';
import { Inbound, strictEntityError } from './inbound.js';
import { InputPacer } from './input-pacer.js';
import type { IncomingMessage } from './message.js';
import { resolveLimits, type ResolvedLimits, type Role, type SessionOptions } from './options.js';
import { Sender } from './sender.js';
import { ChanState, OutMessage, outMessage, RequestState, type ReplySink } from './state.js';
import type { GreetingInfo, Payload, ProfileDefinition } from './types.js';
import { Waiters } from './waiters.js';

const debug = debuglog('beamgate:beep');
const EMPTY = Buffer.alloc(0);

export type { SessionBinding, WrapFunction } from './binding.js';

// Channel and StartInfo point back at their Session; declared here so that channel.ts and types.ts need not import
// this file (which imports them): no import cycle, same public types.
declare module './channel.js' {
  interface Channel {
    /** The session this channel belongs to. */
    readonly session: Session;
  }
}
declare module './types.js' {
  interface StartInfo {
    session: Session;
  }
}

export type { StartChannelOptions } from './channel0.js';

/** Options of `session.tune()`. */
export interface TuneOptions {
  /** Replace the byte stream (e.g. wrap it in TLS); needs a binding that supports it (transport/). */
  wrap?: WrapFunction;
  /** New set of offered profiles (e.g. without the tuning profile just used). */
  profiles?: readonly ProfileDefinition[];
  features?: readonly string[];
  localize?: readonly string[];
}

/** Events of a Session (see the class comment). */
export interface SessionEvents {
  greeting: [info: GreetingInfo];
  channel: [channel: Channel];
  close: [reason?: Error];
  error: [err: Error];
  /** `session.authenticatedIdentity` changed (SASL, or cleared by a tuning reset); details: the SASL exchange's. */
  identity: [
    identity: string | undefined,
    details?: { mechanism: string; authcid: string; authzid: string | undefined; identity: string; trace?: string },
  ];
}

/**
 * A BEEP session. Events:
 * - `greeting` (info: GreetingInfo) when the peer's greeting arrived (again after each tuning reset);
 * - `channel` (channel: Channel) when the peer started a channel;
 * - `close` (reason?: Error) once, when the session ended (no reason after an orderly release);
 * - `error` (err: Error) only when a listener is attached: the same reason as `close` when it is an error.
 */
export class Session extends TypedEventEmitter<SessionEvents> {
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
  private readonly table: ChannelTable;
  private readonly waiters = new Waiters(() => this.closed);
  private greetingReceived = false;
  private greetingTimer: NodeJS.Timeout | undefined;
  /** Channel 0: starts, closes, release. */
  private readonly mgmt: Channel0;
  private readyPromise!: Promise<GreetingInfo>;
  private readyResolve!: (g: GreetingInfo) => void;
  private readyReject!: (e: Error) => void;
  private closePromise: Promise<void> | undefined;
  /** Outbound queues, window and scheduling, send-queue bounds. */
  private readonly sender: Sender;
  /** Frames in, messages and replies out to handlers and requesters. */
  private readonly inbound: Inbound;
  /** Input over this turn's budget waits for the next turn (the transport does not read meanwhile). */
  private readonly pacer: InputPacer;
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
    this.pacer = new InputPacer(
      { consume: (chunk) => this.inbound.push(chunk), backlogged: (pending) => this.sender.inputBacklogged(pending) },
      this.limits.readTurnBytes,
    );
    this.features = options.features ?? [];
    this.localize = options.localize ?? [];
    this.setProfiles(options.profiles ?? []);
    const self = this;
    this.sender = new Sender(
      {
        get closed(): boolean {
          return self.closed;
        },
        get binding(): SessionBinding | undefined {
          return self.binding;
        },
        channels: () => this.table.map.values(),
        // A tuning reply (e.g. proceed) stops parsing too; a tuning start still needs to read its reply.
        quietSent: (out) => {
          if (out.type !== 'MSG') this.inbound.pause();
        },
        afterFlush: () => {
          if (this.waiters.pending) this.waiters.check();
        },
        terminate: (e) => this.terminate(e),
      },
      this.limits,
      options.sendBudget,
    );
    this.table = new ChannelTable(this.role, this.limits, this.sender, (ch) => new Channel(this, ch, this.portOf(ch)), options.initialSeqno);
    this.inbound = new Inbound(
      {
        get closed(): boolean {
          return self.closed;
        },
        get greetingReceived(): boolean {
          return self.greetingReceived;
        },
        channel: (n) => this.table.map.get(n),
        channel0Msg: (slot, msg) => this.mgmt.onChannel0Msg(slot, msg),
        closeChannel: (ch, code, text) => this.mgmt.closeChannel(ch, code, text, undefined),
        frameSeen: () => {
          this.sawInput = true;
        },
        afterInput: () => {
          if (this.sender.seqsDue) this.sender.sendSeqsNow();
          if (this.waiters.pending) this.waiters.check();
        },
        terminate: (e) => this.terminate(e),
      },
      this.limits,
      this.sender,
    );
    this.mgmt = new Channel0(
      {
        get closed(): boolean {
          return self.closed;
        },
        role: this.role,
        profile: (uri) => this.profiles.get(uri),
        get serverName(): string | undefined {
          return self.serverName;
        },
        set serverName(v: string | undefined) {
          self.serverName = v;
        },
        acceptServerName: (name) => this.opts.acceptServerName?.(name) ?? true,
        askStart: (def, info) => def.onStart?.({ session: this, ...info }) ?? true,
        channelOpened: (ch, peerStarted) => this.notifyChannel(ch, peerStarted),
        pauseInput: () => this.inbound.pause(),
        released: () => {
          this.binding?.end();
          this.finish(undefined);
        },
      },
      this.limits,
      this.sender,
      this.table,
      this.waiters,
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
    for (const c of this.table.map.values()) if (c.number !== 0) out.push(c.api);
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
   * Feed bytes read from the transport. At most `readTurnBytes` are parsed per event-loop turn; the rest is parsed
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
    if (this.mgmt.releasing) {
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
    return this.mgmt.startChannel(profile, opts);
  }

  /**
   * Release the session (`<close number='0' code='200'/>`, RFC 3080 §2.3.1.3): waits until our MSGs are
   * acknowledged, asks the peer, and resolves once it answered `ok` and the connection is closing. Rejects with
   * BeepReplyError (e.g. 550) when the peer declines; the session then stays up.
   */
  close(opts: { code?: number; text?: string; signal?: AbortSignal } = {}): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.closePromise) return this.closePromise;
    const p = this.mgmt.release(opts.code ?? 200, opts.text, opts.signal);
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
    this.pacer.flush(); // octets of the old stream still waiting for their turn (held while input is paused)
    const leftover = this.inbound.takeHeld();
    this.inbound.paused = true;
    this.sender.quiet = true;
    const resetErr = closedError('BEEP_TUNING_RESET', 'channels closed by a tuning reset');
    this.table.failAll(resetErr, true);
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

  private portOf(ch: ChanState): ChannelPort {
    return {
      request: (payload, opts, sink, signal, streaming) => this.sendRequest(ch, payload, opts, sink, signal, streaming),
      backlog: (delta) => this.sender.backlog(ch, delta),
      close: (code, text, signal) => this.mgmt.closeChannel(ch, code, text, signal),
    };
  }

  private sendRequest(
    ch: ChanState,
    payload: Payload,
    opts: RequestOptions | undefined,
    sink: ReplySink,
    signal: AbortSignal | undefined,
    streaming: boolean,
  ): void {
    if (this.closed || !ch.open) return sink.fail(closedError(this.closed ? 'BEEP_SESSION_CLOSED' : 'BEEP_CHANNEL_CLOSED', 'closed'));
    if (ch.closingSelf || this.mgmt.closingSelf) return sink.fail(closedError('BEEP_CLOSING', 'channel is closing'));
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
    const ch0 = this.table.reset();
    this.greetingReceived = false;
    this.peerGreeting = undefined;
    this.inbound.resetParser();
    this.readyPromise = new Promise<GreetingInfo>((res, rej) => {
      this.readyResolve = res;
      this.readyReject = rej;
    });
    this.readyPromise.catch(() => undefined);
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
    const ch0 = this.table.ch0;
    let out: OutMessage;
    const unavailable = this.role === 'listener' ? this.opts.unavailable : undefined;
    if (unavailable !== undefined) {
      const code = unavailable.code ?? 421;
      const xml = buildError(unavailable.text ? { code, text: unavailable.text } : { code });
      out = new OutMessage('ERR', buildXmlEntity(xml));
      out.quiet = true;
      out.onSent = () => {
        this.closeReason = new BeepClosedError('BEEP_UNAVAILABLE', `session refused with ${code}`);
        this.mgmt.releasing = true;
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
      const e = ch0Error(msg);
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

  private notifyChannel(ch: ChanState, peerStarted: boolean): void {
    try {
      ch.profile?.onChannel?.(ch.api);
      if (peerStarted) this.emit('channel', ch.api);
    } catch (e) {
      debug('onChannel handler threw: %s', (e as Error)?.message);
    }
  }

  private startIdleTimer(): void {
    const ms = this.limits.idleTimeout;
    if (ms <= 0 || this.closed) return;
    this.sawInput = false;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.closed) return;
      if (!this.sawInput && this.table.map.size <= 1 && this.sender.queuedTotal === 0) {
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
    this.table.failAll(err, true);
    this.sender.close();
    this.readyReject(err);
    this.waiters.check();
    if (destroyTransport && reason !== undefined) this.binding?.destroy();
    else if (destroyTransport) this.binding?.end();
    this.emit('close', reason);
    if (reason !== undefined && this.listenerCount('error') > 0) this.emit('error', reason);
  }
}
