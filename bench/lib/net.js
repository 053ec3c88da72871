// Loopback helpers of the benches: free ports, waiting for a listener, a byte source.
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Every bench binds and connects on loopback only. */
export const HOST = '127.0.0.1';

/** A port nothing listens on right now (bound once on port 0, then released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, HOST, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once a TCP connect to HOST:port succeeds; rejects after `ms`. */
export async function waitForPort(port, ms = 10_000) {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host: HOST, port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on ${HOST}:${port}`);
    await sleep(50);
  }
}

/** Writes `bytes` octets of `chunk` (repeated, the last one cut) to `sock`, honouring back-pressure, then ends it. */
export function writeBytes(sock, bytes, chunk) {
  let left = bytes;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!sock.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void sock.once('drain', pump);
    }
    sock.end();
  };
  pump();
}
