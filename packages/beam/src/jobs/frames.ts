/** Stream frames of the job protocol: `N:data`, and `N:` (nothing after the colon) closes stream N. */
export interface Frame {
  stream: number;
  /** `null` closes the stream. */
  data: Buffer | null;
}

const COLON = 0x3a;

/** Parses a frame; `undefined` when it has no canonical `N:` prefix or N > maxStream. */
export function parseFrame(buf: Buffer, maxStream: number): Frame | undefined {
  const colon = buf.indexOf(COLON);
  if (colon < 1 || colon > 6) return undefined;
  let n = 0;
  for (let i = 0; i < colon; i++) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x39) return undefined;
    n = n * 10 + (c - 0x30);
  }
  if (colon > 1 && buf[0] === 0x30) return undefined;
  if (n > maxStream) return undefined;
  return { stream: n, data: colon + 1 === buf.length ? null : buf.subarray(colon + 1) };
}

export function encodeFrame(stream: number, data: Buffer | null): Buffer {
  const prefix = Buffer.from(`${stream}:`, 'latin1');
  return data === null || data.length === 0 ? prefix : Buffer.concat([prefix, data]);
}
