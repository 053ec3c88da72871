#!/usr/bin/env node
// Load: 10,000 concurrent BEEP sessions against `beep listen` and 10,000 RESP connections against `beam serve`,
// each server a child process with its default limits; reports the server's RSS per idle session / connection and
// per open channel, the slowest fresh client while they are all open, and how long the greeting and idle timeouts
// take to close silent and slowloris peers. Loopback only.
//
//   bench/load/load.sh [--sessions N] [--connections N] [--channels-per-session N] [--channel-sessions N]
//   (or: ulimit -n 20000; npx tsc -b && node bench/load/run.js ...)
//
// Every connection costs this process one descriptor and the server one: `ulimit -n` must exceed the larger of
// --sessions and --connections by a few hundred (load.sh raises the soft limit to the hard one).
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Session, bindSession, connect, TEST_PROFILE_URIS } from '../../packages/beep/dist/src/index.js';
import { benchOptions } from '../lib/args.js';
import { track, stopChild } from '../lib/children.js';
import { HOST, freePort, waitForPort } from '../lib/net.js';
import { ROOT } from '../lib/paths.js';

const opts = benchOptions(
  'Usage: node bench/load/run.js [--sessions N] [--connections N] [--channel-sessions N] [--channels-per-session N] [--timeouts-only]\n',
  {
    sessions: { type: 'string', default: '10000' },
    connections: { type: 'string', default: '10000' },
    'channel-sessions': { type: 'string', default: '1000' },
    'channels-per-session': { type: 'string', default: '10' },
    'timeouts-only': { type: 'boolean', default: false },
  },
);
const SESSIONS = Number(opts.sessions);
const CONNECTIONS = Number(opts.connections);
const CH_SESSIONS = Number(opts['channel-sessions']);
const CH_PER = Number(opts['channels-per-session']);
const BEAM_MAIN = path.join(ROOT, 'packages/beam/dist/src/cli/main.js');
const BEEP_MAIN = path.join(ROOT, 'packages/beep/dist/src/cli/main.js');
const MiB = 1024 * 1024;

const nofile = Number(execFileSync('sh', ['-c', 'ulimit -n']).toString().trim());
if (!opts['timeouts-only'] && nofile < Math.max(SESSIONS, CONNECTIONS) + 200) {
  console.error(`ulimit -n is ${nofile}: raise it above ${Math.max(SESSIONS, CONNECTIONS) + 200} (bench/load/load.sh does)`);
  process.exit(2);
}

function rssOf(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** RSS once it settled: the lowest of a few samples over about a second (GC and allocator noise). */
async function settledRss(pid) {
  let low = Infinity;
  for (let i = 0; i < 5; i++) {
    await sleep(250);
    low = Math.min(low, rssOf(pid));
  }
  return low;
}

async function startChild(main, args, port) {
  const child = track(spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'ignore', 'pipe'] }));
  child.stderr.resume();
  await waitForPort(port, 15_000);
  return child;
}

/** Runs `fn(i)` for i < n, at most `width` at once. */
async function pool(n, width, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) await fn(next++);
  }));
}

async function timed(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function beepLoad() {
  const port = await freePort();
  const child = await startChild(BEEP_MAIN, ['listen', '--port', String(port), '--profile', 'echo'], port);
  const base = await settledRss(child.pid);
  const sessions = [];
  const t0 = Date.now();
  await pool(SESSIONS, 200, async () => {
    const sock = net.connect(port, HOST);
    await new Promise((r, j) => {
      sock.once('connect', r);
      sock.once('error', j);
    });
    const s = new Session({ role: 'initiator' });
    s.on('error', () => undefined);
    bindSession(s, sock);
    await s.ready;
    sessions.push(s);
  });
  const openMs = Date.now() - t0;
  const idle = await settledRss(child.pid);
  const fresh = await timed(async () => {
    const s = await connect({ host: HOST, port }, { profiles: [] });
    const ch = await s.startChannel(TEST_PROFILE_URIS.echo);
    await ch.request('ping');
    s.destroy();
  });
  await pool(Math.min(CH_SESSIONS, sessions.length), 50, async (i) => {
    const s = sessions[i];
    for (let k = 0; k < CH_PER; k++) await s.startChannel(TEST_PROFILE_URIS.echo);
  });
  const channels = Math.min(CH_SESSIONS, sessions.length) * CH_PER;
  const withChannels = await settledRss(child.pid);
  for (const s of sessions) s.destroy();
  await stopChild(child);
  return {
    server: 'beep listen',
    sessions: sessions.length,
    openSeconds: openMs / 1000,
    baseRssMiB: +(base / MiB).toFixed(1),
    idleRssMiB: +(idle / MiB).toFixed(1),
    perIdleSessionKiB: +((idle - base) / sessions.length / 1024).toFixed(1),
    channels,
    perChannelKiB: +((withChannels - idle) / channels / 1024).toFixed(2),
    freshEchoMs: Math.round(fresh),
  };
}

async function respLoad() {
  const port = await freePort();
  const child = await startChild(BEAM_MAIN, ['serve', '--port', String(port)], port);
  const base = await settledRss(child.pid);
  const conns = [];
  const t0 = Date.now();
  await pool(CONNECTIONS, 200, async () => {
    const s = net.connect(port, HOST);
    s.on('error', () => undefined);
    await new Promise((r, j) => {
      s.once('connect', () => s.write('PING\r\n'));
      s.once('data', r);
      s.once('error', j);
    });
    conns.push(s);
  });
  const openMs = Date.now() - t0;
  const idle = await settledRss(child.pid);
  const fresh = await timed(() => new Promise((resolve) => {
    const s = net.connect(port, HOST, () => s.write('PING\r\n'));
    s.once('data', () => {
      s.destroy();
      resolve();
    });
  }));
  for (const s of conns) s.destroy();
  await stopChild(child);
  return {
    server: 'beam serve',
    connections: conns.length,
    openSeconds: openMs / 1000,
    baseRssMiB: +(base / MiB).toFixed(1),
    idleRssMiB: +(idle / MiB).toFixed(1),
    perIdleConnectionKiB: +((idle - base) / conns.length / 1024).toFixed(1),
    freshPingMs: Math.round(fresh),
  };
}

/** Waits for every socket to be closed by the server; returns the seconds until the last one was. */
async function closedWithin(socks, t0, limitMs) {
  const times = await Promise.all(socks.map((s) => new Promise((resolve) => {
    if (s.destroyed) return resolve(Date.now() - t0);
    const t = setTimeout(() => resolve(Infinity), limitMs);
    s.once('close', () => {
      clearTimeout(t);
      resolve(Date.now() - t0);
    });
  })));
  return Math.max(...times) / 1000;
}

async function timeouts() {
  const N = 100;
  const out = {};
  // BEEP: silent peers (no greeting) and slowloris peers (greeting, then one header byte a second).
  const port = await freePort();
  const child = await startChild(BEEP_MAIN, ['listen', '--port', String(port), '--profile', 'echo', '--greeting-timeout', '2000', '--idle-timeout', '3000'], port);
  const silent = [];
  const slow = [];
  const t0 = Date.now();
  const body = 'Content-Type: application/beep+xml\r\n\r\n<greeting/>';
  for (let i = 0; i < N; i++) {
    const a = net.connect(port, HOST);
    a.on('error', () => undefined);
    a.resume();
    silent.push(a);
    const b = net.connect(port, HOST);
    b.on('error', () => undefined);
    b.resume();
    b.on('connect', () => b.write(`RPY 0 0 . 0 ${body.length}\r\n${body}END\r\n`));
    slow.push(b);
  }
  const header = 'MSG 0 1 . 49 100\r\n';
  let k = 0;
  const drip = setInterval(() => {
    for (const b of slow) if (!b.destroyed && k < header.length) b.write(header[k]);
    k++;
  }, 1000);
  out.beepGreetingTimeout = { option: '--greeting-timeout 2000', peers: N, allClosedAfterSeconds: await closedWithin(silent, t0, 20_000) };
  out.beepIdleTimeout = { option: '--idle-timeout 3000', slowlorisPeers: N, allClosedAfterSeconds: await closedWithin(slow, t0, 20_000) };
  clearInterval(drip);
  await stopChild(child);
  // RESP: idle clients and clients trickling one byte of a command a second, with `timeout 2`.
  const rport = await freePort();
  const rchild = await startChild(BEAM_MAIN, ['serve', '--port', String(rport), '--timeout', '2'], rport);
  const idle = [];
  const t1 = Date.now();
  for (let i = 0; i < N; i++) {
    const s = net.connect(rport, HOST);
    s.on('error', () => undefined);
    s.resume();
    idle.push(s);
  }
  out.respIdleTimeout = { option: '--timeout 2', peers: N, allClosedAfterSeconds: await closedWithin(idle, t1, 20_000) };
  await stopChild(rchild);
  return out;
}

if (!opts['timeouts-only']) {
  console.log(JSON.stringify(await beepLoad()));
  console.log(JSON.stringify(await respLoad()));
}
console.log(JSON.stringify(await timeouts()));
process.exit(0);
