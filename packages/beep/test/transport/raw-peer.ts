/**
 * A scripted, independent BEEP peer over a raw socket for interop tests. It does not use our Session: it frames
 * by hand, behaves like Vortex (greets only after hearing the other side's greeting, prefixes every payload with a
 * MIME header block, sends NUL with a CRLF payload) and records every frame it receives.
 */
import type { Socket } from 'node:net';
import { FrameParser } from '../../src/wire/frame-parser.js';
import type { DataFrame, Frame } from '../../src/wire/frame.js';

export const MIME_XML = 'Content-Type: application/beep+xml\r\n\r\n';
export const MIME_OCTETS = 'Content-Type: application/octet-stream\r\n\r\n';

export class RawPeer {
  readonly frames: Frame[] = [];
  private seq = new Map<number, number>();
  private waiters: Array<{ pred: (f: Frame) => boolean; resolve: (f: DataFrame) => void }> = [];
  private parser: FrameParser;
  onFrame: ((f: DataFrame) => void) | undefined;

  constructor(readonly sock: Socket) {
    this.parser = new FrameParser({ onFrame: (f) => this.got(f), maxFrameSize: 1 << 30 });
    sock.on('data', (c: Buffer) => this.parser.push(c));
    sock.on('error', () => undefined);
  }

  private got(f: Frame): void {
    this.frames.push(f);
    if (f.type === 'SEQ') return;
    this.onFrame?.(f);
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred(f)) return true;
      w.resolve(f);
      return false;
    });
  }

  /** Resolves with the first received data frame (past or future) matching pred. */
  waitFor(pred: (f: DataFrame) => boolean): Promise<DataFrame> {
    for (const f of this.frames) if (f.type !== 'SEQ' && pred(f)) return Promise.resolve(f);
    return new Promise((resolve) => this.waiters.push({ pred: pred as (f: Frame) => boolean, resolve }));
  }

  frame(kw: string, ch: number, msgno: number, payload: string | Buffer, opts: { more?: boolean; ansno?: number } = {}): Buffer {
    const body = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
    const seq = this.seq.get(ch) ?? 0;
    this.seq.set(ch, (seq + body.length) % 2 ** 32);
    const head = `${kw} ${ch} ${msgno} ${opts.more ? '*' : '.'} ${seq} ${body.length}${opts.ansno !== undefined ? ' ' + opts.ansno : ''}\r\n`;
    return Buffer.concat([Buffer.from(head, 'latin1'), body, Buffer.from('END\r\n', 'latin1')]);
  }

  send(kw: string, ch: number, msgno: number, payload: string | Buffer, opts: { more?: boolean; ansno?: number } = {}): void {
    this.sock.write(this.frame(kw, ch, msgno, payload, opts));
  }

  greet(profiles: string[]): void {
    const xml = profiles.length === 0 ? '<greeting />' : `<greeting>${profiles.map((u) => `<profile uri='${u}' />`).join('')}</greeting>`;
    this.send('RPY', 0, 0, MIME_XML + xml);
  }
}
