/**
 * Channel 0 of a session (RFC 3080 §2.3): starting channels (ours and the peer's, with their profiles' decisions
 * and piggybacked content), closing channels and releasing the session, and the `quiet` replies and `tuning`
 * starts that lead to a tuning reset. The greeting itself is the session's (it resets with tuning).
 */
import { debuglog } from 'node:util';
import { BeepError, BeepProtocolError, BeepReplyError, BeepUsageError } from '../errors.js';
import { buildXmlEntity } from '../wire/mime.js';
import { buildClose, buildError, buildOk, buildProfile, buildStart } from '../wire/xml/build.js';
import { parseChannel0, profileContentBytes, type Close, type Start } from '../wire/xml/channel0.js';
import type { Channel } from './channel.js';
import type { ChannelTable } from './channel-table.js';
import { abortError, closedError, perr } from './failures.js';
import type { IncomingMessage } from './message.js';
import type { ResolvedLimits, Role } from './options.js';
import type { Sender } from './sender.js';
import { OutMessage, RequestState, type ChanState, type ReplySink, type ReplySlot } from './state.js';
import type { Payload, ProfileDefinition, StartDecision, StartInfo } from './types.js';
import type { Waiters } from './waiters.js';

const debug = debuglog('beamgate:beep');

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


export function ch0Error(msg: IncomingMessage): { code: number; text: string; lang: string | undefined } {
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

/** What channel-0 management needs from its session. */
export interface Channel0Host {
  readonly closed: boolean;
  readonly role: Role;
  /** Our definition of a profile, if we offer it. */
  profile(uri: string): ProfileDefinition | undefined;
  /** The serverName bound by the first successful start that carried one. */
  serverName: string | undefined;
  /** Whether a requested serverName is served here. */
  acceptServerName(name: string): boolean;
  /** Ask a profile whether it accepts a start (its `onStart`, with the session filled in). */
  askStart(def: ProfileDefinition, info: Omit<StartInfo, 'session'>): StartDecision | Promise<StartDecision>;
  /** A channel opened (the peer started it, or accepted ours). */
  channelOpened(ch: ChanState, peerStarted: boolean): void;
  /** Stop parsing at the frame boundary (a tuning start was accepted). */
  pauseInput(): void;
  /** Both sides agreed to release the session: close the transport and end. */
  released(): void;
}

export class Channel0 {
  /** We asked to release the session: no new channels or MSGs. */
  closingSelf = false;
  /** Release agreed: the transport's end is the orderly end of the session. */
  releasing = false;

  constructor(
    private readonly host: Channel0Host,
    private readonly limits: ResolvedLimits,
    private readonly sender: Sender,
    private readonly table: ChannelTable,
    private readonly waiters: Waiters,
  ) {}

  /** Start a channel (see Session.startChannel). */
  startChannel(profile: string | readonly string[], opts: StartChannelOptions = {}): Promise<Channel> {
    if (this.host.closed) return Promise.reject(closedError());
    if (this.closingSelf) return Promise.reject(closedError('BEEP_CLOSING', 'session is closing'));
    if (opts.signal?.aborted) return Promise.reject(abortError(opts.signal));
    const uris = typeof profile === 'string' ? [profile] : [...profile];
    if (uris.length === 0) return Promise.reject(new BeepUsageError('startChannel needs at least one profile URI'));
    let number: number;
    try {
      number = this.table.allocate(opts.number);
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
    this.table.reserved.add(number);
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
          this.table.reserved.delete(number);
          done();
          if (type === 'ERR') {
            if (opts.tuning) this.sender.unquiet();
            const e = ch0Error(msg);
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
          if (this.table.map.has(number)) throw perr('BEEP_BAD_START_REPLY', `channel ${number} already open`);
          const ch = this.table.open(number, el.uri, this.host.profile(el.uri));
          ch.api.startReplyContent = el.content === undefined ? undefined : profileContentBytes(el);
          if (opts.serverName !== undefined && this.host.serverName === undefined) this.host.serverName = opts.serverName;
          if (opts.tuning) this.host.pauseInput();
          this.sender.creditCheck(ch);
          this.host.channelOpened(ch, false);
          if (settled) {
            // the caller gave up: close the channel again
            ch.api.close().catch(() => undefined);
            return;
          }
          settled = true;
          resolve(ch.api);
        },
        (err) => {
          this.table.reserved.delete(number);
          done();
          if (!settled) {
            settled = true;
            reject(err);
          }
        },
      );
      const out = new OutMessage('MSG', buildXmlEntity(xml));
      if (opts.tuning) out.quiet = true;
      this.sender.dispatchRequest(this.table.ch0, new RequestState(out, sink));
    });
  }

  /** Close a profile channel (RFC 3080 §2.3.1.3); one close in flight per channel. */
  closeChannel(ch: ChanState, code: number, text: string | undefined, signal?: AbortSignal): Promise<void> {
    if (ch.closePromise) return ch.closePromise;
    if (this.host.closed) return Promise.resolve();
    const p = this.doCloseChannel(ch, code, text, signal);
    ch.closePromise = p;
    p.catch(() => {
      ch.closePromise = undefined;
    });
    return p;
  }


  /** A complete MSG on channel 0: a start or a close from the peer. */
  onChannel0Msg(slot: ReplySlot, msg: IncomingMessage): void {
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
        if (!this.host.closed) this.ch0Reply(slot, 'ERR', buildError({ code: 451, text: 'local error' }));
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
    this.sender.queueReply(this.table.ch0, slot, out);
  }

  private async onStart(slot: ReplySlot, start: Start): Promise<void> {
    const n = start.number;
    const peerParity = this.host.role === 'listener' ? 1 : 0;
    const refuse = (code: number, text: string): void => this.ch0Reply(slot, 'ERR', buildError({ code, text }));
    if (n % 2 !== peerParity) {
      return refuse(501, `channel number ${n} has the wrong parity for the ${this.host.role === 'listener' ? 'initiator' : 'listener'}`);
    }
    if (this.table.map.has(n) || this.table.reserved.has(n)) return refuse(550, `channel ${n} is already in use`);
    if (this.table.map.size - 1 + this.table.reserved.size >= this.limits.maxChannels) return refuse(550, 'too many channels');
    if (start.serverName !== undefined && !this.host.acceptServerName(start.serverName)) {
      return refuse(550, `serverName ${start.serverName} is not served here`);
    }
    this.table.reserved.add(n);
    let last: { code: number; text?: string } | undefined;
    try {
      for (const offered of start.profiles) {
        const def = this.host.profile(offered.uri);
        if (def === undefined) continue;
        let decision: StartDecision = true;
        if (def.onStart !== undefined) {
          const content =
            offered.content === undefined ? undefined : offered.contentBytes ?? profileContentBytes(offered);
          const r = this.host.askStart(def, {
            channel: n,
            uri: offered.uri,
            content,
            encoding: offered.encoding,
            serverName: start.serverName,
          });
          decision = r instanceof Promise ? await r : r;
          if (this.host.closed) return;
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
        this.table.reserved.delete(n);
        const ch = this.table.open(n, offered.uri, this.host.profile(offered.uri));
        ch.ready = false;
        if (start.serverName !== undefined && this.host.serverName === undefined) this.host.serverName = start.serverName;
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
        this.host.channelOpened(ch, true);
        return;
      }
    } finally {
      this.table.reserved.delete(n);
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
      this.waiters.waitFor(() => this.table.sessionQuiescent(), this.limits.closeTimeout).then((ok) => {
        if (this.host.closed) return;
        if (!ok) {
          this.ch0Reply(slot, 'ERR', buildError({ code: 550, text: 'session still busy' }));
          return;
        }
        this.releasing = true;
        this.ch0Reply(slot, 'RPY', buildOk(), (out) => {
          out.quiet = true;
          out.onSent = () => {
            // The sender of ok closes the transport first (RFC 3080 §2.3.1.3).
            this.host.released();
          };
        });
      });
      return;
    }
    const ch = this.table.map.get(n);
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
    this.waiters.waitFor(() => !ch.open || this.table.quiescent(ch), this.limits.closeTimeout).then((ok) => {
      if (this.host.closed) return;
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
      this.table.drop(ch, undefined);
    });
  }

  private async doCloseChannel(ch: ChanState, code: number, text: string | undefined, signal?: AbortSignal): Promise<void> {
    ch.closingSelf = true;
    try {
      // RFC 3080 §2.3.1.3: all of our MSGs on the channel must have been acknowledged first.
      await this.waiters.waitUntil(() => !ch.open || this.table.acknowledged(ch), signal);
      if (!ch.open) return;
      await this.ch0Request(buildClose(text ? { number: ch.number, code, text } : { number: ch.number, code }), signal);
      this.table.drop(ch, undefined);
    } catch (e) {
      ch.closingSelf = false;
      throw e;
    }
  }

  /** Release the session: wait for our MSGs to be acknowledged, then close channel 0. */
  async release(code: number, text: string | undefined, signal?: AbortSignal): Promise<void> {
    await this.waiters.waitUntil(() => {
      for (const ch of this.table.map.values()) if (ch.number !== 0 && !this.table.acknowledged(ch)) return false;
      return true;
    }, signal);
    if (this.host.closed) return;
    this.closingSelf = true;
    try {
      await this.ch0Request(buildClose(text ? { number: 0, code, text } : { number: 0, code }), signal, true);
    } catch (e) {
      if (this.host.closed && this.releasing) return;
      this.closingSelf = false;
      throw e;
    }
    this.releasing = true;
    this.host.released();
  }

  /** Send a close on channel 0; resolves on ok, rejects with BeepReplyError on error. */
  private ch0Request(xml: string, signal?: AbortSignal, isClose = false): Promise<void> {
    if (this.host.closed) return Promise.reject(closedError());
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(abortError(signal as AbortSignal));
      signal?.addEventListener('abort', onAbort, { once: true });
      const sink = new Ch0Sink(
        (type, msg) => {
          signal?.removeEventListener('abort', onAbort);
          if (type === 'ERR') {
            const e = ch0Error(msg);
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
      this.sender.dispatchRequest(this.table.ch0, req);
    });
  }
}
