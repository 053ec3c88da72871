#!/usr/bin/env node
// Listener CPU per message and per MiB, for comparing two builds without wall-clock noise:
//   node bench/beep/cpu.mjs [LISTENER_CLI]   (default: this tree's beep CLI)
// Spawns `beep listen` from LISTENER_CLI, drives it with this tree's client (200,000 pipelined 100-byte echoes on
// one channel, then 256 MiB to the sink profile) and reads the listener's user+system CPU from /proc (Linux).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect, TEST_PROFILE_URIS } from '../../packages/beep/dist/src/index.js';

const cli = process.argv[2] ?? fileURLToPath(new URL('../../packages/beep/dist/src/cli/main.js', import.meta.url));
const child = spawn(process.execPath, [cli, 'listen', '--port', '0', '--profile', 'echo', '--profile', 'sink', '--window', '1M'], { stdio: ['ignore', 'pipe', 'pipe'] });
const port = await new Promise((resolve, reject) => {
  const seek = (d) => {
    for (const line of d.toString().split('\n')) {
      try {
        const j = JSON.parse(line);
        if (j.port && (j.msg === 'listening' || j.event === 'listening')) resolve(j.port);
      } catch {}
    }
  };
  child.stdout.on('data', seek);
  child.stderr.on('data', seek);
  child.once('exit', () => reject(new Error('listener exited')));
});
const ticks = () => {
  const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);
};
const session = await connect({ port }, {});
const echo = await session.startChannel(TEST_PROFILE_URIS.echo);
const body = Buffer.alloc(100, 0x78);
await Promise.all(Array.from({ length: 5000 }, () => echo.request(body)));
let t = ticks();
let left = 200_000;
await Promise.all(Array.from({ length: 1000 }, async () => {
  while (left-- > 0) await echo.request(body);
}));
const echoTicks = ticks() - t;
const sink = await session.startChannel(TEST_PROFILE_URIS.sink);
const big = Buffer.alloc(64 * 1024 * 1024, 0x62);
await sink.request(big);
t = ticks();
for (let i = 0; i < 4; i++) await sink.request(big);
const bulkTicks = ticks() - t;
await session.close();
child.kill('SIGTERM');
console.log(JSON.stringify({ cli, echoTicksPer100k: echoTicks / 2, bulkTicksPer256MiB: bulkTicks }));
