/**
 * `--trace`: taps a byte stream and prints every frame header going out (`>`) and coming in (`<`). The tap parses
 * a copy of the traffic with its own lenient FrameParser, so it never changes what the session sees.
 */
import type { Duplex } from 'node:stream';
import type { DataFrameHeader } from '../wire/frame.js';
import { FrameParser } from '../wire/frame-parser.js';

function headerLine(h: DataFrameHeader): string {
  const base = `${h.type} ${h.channel} ${h.msgno} ${h.more ? '*' : '.'} ${h.seqno} ${h.size}`;
  return h.type === 'ANS' ? `${base} ${h.ansno ?? 0}` : base;
}

function tracer(dir: '<' | '>', label: string, print: (line: string) => void): (chunk: Buffer) => void {
  let dead = false;
  const parser = new FrameParser({
    maxHeaderLength: 4096,
    maxFrameSize: 2147483647,
    onHeader: (h) => print(`${label}${dir} ${headerLine(h)}`),
    onFrame: (f) => {
      if (f.type === 'SEQ') print(`${label}${dir} SEQ ${f.channel} ${f.ackno} ${f.window}`);
    },
  });
  return (chunk) => {
    if (dead) return;
    try {
      parser.push(chunk);
    } catch (e) {
      dead = true;
      print(`${label}${dir} (trace stopped: ${(e as Error).message})`);
    }
  };
}

/**
 * Print the frame headers of `duplex` in both directions. Call it in the same tick the session is bound to the
 * stream (so no chunk is read before the session's own listener is attached). `label` prefixes every line (e.g. a
 * session id). Tracing ends at the first octets that are not BEEP frames (e.g. a TLS handshake).
 */
export function traceDuplex(duplex: Duplex, print: (line: string) => void, label = ''): void {
  const onIn = tracer('<', label, print);
  const onOut = tracer('>', label, print);
  duplex.on('data', (chunk: Buffer) => onIn(chunk));
  const write = duplex.write;
  duplex.write = function (this: Duplex, chunk: unknown, ...rest: unknown[]): boolean {
    if (Buffer.isBuffer(chunk)) onOut(chunk);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as Duplex['write'];
}
