/**
 * The RFC 3081 sender of a session: what waits to be sent on every channel, and when it goes out.
 *
 * Output is produced by `flush()`, scheduled once per event-loop turn: pending SEQ frames first, then one frame per
 * channel in round-robin order (each cut to the peer's window and to maxSendFrameSize), all coalesced into one
 * write. When the binding reports back-pressure, nothing more is produced until `drained()`. It also keeps the
 * send-queue bounds (maxQueuedBytes, slowReaderTimeout, the listener's shared SendBudget) and decides when the
 * transport stops reading (over the bound with a full transport, or an input backlog of the InputPacer).
 */
import { debuglog } from 'node:util';
import { BeepLimitError } from '../errors.js';
import { edgeMovesLeft, seqAdd, seqDistance } from '../wire/seqno.js';
import type { SessionBinding } from './binding.js';
import type { ResolvedLimits } from './options.js';
import type { QueueHolder, SendBudget } from './send-budget.js';
import type { ReplyTarget } from './message.js';
import type { ReplyOptions } from './payload.js';
import { OutMessage, outMessage, type ChanState, type ReplySlot, type RequestState } from './state.js';

const debug = debuglog('beamgate:beep');
const TRAILER = Buffer.from('END\r\n', 'latin1');
/** Octets produced per flush before yielding to the event loop. */
const FLUSH_BUDGET = 256 * 1024;

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

/** What the sender needs from its session. */
export interface SenderHost {
  readonly closed: boolean;
  readonly binding: SessionBinding | undefined;
  /** Every open channel, channel 0 included. */
  channels(): Iterable<ChanState>;
  /** A `quiet` message (tuning) went out: nothing more is sent until `unquiet()` or a reset. */
  quietSent(out: OutMessage): void;
  /** After each flush (waiters on session state may proceed). */
  afterFlush(): void;
  /** End the session with this error (slow reader, send budget). */
  terminate(err: Error): void;
}

export class Sender implements QueueHolder {
  /** Octets queued on all channels (see maxQueuedBytes). */
  queuedTotal = 0;
  /** The transport is full: nothing is produced until drained(). */
  blocked = false;
  /** A quiet message went out (tuning): nothing is produced until unquiet() or reset(). */
  quiet = false;
  /** Above maxQueuedBytes: new work waits (see enterOver). */
  over = false;
  private ring: ChanState[] = [];
  private seqDue: ChanState[] = [];
  private flushScheduled = false;
  private overTimer: NodeJS.Timeout | undefined;
  private readsPaused = false;
  private inputBacklog = false;
  private readonly flushBound = (): void => this.flush();

  constructor(
    private readonly host: SenderHost,
    private readonly limits: ResolvedLimits,
    private budget: SendBudget | undefined,
  ) {}

  /** True once the session ended. */
  get closed(): boolean {
    return this.host.closed;
  }

  /** True when SEQ frames wait to go out. */
  get seqsDue(): boolean {
    return this.seqDue.length > 0;
  }

  /** Receive-window accounting: `delta` octets held (+) or consumed (-) by the application. */
  backlog(ch: ChanState, delta: number): void {
    ch.backlog += delta;
    if (delta < 0) this.creditCheck(ch);
  }

  /** Tuning reset: forget every channel's queue and due SEQs. */
  reset(channels: Iterable<ChanState>): void {
    for (const ch of channels) this.addQueued(ch, -ch.queuedBytes);
    this.ring = [];
    this.seqDue = [];
  }

  /** The transport can take more bytes again (or a new one took over after tuning). */
  drained(): void {
    this.blocked = false;
    this.updateReads();
    this.scheduleFlush();
  }

  /** `ch` may send again (its window opened, or it became ready): put it back in the round. */
  wake(ch: ChanState): void {
    if (ch.queue.length > 0 && !ch.inRing && ch.ready && ch.open) {
      ch.inRing = true;
      this.ring.push(ch);
      this.scheduleFlush();
    }
  }

  /** The session ended: stop the slow-reader clock and leave the shared budget. */
  close(): void {
    if (this.overTimer) clearTimeout(this.overTimer);
    this.overTimer = undefined;
    this.budget?.remove(this);
    this.budget = undefined;
  }


  dispatchRequest(ch: ChanState, req: RequestState): void {
    const n = ch.nextMsgno;
    ch.nextMsgno = n === 2147483647 ? 0 : n + 1;
    req.msgno = n;
    req.out.msgno = n;
    ch.awaiting.push(req);
    this.addQueued(ch, req.out.length);
    this.enqueueOut(ch, req.out);
  }

  advanceSlots(ch: ChanState): void {
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

  enqueueOut(ch: ChanState, out: OutMessage): void {
    ch.queue.push(out);
    if (!ch.inRing && ch.ready) {
      ch.inRing = true;
      this.ring.push(ch);
    }
    this.scheduleFlush();
  }

  /** Decide whether the channel's receive window deserves a SEQ (consolidated: at most one per flush). */
  creditCheck(ch: ChanState): void {
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

  scheduleFlush(): void {
    if (this.flushScheduled || this.host.closed) return;
    this.flushScheduled = true;
    setImmediate(this.flushBound);
  }

  /** Produce frames: SEQs first, then round-robin data, into one coalesced write. */
  flush(): void {
    this.flushScheduled = false;
    const binding = this.host.binding;
    if (this.host.closed || binding === undefined || this.blocked || this.quiet) return;
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
          this.host.quietSent(out);
        }
        if (out.onSent !== undefined) (sentCallbacks ??= []).push(out.onSent);
        if (out.opens !== undefined && !this.quiet) (opened ??= []).push(out.opens);
      }
      if (ch.highWaiters.length > 0 && ch.queuedBytes < this.limits.sendHighWater && !this.over) {
        const hw = ch.highWaiters;
        ch.highWaiters = [];
        for (const w of hw) w.resolve();
      }
      if (ch.number === 0 && !ch.inSeqDue) this.creditCheck(ch);
      if (ch.queue.length > 0 && !ch.inRing && ch.open) {
        ch.inRing = true;
        ring.push(ch);
      }
    }
    this.ring = i >= ring.length ? [] : ring.slice(i);
    if (opened !== undefined) bytes += this.firstSeqs(opened, parts);
    if (parts.length > 0 && !this.host.closed) {
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
    this.host.afterFlush();
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
  sendSeqsNow(): void {
    const binding = this.host.binding;
    if (binding === undefined || this.host.closed || this.blocked || this.quiet) return;
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
  addQueued(ch: ChanState, delta: number): void {
    if (delta === 0) return;
    ch.queuedBytes += delta;
    this.queuedTotal += delta;
    this.budget?.add(this, delta);
    if (delta > 0) {
      if (!this.over && this.queuedTotal > this.limits.maxQueuedBytes && !this.host.closed) this.enterOver();
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
        this.host.terminate(
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
    for (const ch of this.host.channels()) {
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
    const pause = !this.host.closed && ((this.over && this.blocked) || this.inputBacklog);
    if (pause === this.readsPaused) return;
    this.readsPaused = pause;
    if (pause) this.host.binding?.pauseReading?.();
    else this.host.binding?.resumeReading?.();
  }

  inputBacklogged(pending: boolean): void {
    this.inputBacklog = pending;
    this.updateReads();
  }

  /** SendBudget: this session holds the most while all sessions together are over the bound. */
  overBudget(total: number, limit: number): void {
    this.budget = undefined;
    this.host.terminate(
      new BeepLimitError(
        'BEEP_SEND_BUDGET',
        `dropped as the slowest reader: ${this.queuedTotal} octets unread while all sessions held ${total} (bound ${limit})`,
      ),
    );
  }

  unquiet(): void {
    if (!this.quiet) return;
    this.quiet = false;
    this.scheduleFlush();
  }

  /** Where a Responder for the MSG of `slot` on `ch` sends its replies. */
  replyTarget(ch: ChanState, slot: ReplySlot): ReplyTarget {
    return new SlotReplies(this, ch, slot);
  }

  /** A reply (or ANS) to the MSG of `slot`: sent in MSG order (RFC 3080 §2.6). */
  queueReply(ch: ChanState, slot: ReplySlot, out: OutMessage): void {
    if (!ch.open || this.host.closed) return;
    out.msgno = slot.msgno;
    this.addQueued(ch, out.length);
    if (ch.slots.peek() === slot && !slot.holding) this.enqueueOut(ch, out);
    else slot.items.push(out);
    if (out.replyFinal) {
      slot.final = true;
      if (slot.holding) {
        // Replied before reading a streamed MSG to its end: nobody will read the rest, so drop it as it arrives.
        const st = ch.inPartial?.slot === slot ? ch.inPartial.stream : undefined;
        if (st !== undefined && st.readableFlowing === null) st.discardRest();
      }
      this.advanceSlots(ch);
    }
  }

  /** Resolves once the channel may queue more (below sendHighWater and the session under maxQueuedBytes). */
  whenWritable(ch: ChanState): Promise<void> {
    if (ch.queuedBytes < this.limits.sendHighWater && !this.over) return Promise.resolve();
    return new Promise((resolve, reject) => ch.highWaiters.push({ resolve, reject }));
  }
}

/** The ReplyTarget of one received MSG (a class: one is made per MSG, on the hot path). */
class SlotReplies implements ReplyTarget {
  constructor(
    private readonly sender: Sender,
    private readonly ch: ChanState,
    private readonly slot: ReplySlot,
  ) {}

  get msgno(): number {
    return this.slot.msgno;
  }

  get open(): boolean {
    return this.ch.open && !this.sender.closed;
  }

  send(type: 'RPY' | 'ERR' | 'NUL' | 'ANS', data: Buffer | { head: Buffer; body: Buffer }, opts: ReplyOptions | undefined): void {
    const slot = this.slot;
    let out: OutMessage;
    if (type === 'ANS') {
      out = outMessage('ANS', data as { head: Buffer; body: Buffer }, slot.ansno);
      slot.ansno = (slot.ansno + 1) % 2147483648;
    } else {
      out = Buffer.isBuffer(data) ? new OutMessage(type, data) : outMessage(type, data);
      out.replyFinal = true;
      if (opts?.quiet) out.quiet = true;
    }
    if (opts?.onSent) out.onSent = opts.onSent;
    this.sender.queueReply(this.ch, slot, out);
  }

  whenWritable(): Promise<void> {
    return this.sender.whenWritable(this.ch);
  }
}
