#!/usr/bin/env node
// A fresh client every 250 ms, in its own process so that the load generator's work does not delay it: prints one
// JSON line per attempt ({"ms": N} or {"ms": N, "error": "..."}). Used by bench/load/abuse.js.
//
//   node bench/load/probe.js resp|beep PORT
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, TEST_PROFILE_URIS } from '../../packages/beep/dist/src/index.js';

const [kind, portText] = process.argv.slice(2);
const port = Number(portText);

function withTimeout(p, ms, what) {
  let t;
  return Promise.race([p, new Promise((_, rej) => (t = setTimeout(() => rej(new Error(`${what} timed out`)), ms)))]).finally(() => clearTimeout(t));
}

function ping() {
  return withTimeout(new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      if (d.toString().includes('PONG')) {
        s.destroy();
        resolve();
      }
    });
    s.on('error', reject);
  }), 10_000, 'PING');
}

async function echo() {
  const s = await withTimeout(connect({ host: '127.0.0.1', port }, { profiles: [] }), 10_000, 'connect');
  try {
    const ch = await withTimeout(s.startChannel(TEST_PROFILE_URIS.echo), 10_000, 'start');
    await withTimeout(ch.request('ping'), 10_000, 'echo');
  } finally {
    s.destroy();
  }
}

const probe = kind === 'beep' ? echo : ping;
for (;;) {
  const t0 = performance.now();
  try {
    await probe();
    process.stdout.write(JSON.stringify({ ms: Math.round(performance.now() - t0) }) + '\n');
  } catch (e) {
    process.stdout.write(JSON.stringify({ ms: Math.round(performance.now() - t0), error: e.message }) + '\n');
  }
  await sleep(250);
}
