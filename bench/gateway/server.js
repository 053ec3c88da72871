#!/usr/bin/env node
// Bench-only gateway process for bench/gateway/run.js: the public startGateway() with one extra job handler,
// `blast BYTES [CHUNK]`, that writes BYTES octets of output to stream 1 in CHUNK-sized writes (honouring
// back-pressure), plus a raw TCP source that writes BYTES octets to whoever connects (the loopback baseline).
// Prints one JSON line with the bound addresses, then serves until stdin closes or SIGTERM; a `cpu` line on
// stdin is answered with the process's CPU time (process.cpuUsage(), µs) as one JSON line.
//
//   node bench/gateway/server.js [--max-send-frame BYTES]
import net from 'node:net';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { startGateway } from '../../packages/gateway/dist/src/index.js';
import { HOST, writeBytes } from '../lib/net.js';

/** `blast BYTES [CHUNK]`: BYTES of output in CHUNK-sized writes (default 1 MiB), waiting on 'drain'. */
async function blast(job) {
  const total = Number(job.args[1] ?? 0);
  const chunkSize = Number(job.args[2] ?? 1024 * 1024);
  if (!Number.isSafeInteger(total) || total < 0 || !Number.isSafeInteger(chunkSize) || chunkSize < 1) {
    job.stderr.write('blast: usage: blast BYTES [CHUNK]\n');
    return 2;
  }
  const chunk = Buffer.alloc(chunkSize, 0x61);
  let left = total;
  while (left > 0) {
    if (job.signal.aborted) return 143;
    const n = Math.min(left, chunkSize);
    left -= n;
    if (!job.stdout.write(n === chunkSize ? chunk : chunk.subarray(0, n))) await once(job.stdout, 'drain');
  }
  return 0;
}

/** Raw TCP source: each connection gets the byte count it asks for (an ASCII decimal line), then FIN. */
function rawSource() {
  const chunk = Buffer.alloc(1024 * 1024, 0x61);
  const server = net.createServer((sock) => {
    sock.setNoDelay(true);
    sock.on('error', () => {});
    let line = '';
    sock.on('data', function onData(d) {
      line += d.toString('latin1');
      if (!line.includes('\n')) return;
      sock.off('data', onData);
      writeBytes(sock, Number(line.trim()), chunk);
    });
  });
  return new Promise((resolve) => server.listen(0, HOST, () => resolve(server)));
}

const { values: flags } = parseArgs({ options: { 'max-send-frame': { type: 'string' } } });
const gateway = await startGateway({
  beep: { host: HOST, port: 0 },
  resp: { host: HOST, port: 0 },
  handlers: { blast },
  ...(flags['max-send-frame'] ? { limits: { maxSendFrame: Number(flags['max-send-frame']) } } : {}),
});
const raw = await rawSource();
process.stdout.write(
  `${JSON.stringify({ beep: gateway.beepAddress.port, resp: gateway.respAddress?.port, raw: raw.address().port, pid: process.pid })}\n`,
);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  raw.close();
  const t = setTimeout(() => process.exit(0), 2000);
  t.unref();
  gateway.close(0).finally(() => process.exit(0));
};
// `cpu` on stdin: answer with this process's CPU time so far (µs), one JSON line.
let pending = '';
process.stdin.on('data', (d) => {
  pending += d.toString('latin1');
  for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
    const cmd = pending.slice(0, nl).trim();
    pending = pending.slice(nl + 1);
    if (cmd === 'cpu') process.stdout.write(`${JSON.stringify(process.cpuUsage())}\n`);
  }
});
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
