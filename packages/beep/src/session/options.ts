/**
 * Session options and limits, with their safe defaults. Every limit bounds memory or work a peer can force on us.
 */
import { BeepUsageError } from '../errors.js';
import type { SendBudget } from './send-budget.js';
import type { ProfileDefinition } from './types.js';

export type Role = 'initiator' | 'listener';

/** Resource limits of one session. Every one has a safe default. */
export interface SessionLimits {
  /** Longest accepted frame header line, CRLF included (octets). Default 100; the longest legal header is 62. */
  maxHeaderLength?: number;
  /** Largest accepted frame payload (octets), checked from the header before buffering. Default 1 MiB. */
  maxFrameSize?: number;
  /**
   * Reassembly cap for one incoming message (octets). A MSG larger than this is refused with a pre-emptive
   * ERR 554 (its remaining frames are dropped); a larger reply rejects the request with BeepLimitError
   * BEEP_MESSAGE_TOO_LARGE. Default 16 MiB.
   */
  maxMessageSize?: number;
  /** Open channels per session, channel 0 excluded; further starts are refused with 550. Default 1024;
   * RFC 3080 peers expect at least 257 (checklist H.46), so set it lower only deliberately. */
  maxChannels?: number;
  /**
   * Pipelined MSGs per channel and direction. Outgoing: further `request()`s wait locally until a reply completes.
   * Incoming: once this many received MSGs await our reply, no more window is granted (SEQ withheld) until the
   * handlers catch up. Default 1024.
   */
  maxOutstanding?: number;
  /**
   * Receive buffer per channel (octets, >= 4096). Advertised with SEQ right after a channel opens when larger than
   * the 4096 default (RFC 3081 §3.1). Default 65536.
   */
  receiveWindow?: number;
  /** Largest frame payload we send (octets); messages are also cut to the peer's window. Default 16384. */
  maxSendFrameSize?: number;
  /** Queued-but-unsent octets per channel above which `reply.ans()` / `channel.send` promises wait. Default 65536. */
  sendHighWater?: number;
  /**
   * Queued-but-unsent octets of the whole session (all channels) above which new work waits: no channel is granted
   * more receive window, `reply.ans()` / `channel.send` promises wait, and while the transport is also full the
   * session stops reading. Default 4 MiB.
   */
  maxQueuedBytes?: number;
  /**
   * Milliseconds the session may stay over maxQueuedBytes, i.e. not back under half of it (the peer reads nothing,
   * or grants no window), before it is terminated with BeepLimitError BEEP_SLOW_READER (0 = never). Default 30000.
   */
  slowReaderTimeout?: number;
  /**
   * Octets of input one session parses per event-loop turn; the rest waits for the next turns while the transport
   * does not read, so a flooding peer cannot hold the loop from other sessions and new connections. Default 65536.
   */
  readTurnBytes?: number;
  /** Milliseconds to wait for the peer's greeting before terminating (0 = no limit). Default 30000. */
  greetingTimeout?: number;
  /**
   * Milliseconds a session with no channel open (besides channel 0) may receive no complete frame before it is
   * terminated with BEEP_IDLE_TIMEOUT (0 = never); a peer trickling a frame byte by byte is idle too. Default 0;
   * `listen()` defaults it to 300000.
   */
  idleTimeout?: number;
  /** Milliseconds a received close may wait for the channel to become quiescent before answering 550. Default 30000. */
  closeTimeout?: number;
  /** Reject the Vortex-style NUL frame with a CRLF payload and similar leniencies. Default false. */
  strict?: boolean;
}

export interface SessionOptions extends SessionLimits {
  /** `initiator` (active open, odd channel numbers) or `listener` (passive open, even channel numbers). */
  role: Role;
  /** Profiles this peer offers in its greeting and accepts in `start`. */
  profiles?: readonly ProfileDefinition[];
  /** Greeting `features` tokens (private ones start with `x-`). */
  features?: readonly string[];
  /** Greeting `localize` language tags, most preferred first. */
  localize?: readonly string[];
  /**
   * Listener only: refuse the session with `ERR 0 0` carrying this error (RFC 3080 §2.4, default code 421)
   * instead of a greeting, then close.
   */
  unavailable?: { code?: number; text?: string };
  /**
   * Non-standard, for test vectors only: the seqno at which every channel other than 0 starts in both directions
   * (RFC 3080 says 0). Both peers must agree; lets a transcript cross the 2^32 seqno wrap. Default 0.
   */
  initialSeqno?: number;
  /**
   * The bound shared with other sessions on octets queued for sending (a listener passes its own); over it, the
   * sessions holding the most are terminated with BEEP_SEND_BUDGET.
   */
  sendBudget?: SendBudget;
  /** Decide whether a requested `serverName` is acceptable (default: all are). */
  acceptServerName?: (name: string) => boolean;
}

export interface ResolvedLimits {
  maxHeaderLength: number;
  maxFrameSize: number;
  maxMessageSize: number;
  maxChannels: number;
  maxOutstanding: number;
  receiveWindow: number;
  maxSendFrameSize: number;
  sendHighWater: number;
  maxQueuedBytes: number;
  slowReaderTimeout: number;
  readTurnBytes: number;
  greetingTimeout: number;
  idleTimeout: number;
  closeTimeout: number;
  strict: boolean;
}

export const DEFAULT_LIMITS: ResolvedLimits = Object.freeze({
  maxHeaderLength: 100,
  maxFrameSize: 1024 * 1024,
  maxMessageSize: 16 * 1024 * 1024,
  maxChannels: 1024,
  maxOutstanding: 1024,
  receiveWindow: 65536,
  maxSendFrameSize: 16384,
  sendHighWater: 65536,
  maxQueuedBytes: 4 * 1024 * 1024,
  slowReaderTimeout: 30000,
  readTurnBytes: 65536,
  greetingTimeout: 30000,
  idleTimeout: 0,
  closeTimeout: 30000,
  strict: false,
});

function int(name: string, v: number | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new BeepUsageError(`${name} must be an integer in ${min}..${max}, got ${String(v)}`);
  }
  return v;
}

export function resolveLimits(o: SessionLimits): ResolvedLimits {
  const d = DEFAULT_LIMITS;
  const receiveWindow = int('receiveWindow', o.receiveWindow, d.receiveWindow, 4096, 2147483647);
  return {
    maxHeaderLength: int('maxHeaderLength', o.maxHeaderLength, d.maxHeaderLength, 64, 4096),
    maxFrameSize: int('maxFrameSize', o.maxFrameSize, Math.max(d.maxFrameSize, receiveWindow), 4096, 2147483647),
    maxMessageSize: int('maxMessageSize', o.maxMessageSize, d.maxMessageSize, 4096, Number.MAX_SAFE_INTEGER),
    maxChannels: int('maxChannels', o.maxChannels, d.maxChannels, 1, 1 << 30),
    maxOutstanding: int('maxOutstanding', o.maxOutstanding, d.maxOutstanding, 1, 1 << 30),
    receiveWindow,
    maxSendFrameSize: int('maxSendFrameSize', o.maxSendFrameSize, d.maxSendFrameSize, 1, 2147483647),
    sendHighWater: int('sendHighWater', o.sendHighWater, d.sendHighWater, 1, Number.MAX_SAFE_INTEGER),
    maxQueuedBytes: int('maxQueuedBytes', o.maxQueuedBytes, d.maxQueuedBytes, 1, Number.MAX_SAFE_INTEGER),
    slowReaderTimeout: int('slowReaderTimeout', o.slowReaderTimeout, d.slowReaderTimeout, 0, 2 ** 31 - 1),
    readTurnBytes: int('readTurnBytes', o.readTurnBytes, d.readTurnBytes, 4096, 2147483647),
    greetingTimeout: int('greetingTimeout', o.greetingTimeout, d.greetingTimeout, 0, 2 ** 31 - 1),
    idleTimeout: int('idleTimeout', o.idleTimeout, d.idleTimeout, 0, 2 ** 31 - 1),
    closeTimeout: int('closeTimeout', o.closeTimeout, d.closeTimeout, 0, 2 ** 31 - 1),
    strict: o.strict ?? d.strict,
  };
}
