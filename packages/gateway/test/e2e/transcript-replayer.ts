/**
 * Replays test-vectors/gateway transcripts (format: test-vectors/README.md, "Gateway transcripts") against a live
 * gateway: plays the BEEP peer over TCP and runs the Beam steps on the gateway's context.
 */
import { expect } from 'chai';
import net from 'node:net';
import type { CommandClient, Value } from '../../src/backend/types.js';
import { parseEntity } from '../../src/wire/entity.js';
import { parseXml, type XmlElement } from '../../src/wire/xml.js';

export interface Message {
  type: string;
  channel: number;
  msgno: number;
  ansno?: number;
  payload: Buffer;
}

/** Minimal frame reader: reassembles messages, answers with SEQ to keep windows open. */
class Peer {
  private buf = Buffer.alloc(0);
  readonly pool: Message[] = [];
  private partial = new Map<string, Buffer[]>();
  private consumed = new Map<number, { acked: number; total: number }>();
  private waiters: Array<() => void> = [];
  closed = false;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => this.data(d));
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private data(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const eol = this.buf.indexOf('\r\n');
      if (eol < 0) return;
      const parts = this.buf.toString('latin1', 0, eol).split(' ');
      if (parts[0] === 'SEQ') {
        this.buf = this.buf.subarray(eol + 2);
        continue;
      }
      const [type, ch, msgno, more, seqno, size, ansno] = parts as [string, string, string, string, string, string, string?];
      const n = Number(size);
      if (this.buf.length < eol + 2 + n + 5) return;
      const payload = this.buf.subarray(eol + 2, eol + 2 + n);
      expect(this.buf.toString('latin1', eol + 2 + n, eol + 7 + n)).to.equal('END\r\n');
      this.buf = this.buf.subarray(eol + 7 + n);
      void seqno;
      const key = `${type} ${ch} ${msgno} ${ansno ?? ''}`;
      const pieces = this.partial.get(key) ?? [];
      pieces.push(Buffer.from(payload));
      this.ack(Number(ch), n);
      if (more === '*') {
        this.partial.set(key, pieces);
        continue;
      }
      this.partial.delete(key);
      const m: Message = { type: type!, channel: Number(ch), msgno: Number(msgno), payload: Buffer.concat(pieces) };
      if (ansno !== undefined) m.ansno = Number(ansno);
      this.pool.push(m);
      this.wake();
    }
  }

  private ack(ch: number, n: number): void {
    const c = this.consumed.get(ch) ?? { acked: 0, total: 0 };
    c.total += n;
    if (c.total - c.acked >= 2048) {
      c.acked = c.total;
      this.socket.write(`SEQ ${ch} ${c.total % 2 ** 32} 4096\r\n`);
    }
    this.consumed.set(ch, c);
  }
}

type Vars = Map<string, string>;
const VAR = /^\{\{([A-Za-z_*][A-Za-z0-9_]*)\}\}$/;

function bindOrCompare(expected: string, actual: string, vars: Vars, what: string): boolean {
  const m = VAR.exec(expected);
  if (m) {
    if (m[1] === '*') return true;
    const known = vars.get(m[1]!);
    if (known === undefined) {
      vars.set(m[1]!, actual);
      if (m[1] === 'n' && /^[0-9]+$/.test(actual)) vars.set('job', String(Number(actual) - 1));
      return true;
    }
    return known === actual;
  }
  void what;
  return substitute(expected, vars) === actual;
}

export function substitute(s: string, vars: Vars): string {
  return s.replace(/\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}/g, (w, k: string) => vars.get(k) ?? w);
}

function xmlMatches(exp: XmlElement, act: XmlElement, vars: Vars): boolean {
  if (exp.name !== act.name) return false;
  const keys = Object.keys(exp.attrs);
  if (keys.length !== Object.keys(act.attrs).length) return false;
  for (const k of keys) {
    const a = act.attrs[k];
    if (a === undefined || !bindOrCompare(exp.attrs[k]!, a, vars, k)) return false;
  }
  const et = exp.text.trim();
  let at = act.text.trim();
  let ac = act.children;
  if (exp.children.length === 1 && et === '' && ac.length === 0 && at !== '') {
    // Piggybacked content: text that parses to the expected element.
    try {
      ac = [parseXml(at)];
    } catch {
      return false;
    }
    at = '';
  }
  if ((et === '') !== (at === '') || (et !== '' && !bindOrCompare(et, at, vars, 'text'))) return false;
  if (exp.children.length !== ac.length) return false;
  return exp.children.every((e, i) => xmlMatches(e, ac[i]!, vars));
}

interface ExpectedMessage {
  type: string;
  channel: number | string;
  msgno: number | string;
  ansno?: number;
  headers?: Record<string, string>;
  body?: string;
  body_b64?: string;
  xml?: string;
}

function messageMatches(e: ExpectedMessage, m: Message, vars: Vars): boolean {
  if (e.type !== m.type) return false;
  const trial = new Map(vars);
  if (!bindOrCompare(String(e.channel), String(m.channel), trial, 'channel')) return false;
  if (!bindOrCompare(String(e.msgno), String(m.msgno), trial, 'msgno')) return false;
  if (e.ansno !== undefined && e.ansno !== m.ansno) return false;
  if (m.type !== 'NUL') {
    let entity;
    try {
      entity = parseEntity(m.payload);
    } catch {
      return false;
    }
    if (e.headers) {
      const want = Object.entries(e.headers);
      if (want.length !== entity.headers.size) return false;
      for (const [k, v] of want) if (entity.headers.get(k) !== v) return false;
    }
    if (e.body !== undefined && !entity.body.equals(Buffer.from(e.body, 'latin1'))) return false;
    if (e.body_b64 !== undefined && !entity.body.equals(Buffer.from(e.body_b64, 'base64'))) return false;
    if (e.xml !== undefined) {
      let act;
      try {
        act = parseXml(entity.body.toString('utf8').trim());
      } catch {
        return false;
      }
      if (!xmlMatches(parseXml(e.xml), act, trial)) return false;
    }
  }
  for (const [k, v] of trial) vars.set(k, v);
  return true;
}

function valueMatches(exp: unknown, act: Value, vars: Vars): boolean {
  if (exp === null) return act === null;
  if (typeof exp === 'number') return act === exp;
  if (typeof exp === 'string') {
    if (typeof act === 'number') return bindOrCompare(exp, String(act), vars, 'reply');
    return Buffer.isBuffer(act) && bindOrCompare(exp, act.toString('latin1'), vars, 'reply');
  }
  if (Array.isArray(exp)) return Array.isArray(act) && act.length === exp.length && exp.every((x, i) => valueMatches(x, act[i]!, vars));
  if (typeof exp === 'object' && exp !== null && 'status' in exp) return Buffer.isBuffer(act) && act.toString('latin1') === (exp as { status: string }).status;
  return false;
}

export interface Step {
  side: 'beep' | 'beam';
  dir: string;
  bytes?: string;
  bytes_b64?: string;
  message?: ExpectedMessage;
  channel?: number;
  msgno?: number;
  streams?: Record<string, string>;
  streams_b64?: Record<string, string>;
  closed?: number[];
  final?: string;
  argv?: string[];
  reply?: unknown;
  reply_match?: string;
  note?: string;
}

export interface Vector {
  id: string;
  role: 'initiator' | 'listener' | 'none';
  steps: Step[];
}

export interface ReplayContext {
  /** The gateway's BEEP port (initiator role). */
  beepPort: number;
  beam: CommandClient;
}

const WAIT_MS = 8000;

export async function replay(v: Vector, ctx: ReplayContext): Promise<void> {
  const vars: Vars = new Map();
  let peer: Peer | undefined;
  let server: net.Server | undefined;
  let peerReady: Promise<Peer> | undefined;
  try {
    if (v.role === 'initiator') {
      const sock = net.connect({ host: '127.0.0.1', port: ctx.beepPort });
      await new Promise<void>((res, rej) => sock.once('connect', () => res()).once('error', rej));
      sock.setNoDelay(true);
      peer = new Peer(sock);
      peerReady = Promise.resolve(peer);
    } else {
      server = net.createServer();
      peerReady = new Promise<Peer>((res) => server!.once('connection', (s: net.Socket) => res((peer = new Peer(s)))));
      await new Promise<void>((res) => server!.listen(0, '127.0.0.1', () => res()));
      vars.set('listener', `127.0.0.1:${(server.address() as net.AddressInfo).port}`);
      const probe = net.createServer();
      await new Promise<void>((res) => probe.listen(0, '127.0.0.1', () => res()));
      vars.set('closed', `127.0.0.1:${(probe.address() as net.AddressInfo).port}`);
      await new Promise<void>((res) => probe.close(() => res()));
    }
    for (const [i, s] of v.steps.entries()) {
      const where = `${v.id} step ${i}${s.note ? ` (${s.note})` : ''}`;
      if (s.side === 'beam') {
        if (s.dir !== 'client') continue;
        const argv = s.argv!.map((a) => Buffer.from(substitute(a, vars), 'latin1'));
        let timer: NodeJS.Timeout | undefined;
        const r = await Promise.race([
          ctx.beam.call(argv),
          new Promise<never>((_, rej) => {
            timer = setTimeout(() => {
              const seen = peer ? JSON.stringify(peer.pool.map((m) => ({ ...m, payload: m.payload.toString('latin1') }))) : '-';
              rej(new Error(`${where}: ${argv.join(' ')} did not answer; BEEP messages not matched: ${seen}`));
            }, WAIT_MS);
          }),
        ]).finally(() => clearTimeout(timer));
        if (s.reply !== undefined) expect(valueMatches(s.reply, r, vars), `${where}: reply ${JSON.stringify(r, (_k, x) => (x?.type === 'Buffer' ? Buffer.from(x.data).toString('latin1') : x))}`).to.equal(true);
        if (s.reply_match !== undefined) expect(Buffer.isBuffer(r) ? r.toString('latin1') : String(r), where).to.match(new RegExp(s.reply_match));
        continue;
      }
      const p = await peerReady!;
      if (s.dir === 'send') {
        const raw = s.bytes !== undefined ? Buffer.from(s.bytes, 'latin1') : Buffer.from(s.bytes_b64!, 'base64');
        const eol = raw.indexOf('\r\n');
        p.socket.write(Buffer.concat([Buffer.from(substitute(raw.toString('latin1', 0, eol), vars), 'latin1'), raw.subarray(eol)]));
      } else if (s.dir === 'recv') {
        const deadline = Date.now() + WAIT_MS;
        for (;;) {
          const idx = p.pool.findIndex((m) => messageMatches(s.message!, m, vars));
          if (idx >= 0) {
            p.pool.splice(idx, 1);
            break;
          }
          if (Date.now() > deadline || p.closed) {
            throw new Error(`${where}: no message matching ${JSON.stringify(s.message)}; received ${JSON.stringify(p.pool.map((m) => ({ ...m, payload: m.payload.toString('latin1') })))}`);
          }
          await p.changed(100);
        }
      } else if (s.dir === 'recv-reply') {
        const deadline = Date.now() + WAIT_MS;
        const mine = (m: Message): boolean => m.channel === s.channel && m.msgno === s.msgno && (m.type === 'ANS' || m.type === 'NUL');
        while (!p.pool.some((m) => mine(m) && m.type === 'NUL')) {
          if (Date.now() > deadline || p.closed) throw new Error(`${where}: no NUL for ${s.channel}/${s.msgno}`);
          await p.changed(100);
        }
        const msgs = p.pool.filter(mine);
        for (const m of msgs) p.pool.splice(p.pool.indexOf(m), 1);
        const data = new Map<string, Buffer[]>();
        const closed: number[] = [];
        const controls: string[] = [];
        for (const m of msgs.filter((x) => x.type === 'ANS').sort((a, b) => a.ansno! - b.ansno!)) {
          const e = parseEntity(m.payload);
          const st = e.headers.get('beam-stream');
          if (st === undefined) controls.push(e.body.toString('utf8'));
          else if (e.body.length === 0) closed.push(Number(st));
          else data.set(st, [...(data.get(st) ?? []), e.body]);
        }
        for (const [k, text] of Object.entries(s.streams ?? {})) expect(Buffer.concat(data.get(k) ?? []).toString('latin1'), `${where}: stream ${k}`).to.equal(text);
        for (const [k, b64] of Object.entries(s.streams_b64 ?? {})) expect(Buffer.concat(data.get(k) ?? []).toString('base64'), `${where}: stream ${k}`).to.equal(b64);
        expect(closed.sort(), `${where}: closed streams`).to.deep.equal([...(s.closed ?? [])].sort());
        expect(controls.length, `${where}: control answers ${controls.join(' ')}`).to.equal(2);
        expect(parseXml(controls[0]!.trim()).name, `${where}: first answer`).to.equal('started');
        const final = controls[1];
        expect(xmlMatches(parseXml(s.final!), parseXml(final!.trim()), vars), `${where}: final ${final}`).to.equal(true);
      } else throw new Error(`${where}: unknown step ${s.dir}`);
    }
    if (peer) {
      // Give late messages a moment, then nothing may be left unmatched.
      await peer.changed(50);
      expect(peer.pool.map((m) => `${m.type} ${m.channel} ${m.msgno}: ${m.payload.toString('latin1')}`), `${v.id}: unmatched messages`).to.deep.equal([]);
    }
  } finally {
    peer?.socket.destroy();
    if (server) await new Promise<void>((res) => server!.close(() => res()));
  }
}
