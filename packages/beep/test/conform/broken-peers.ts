/**
 * Deliberately broken BEEP listeners for the conformance tests: our own Session serving the test profiles, with
 * its output rewritten frame by frame on the way to the socket so that it breaks exactly one rule.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { listenOn, type Listener } from '../../src/api/connect.js';
import { FrameParser } from '../../src/wire/frame-parser.js';
import type { DataFrame, Frame } from '../../src/wire/frame.js';
import { testProfiles } from '../../src/testing/test-profiles.js';

/** Rewrites one outgoing frame into zero or more frames; seqnos are renumbered afterwards unless `keepSeqno`. */
export interface Breakage {
  mutate(f: Frame): Frame[];
  /** Leave seqnos as mutate() set them (for the wrong-seqno peer). */
  keepSeqno?: boolean;
}

const data = (f: Frame): f is DataFrame => f.type !== 'SEQ';

export const BREAKAGES: Record<string, Breakage> = {
  /** Channel-1 frames carry a seqno 7 octets ahead (D.24). */
  'wrong-seqno': {
    keepSeqno: true,
    mutate: (f) => [data(f) && f.channel === 1 ? { ...f, seqno: (f.seqno + 7) % 2 ** 32 } : f],
  },
  /** RPY frames on channel 1 padded to 5000 octets, past the 4096-octet window (D.25). */
  'beyond-window': {
    mutate: (f) => [data(f) && f.channel === 1 && f.type === 'RPY' ? { ...f, payload: Buffer.concat([f.payload, Buffer.alloc(5000, 'z')]) } : f],
  },
  /** NUL frames carry a one-octet payload (C.17). */
  'nul-payload': {
    mutate: (f) => [data(f) && f.type === 'NUL' ? { ...f, payload: Buffer.from('x') } : f],
  },
  /** Never answers a close: its <ok/> replies on channel 0 are dropped (F.38). */
  'ignore-close': {
    mutate: (f) => (data(f) && f.channel === 0 && f.type === 'RPY' && f.payload.includes('<ok') ? [] : [f]),
  },
  /** On channel 1 the reply to an even msgno is held back and sent after the next reply (C.20). */
  'out-of-order': (() => {
    let held: DataFrame | undefined;
    return {
      mutate: (f: Frame): Frame[] => {
        if (!data(f) || f.channel !== 1 || f.type !== 'RPY') return [f];
        if (held === undefined && f.msgno % 2 === 0) {
          held = f;
          return [];
        }
        const out = held ? [f, held] : [f];
        held = undefined;
        return out;
      },
    };
  })(),
};

function encode(f: Frame): Buffer {
  if (f.type === 'SEQ') return Buffer.from(`SEQ ${f.channel} ${f.ackno} ${f.window}\r\n`, 'latin1');
  const head = `${f.type} ${f.channel} ${f.msgno} ${f.more ? '*' : '.'} ${f.seqno} ${f.payload.length}${f.type === 'ANS' ? ` ${f.ansno ?? 0}` : ''}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), f.payload, Buffer.from('END\r\n', 'latin1')]);
}

function breakOutput(sock: Duplex, b: Breakage): void {
  const write = sock.write.bind(sock) as (chunk: Buffer) => boolean;
  const seq = new Map<number, number>();
  let out: Buffer[] = [];
  const parser = new FrameParser({
    maxFrameSize: 2 ** 31 - 1,
    onFrame: (f) => {
      for (const g of b.mutate(f)) {
        if (data(g) && !b.keepSeqno) {
          g.seqno = seq.get(g.channel) ?? 0;
          seq.set(g.channel, (g.seqno + g.payload.length) % 2 ** 32);
        }
        out.push(encode(g));
      }
    },
  });
  sock.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
    if (!Buffer.isBuffer(chunk)) return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    parser.push(Buffer.from(chunk));
    const bytes = Buffer.concat(out);
    out = [];
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    if (bytes.length === 0) {
      cb?.();
      return true;
    }
    return cb ? (write as (...a: unknown[]) => boolean)(bytes, cb) : write(bytes);
  }) as Duplex['write'];
}

/** A listener on 127.0.0.1 (ephemeral port) whose output is broken by `breakage`, or intact when undefined. */
export async function brokenListener(breakage: Breakage | undefined): Promise<{ listener: Listener; port: number }> {
  const server = net.createServer();
  if (breakage) server.on('connection', (sock: net.Socket) => breakOutput(sock, breakage));
  const listener = listenOn(server, { profiles: testProfiles(), receiveWindow: 4096 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { listener, port: (server.address() as net.AddressInfo).port };
}
