/** The channels of a session: numbering (RFC 3080 §2.3.1.2 parity), creation, quiescence, and failing them. */
import { BeepLimitError, BeepUsageError } from '../errors.js';
import { DEFAULT_WINDOW } from '../wire/frame.js';
import type { Channel } from './channel.js';
import { closedError } from './failures.js';
import type { ResolvedLimits, Role } from './options.js';
import type { Sender } from './sender.js';
import { ChanState } from './state.js';
import type { ProfileDefinition } from './types.js';

export class ChannelTable {
  /** Open channels by number, channel 0 included. */
  readonly map = new Map<number, ChanState>();
  /** Numbers promised to a start in flight (ours or the peer's). */
  readonly reserved = new Set<number>();
  ch0!: ChanState;
  private nextChannel: number;

  constructor(
    private readonly role: Role,
    private readonly limits: ResolvedLimits,
    private readonly sender: Sender,
    /** The public Channel of a new channel state. */
    private readonly makeApi: (ch: ChanState) => Channel,
    private readonly initialSeqno: number | undefined,
  ) {
    this.nextChannel = role === 'initiator' ? 1 : 2;
  }

  get(n: number): ChanState | undefined {
    return this.map.get(n);
  }

  /** Open channels and numbers being started, channel 0 excluded. */
  get used(): number {
    return this.map.size - 1 + this.reserved.size;
  }

  /** Tuning reset (and construction): only a fresh channel 0 is left. */
  reset(): ChanState {
    this.sender.reset(this.map.values());
    this.map.clear();
    this.reserved.clear();
    this.nextChannel = this.role === 'initiator' ? 1 : 2;
    const ch0 = new ChanState(0, '', DEFAULT_WINDOW, undefined);
    ch0.api = this.makeApi(ch0);
    ch0.advertised = true;
    this.ch0 = ch0;
    this.map.set(0, ch0);
    return ch0;
  }

  /** A free channel number of our parity (or `wanted`, checked), within maxChannels. */
  allocate(wanted: number | undefined): number {
    const myParity = this.role === 'initiator' ? 1 : 0;
    if (this.map.size - 1 + this.reserved.size >= this.limits.maxChannels) {
      throw new BeepLimitError('BEEP_TOO_MANY_CHANNELS', `at most ${this.limits.maxChannels} channels`);
    }
    if (wanted !== undefined) {
      if (!Number.isInteger(wanted) || wanted < 1 || wanted > 2147483647 || wanted % 2 !== myParity) {
        throw new BeepUsageError(`channel number ${wanted} is not valid for the ${this.role}`);
      }
      if (this.map.has(wanted) || this.reserved.has(wanted)) throw new BeepUsageError(`channel ${wanted} is in use`);
      return wanted;
    }
    for (;;) {
      const n = this.nextChannel;
      this.nextChannel = n + 2 > 2147483647 ? 2 - myParity : n + 2;
      if (!this.map.has(n) && !this.reserved.has(n)) return n;
    }
  }

  /** A new open channel running `uri` (`profile` is our definition of it, if any). */
  open(number: number, uri: string, profile: ProfileDefinition | undefined): ChanState {
    const ch = new ChanState(number, uri, this.limits.receiveWindow, profile);
    ch.streaming = profile?.streaming === true;
    const init = this.initialSeqno;
    if (init !== undefined) {
      ch.sendSeq = ch.peerAck = init;
      ch.recvSeq = ch.advAck = init;
    }
    ch.api = this.makeApi(ch);
    this.map.set(number, ch);
    return ch;
  }

  /** Nothing in flight on `ch` either way. */
  quiescent(ch: ChanState): boolean {
    return (
      ch.queue.length === 0 &&
      ch.awaiting.length === 0 &&
      ch.waiting.length === 0 &&
      ch.slots.length === 0 &&
      ch.inPartial === undefined
    );
  }

  /** Nothing in flight on any profile channel, and no channel-0 request but a close. */
  sessionQuiescent(): boolean {
    for (const ch of this.map.values()) {
      if (ch.number !== 0 && !this.quiescent(ch)) return false;
    }
    for (const r of this.ch0.awaiting) if (!r.isClose && r.msgno !== 0) return false;
    return true;
  }

  /** Every MSG we sent on `ch` was acknowledged (RFC 3080 §2.3.1.3). */
  acknowledged(ch: ChanState): boolean {
    if (ch.waiting.length > 0) return false;
    for (const r of ch.awaiting) if (!r.acked) return false;
    return true;
  }

  /** The channel closed (or its close was agreed): fail what waits on it, emit its `close`. */
  drop(ch: ChanState, reason: Error | undefined): void {
    if (!ch.open) return;
    ch.open = false;
    this.map.delete(ch.number);
    // The error is built only when something waits on the channel (an Error's stack costs more than a close).
    this.failState(ch, reason ?? (() => closedError('BEEP_CHANNEL_CLOSED', `channel ${ch.number} closed`)));
    ch.api.emit('close', reason);
  }

  private failState(ch: ChanState, reason: Error | (() => Error)): void {
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

  /** The session ended or was reset: fail every channel, channel 0 included. */
  failAll(err: Error, emit: boolean): void {
    for (const ch of [...this.map.values()]) {
      if (ch.number === 0) {
        this.failState(ch, err);
        continue;
      }
      this.map.delete(ch.number);
      this.failState(ch, err);
      if (emit) ch.api.emit('close', err);
    }
  }
}
