/**
 * The wire judge of `beep conform`: watches both directions of one BEEP connection (what we send, what the peer
 * under test sends) and records every sender rule the peer breaks, with the header of the frame that proves it.
 * It never answers anything; the replayer or our own Session does the talking.
 */
import { FrameParser } from '../wire/frame-parser.js';
import type { DataFrame, Frame } from '../wire/frame.js';
import { DEFAULT_WINDOW } from '../wire/frame.js';
import { parseEntity } from '../wire/mime.js';
import { parseChannel0 } from '../wire/xml/channel0.js';
import { ruleForCode } from './error-rules.js';

export interface Finding {
  rule: string;
  message: string;
  /** The octets that prove it (a frame header, or the start of the offending payload), ISO-8859-1. */
  bytes: string;
}

/** Reply codes RFC 3080 §8 defines. */
export const REPLY_CODES = new Set([200, 421, 450, 451, 454, 500, 501, 504, 530, 534, 535, 537, 538, 550, 553, 554]);

interface Direction {
  /** Next seqno expected per channel. */
  seq: Map<number, number>;
  /** MSG msgnos sent on each channel, awaiting a complete reply from the other side, in order. */
  pending: Map<number, number[]>;
  /** The message a `*` frame left open per channel: its msgno and keyword. */
  open: Map<number, { msgno: number; type: string }>;
  /** Reply in progress per channel: msgno, keyword and whether it had ANS frames. */
  reply: Map<number, { msgno: number; type: string; ans: boolean }>;
  /** Channel-0 message being reassembled. */
  ch0: Buffer[];
  greeted: boolean;
}

function direction(): Direction {
  return { seq: new Map(), pending: new Map(), open: new Map(), reply: new Map(), ch0: [], greeted: false };
}

export interface JudgeOptions {
  /** The window we advertise per channel before any SEQ (default 4096). */
  ourWindow?: number;
  /** The role of the peer under test, for channel-number parity (F.37). Default listener. */
  peerRole?: 'initiator' | 'listener';
}

/**
 * Feed `ours()` with every octet we send and `theirs()` with every octet the peer sends. `findings` holds the
 * violations by the peer; `observed` the rules the peer was seen to obey at least once (so a report can say PASS
 * for a sender rule only when the peer actually exercised it).
 */
export class WireJudge {
  readonly findings: Finding[] = [];
  readonly observed = new Set<string>();
  private readonly us = direction();
  private readonly them = direction();
  /** Right edge (ackno + window) we allow the peer per channel. */
  private readonly edge = new Map<number, number>();
  /** Right edge the peer allows us per channel (to judge its SEQs). */
  private readonly theirEdge = new Map<number, number>();
  private readonly ourParser: FrameParser;
  private readonly theirParser: FrameParser;
  private broken = false;
  private readonly ourWindow: number;
  private readonly peerRole: 'initiator' | 'listener';

  constructor(opts: JudgeOptions = {}) {
    this.ourWindow = opts.ourWindow ?? DEFAULT_WINDOW;
    this.peerRole = opts.peerRole ?? 'listener';
    this.ourParser = new FrameParser({ onFrame: (f) => this.onOurs(f), maxFrameSize: 2 ** 31 - 1 });
    this.theirParser = new FrameParser({ onFrame: (f) => this.onTheirs(f), maxFrameSize: 2 ** 31 - 1 });
  }

  ours(chunk: Buffer): void {
    try {
      this.ourParser.push(chunk);
    } catch {
      // We sent a deliberately malformed frame: from here on our direction cannot be tracked.
    }
  }

  theirs(chunk: Buffer): void {
    if (this.broken) return;
    try {
      this.theirParser.push(chunk);
    } catch (e) {
      this.broken = true;
      const code = (e as { code?: string }).code ?? 'BEEP_PROTOCOL';
      this.fail(ruleForCode(code) ?? 'A.2', `the peer sent a malformed frame (${code}: ${(e as Error).message})`, chunk.subarray(0, 80));
    }
  }

  private fail(rule: string, message: string, bytes: Buffer | string): void {
    this.findings.push({ rule, message, bytes: typeof bytes === 'string' ? bytes : bytes.toString('latin1') });
  }

  private pass(rule: string): void {
    this.observed.add(rule);
  }

  /** A (re)started channel: both directions start over at seqno 0 with the default windows (RFC 3081 §3.1). */
  private resetChannel(ch: number): void {
    for (const d of [this.us, this.them]) {
      d.seq.delete(ch);
      d.pending.delete(ch);
      d.open.delete(ch);
      d.reply.delete(ch);
    }
    this.edge.delete(ch);
    this.theirEdge.delete(ch);
  }

  private onOurs(f: Frame): void {
    if (f.type === 'SEQ') {
      this.edge.set(f.channel, (f.ackno + f.window) % 2 ** 32);
      return;
    }
    this.us.seq.set(f.channel, (f.seqno + f.payload.length) % 2 ** 32);
    if (f.type === 'MSG') {
      const key = `${f.channel}:${f.msgno}`;
      if (f.more) this.ourUnfinished.set(key, true);
      else if (this.ourUnfinished.has(key)) this.ourUnfinished.set(key, false);
      const q = this.us.pending.get(f.channel) ?? [];
      if (!q.includes(f.msgno)) q.push(f.msgno);
      this.us.pending.set(f.channel, q);
      if (f.channel === 0) this.trackStarts(f, this.us);
    }
    if (f.type !== 'MSG' && f.channel === 0 && !f.more) this.noteOurReply(f);
  }

  /** Our start MSG for channel N: when the peer accepts it, channel N begins afresh. */
  private trackStarts(f: DataFrame, d: Direction): void {
    const m = /<start[^>]*\snumber\s*=\s*['"](\d+)['"]/.exec(f.payload.toString('latin1'));
    if (m && d === this.us) this.startsPending.set(f.msgno, Number(m[1]));
    if (m && d === this.them) this.theirStarts.set(f.msgno, Number(m[1]));
  }

  private readonly startsPending = new Map<number, number>();
  /** Our multi-frame MSGs by `channel:msgno`: true while frames are still to come (C.22). */
  private readonly ourUnfinished = new Map<string, boolean>();
  private readonly theirStarts = new Map<number, number>();

  private noteOurReply(f: DataFrame): void {
    // Our positive reply to the peer's start: that channel begins afresh.
    const n = this.theirStarts.get(f.msgno);
    if (n !== undefined && f.type === 'RPY') this.resetChannel(n);
    this.theirStarts.delete(f.msgno);
  }

  private onTheirs(f: Frame): void {
    const head = headerOf(f);
    if (f.type === 'SEQ') return this.onTheirSeq(f, head);
    const ch = f.channel;
    // F.36: the greeting comes first on channel 0.
    if (!this.them.greeted) {
      if (ch === 0 && f.msgno === 0 && (f.type === 'RPY' || f.type === 'ERR')) {
        this.them.greeted = true;
        this.pass('F.36');
      } else {
        this.fail('F.36', 'the first message from the peer is not its greeting (RPY 0 0 or ERR 0 0)', head);
        this.them.greeted = true;
      }
    }
    // D.24: seqno continuity (D.23: every channel starts at 0).
    const known = this.them.seq.has(ch);
    const want = this.them.seq.get(ch) ?? 0;
    if (!known && f.seqno === 0) this.pass('D.23');
    if (f.seqno !== want) this.fail('D.24', `seqno ${f.seqno} on channel ${ch}, expected ${want}`, head);
    else this.pass('D.24');
    this.them.seq.set(ch, (f.seqno + f.payload.length) % 2 ** 32);
    // D.25 / E.29: within the window we allow.
    const edge = this.edge.get(ch) ?? this.ourWindow;
    const end = f.seqno + f.payload.length;
    if (f.payload.length > 0) {
      if (ahead(end % 2 ** 32, edge)) {
        this.fail('D.25', `frame ends at ${end}, past the window edge ${edge} we advertised on channel ${ch}`, head);
        this.fail('E.29', `the peer sent beyond the window on channel ${ch}`, head);
      } else {
        this.pass('D.25');
        this.pass('E.29');
      }
    }
    if (ch === 0 && (f.type === 'ANS' || f.type === 'NUL')) this.fail('G.40', `${f.type} on channel 0`, head);
    // C.18: after a `*` frame, the next frame on the channel continues the same message.
    const open = this.them.open.get(ch);
    if (open !== undefined && open.msgno !== f.msgno) {
      this.fail('C.18', `frame for msgno ${f.msgno} while msgno ${open.msgno} is unfinished on channel ${ch}`, head);
    } else if (open !== undefined && open.type !== f.type && !(open.type === 'ANS' && f.type === 'NUL')) {
      this.fail('C.15', `message started as ${open.type} continues as ${f.type}`, head);
    } else if (open !== undefined) {
      this.pass('C.18');
      this.pass('C.15');
    }
    if (f.more && f.type !== 'NUL') this.them.open.set(ch, { msgno: f.msgno, type: f.type });
    else this.them.open.delete(ch);

    if (f.type === 'MSG') {
      if (ch === 0) this.trackStarts(f, this.them);
      if (ch === 0) this.collectChannel0(f, 'msg', head);
      return;
    }
    if (f.type === 'NUL') {
      if (f.more) this.fail('C.17', 'NUL frame with the continuation indicator *', head);
      else if (f.payload.length > 0)
        this.fail('C.17', `NUL frame with a ${f.payload.length}-octet payload (RFC 3080 §2.2.1.1: size 0)`, head + f.payload.toString('latin1').slice(0, 40));
      else this.pass('C.17');
    }
    // Replies: the greeting, or an answer to one of our MSGs.
    if (ch === 0 && f.msgno === 0 && !this.greetingDone) {
      this.collectChannel0(f, f.type === 'ERR' ? 'err' : 'rpy', head);
      if (!f.more) this.greetingDone = true;
      return;
    }
    const pending = this.us.pending.get(ch) ?? [];
    const idx = pending.indexOf(f.msgno);
    const cur = this.them.reply.get(ch);
    if (idx < 0) {
      this.fail(cur?.msgno === f.msgno ? 'C.14' : 'C.13', `${f.type} for msgno ${f.msgno} on channel ${ch}, which has no reply pending`, head);
      return;
    }
    this.pass('C.13');
    const unfinished = this.ourUnfinished.get(`${ch}:${f.msgno}`);
    if (unfinished === true && f.type !== 'ERR') this.fail('C.22', `${f.type} for msgno ${f.msgno} before our MSG was complete`, head);
    else if (unfinished !== undefined) this.pass('C.22');
    if (idx > 0) this.fail('C.20', `reply to msgno ${f.msgno} before the reply to msgno ${pending[0]} on channel ${ch}`, head);
    else this.pass('C.20');
    let reply = cur?.msgno === f.msgno ? cur : undefined;
    if (reply === undefined) reply = { msgno: f.msgno, type: f.type, ans: false };
    if (f.type === 'NUL' && reply.type !== 'ANS' && reply.type !== 'NUL') this.fail('C.16', `NUL after ${reply.type} frames for msgno ${f.msgno}`, head);
    else if (f.type === 'NUL') this.pass('C.16');
    if (f.type !== 'NUL' && reply.type !== f.type) this.fail('C.15', `reply started as ${reply.type} continues as ${f.type}`, head);
    reply.type = f.type === 'NUL' ? reply.type : f.type;
    if (f.type === 'ANS') reply.ans = true;
    this.them.reply.set(ch, reply);
    if (ch === 0) this.collectChannel0(f, f.type === 'ERR' ? 'err' : 'rpy', head);
    const complete = f.type === 'NUL' || ((f.type === 'RPY' || f.type === 'ERR') && !f.more);
    if (complete) {
      this.ourUnfinished.delete(`${ch}:${f.msgno}`);
      pending.splice(idx, 1);
      this.them.reply.delete(ch);
      if (ch === 0 && f.type === 'RPY') {
        const n = this.startsPending.get(f.msgno);
        if (n !== undefined) this.resetChannel(n);
      }
      this.startsPending.delete(f.msgno);
    }
  }

  private greetingDone = false;

  private onTheirSeq(f: Frame & { type: 'SEQ' }, head: string): void {
    const sent = this.us.seq.get(f.channel) ?? 0;
    if (ahead(f.ackno, sent)) this.fail('E.28', `SEQ acknowledges ${f.ackno} octets on channel ${f.channel}; we sent ${sent}`, head);
    const edge = (f.ackno + f.window) % 2 ** 32;
    const prev = this.theirEdge.get(f.channel) ?? DEFAULT_WINDOW;
    if (ahead(prev, edge)) this.fail('E.28', `SEQ moves the window's right edge left (${prev} -> ${edge}) on channel ${f.channel}`, head);
    else this.pass('E.27');
    this.theirEdge.set(f.channel, edge);
  }

  /** Reassemble a channel-0 message from the peer and check it (G.39, G.40, G.41, I.47, F.34 content type). */
  private collectChannel0(f: DataFrame, exchange: 'msg' | 'rpy' | 'err', head: string): void {
    this.them.ch0.push(f.payload);
    if (f.more) return;
    const payload = Buffer.concat(this.them.ch0);
    this.them.ch0 = [];
    const entity = parseEntity(payload);
    if (entity.headers.length > 0 && entity.mediaType !== 'application/beep+xml') {
      this.fail('G.41', `channel-0 message with Content-Type ${entity.contentType}`, head);
    }
    try {
      const m = parseChannel0(entity.body, { expect: exchange });
      this.pass('G.39');
      this.pass('G.40');
      this.pass('G.41');
      if (m.type === 'greeting') this.pass('F.34');
      if (m.type === 'start') {
        const odd = m.number % 2 === 1;
        if (odd === (this.peerRole === 'initiator')) this.pass('F.37');
        else this.fail('F.37', `the ${this.peerRole} asked to start channel ${m.number}`, head);
      }
      if ((m.type === 'error' || m.type === 'close') && !REPLY_CODES.has(m.code)) {
        this.fail('I.47', `reply code ${m.code} is not one of RFC 3080 §8`, head + entity.body.toString('latin1').slice(0, 120));
      } else if (m.type === 'error' || m.type === 'close') this.pass('I.47');
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'BEEP_XML_SYNTAX';
      const rule = code === 'BEEP_XML_UNEXPECTED' ? 'G.40' : code === 'BEEP_XML_INVALID' ? 'G.39' : 'G.41';
      this.fail(rule, `channel-0 ${exchange.toUpperCase()} refused by the §7.1 DTD check (${code}: ${(e as Error).message})`, head + entity.body.toString('latin1').slice(0, 120));
    }
  }
}

/** a is after b in seqno space (mod 2^32, within half the space). */
function ahead(a: number, b: number): boolean {
  const d = (a - b + 2 ** 32) % 2 ** 32;
  return d !== 0 && d < 2 ** 31;
}

export function headerOf(f: Frame): string {
  if (f.type === 'SEQ') return `SEQ ${f.channel} ${f.ackno} ${f.window}\r\n`;
  return `${f.type} ${f.channel} ${f.msgno} ${f.more ? '*' : '.'} ${f.seqno} ${f.payload.length}${f.type === 'ANS' ? ` ${f.ansno}` : ''}\r\n`;
}
