#!/usr/bin/env node
// The adversarial memory cases of docs/security.md ("Memory bounds") against real `beam serve` and `beep listen`
// processes with their DEFAULT limits: peak RSS of the server (sampled every 100 ms from /proc) and the slowest
// fresh client (PING / BEEP echo on a new connection, every 250 ms) while each case runs. Loopback only.
//
//   npx tsc -b && node bench/load/abuse.js [--case bulks|args|beep|beep-window|all] [--beam-main PATH] [--beep-main PATH]
//
// Cases:
//   bulks  three clients each send an unfinished 512 MiB bulk to `beam serve`
//   args   six pipelined `*1048576` commands of empty strings (about 6 MiB each) to `beam serve`; RSS after them
//   beep   20 sessions x 1000 echo channels whose peer never reads (its socket paused), against `beep listen`
//   beep-window  the same, but the peers read their sockets and never consume a reply (no window granted again)
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchOptions } from '../lib/args.js';
import { track, stopChild } from '../lib/children.js';
import { HOST, freePort, waitForPort } from '../lib/net.js';
import { ROOT } from '../lib/paths.js';

const opts = benchOptions('Usage: node bench/load/abuse.js [--case bulks|args|beep|beep-window|all] [--beam-main PATH] [--beep-main PATH]\n', {
  case: { type: 'string', default: 'all' },
  'beam-main': { type: 'string' },
  'beep-main': { type: 'string' },
});
const BEAM_MAIN = path.resolve(opts['beam-main'] ?? path.join(ROOT, 'packages/beam/dist/src/cli/main.js'));
const BEEP_MAIN = path.resolve(opts['beep-main'] ?? path.join(ROOT, 'packages/beep/dist/src/cli/main.js'));
const MiB = 1024 * 1024;

function rssOf(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Samples the server's RSS every 100 ms and runs bench/load/probe.js (a fresh client every 250 ms, in its own
 * process) until stop(); returns the peaks.
 */
function monitor(pid, kind, port) {
  const s = { peakRss: rssOf(pid), worstProbeMs: 0, probes: 0, failed: 0 };
  const t1 = setInterval(() => (s.peakRss = Math.max(s.peakRss, rssOf(pid))), 100);
  const probe = track(spawn(process.execPath, [path.join(ROOT, 'bench/load/probe.js'), kind, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] }));
  let rest = '';
  probe.stdout.on('data', (d) => {
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop();
    for (const l of lines) {
      const r = JSON.parse(l);
      if (process.env.PROBE_TRACE) console.error(new Date().toISOString(), 'probe', l, 'rss', mb(rssOf(pid)));
      s.probes++;
      s.worstProbeMs = Math.max(s.worstProbeMs, r.ms);
      if (r.error) s.failed++;
    }
  });
  return {
    stats: s,
    /** Worst probe since the last phase(); starts a new phase. */
    phase() {
      const w = s.worstProbeMs;
      s.worstProbeMs = 0;
      s.worstBefore = Math.max(s.worstBefore ?? 0, w);
      return w;
    },
    async stop() {
      clearInterval(t1);
      await stopChild(probe);
      return s;
    },
  };
}

async function startChild(main, args, port) {
  const child = track(spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let log = '';
  child.stderr.on('data', (d) => (log = (log + d.toString()).slice(-200_000)));
  await waitForPort(port, 15_000);
  return { child, log: () => log };
}

async function caseBulks() {
  const port = await freePort();
  const { child } = await startChild(BEAM_MAIN, ['serve', '--port', String(port)], port);
  const base = rssOf(child.pid);
  const mon = monitor(child.pid, 'resp', port);
  const chunk = Buffer.alloc(256 * 1024, 0x61);
  const clients = [0, 1, 2].map(() => net.connect(port, HOST));
  const closedBy = [];
  await Promise.all(clients.map((c, i) => new Promise((resolve) => {
    let reply = '';
    c.on('data', (d) => (reply += d.toString()));
    c.on('error', () => undefined);
    c.on('close', () => {
      closedBy[i] = reply.trim().slice(0, 100) || '(closed)';
      resolve();
    });
    c.on('connect', () => {
      c.write(`*3\r\n$3\r\nSET\r\n$2\r\nk${i}\r\n$${512 * MiB}\r\n`);
      let left = 512 * MiB - 1; // never finished
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!c.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void c.once('drain', pump);
        }
        setTimeout(() => c.destroy(), 2000); // sent everything but the last byte: give up
      };
      pump();
    });
  })));
  const s = await mon.stop();
  await stopChild(child);
  return { case: '3 clients x unfinished 512 MiB bulk (beam serve)', baseRssMiB: mb(base), peakRssMiB: mb(s.peakRss), worstFreshPingMs: s.worstProbeMs, probes: s.probes, failedProbes: s.failed, clients: closedBy };
}

async function caseArgs() {
  const port = await freePort();
  const { child } = await startChild(BEAM_MAIN, ['serve', '--port', String(port)], port);
  const base = rssOf(child.pid);
  const mon = monitor(child.pid, 'resp', port);
  const n = 1048576;
  const one = Buffer.concat([Buffer.from(`*${n}\r\n`), Buffer.alloc(n * 6, 0)]);
  const el = Buffer.from('$0\r\n\r\n');
  for (let i = 0; i < n; i++) el.copy(one, `*${n}\r\n`.length + i * 6);
  const c = net.connect(port, HOST);
  let replies = 0;
  c.on('data', (d) => (replies += d.toString().split('\r\n').filter((l) => l.startsWith('-') || l.startsWith('+')).length));
  await new Promise((r) => c.on('connect', r));
  for (let i = 0; i < 6; i++) c.write(one);
  const deadline = Date.now() + 120_000;
  while (replies < 6 && Date.now() < deadline) await sleep(50);
  const peak = mon.stats.peakRss;
  // Memory returned: RSS after the requests ran, once V8's memory reducer had time to run (it gives pages back
  // after a few seconds without allocation), while a probe still connects every 250 ms.
  await sleep(5000);
  const after5 = rssOf(child.pid);
  await sleep(25000);
  const after = rssOf(child.pid);
  const s = await mon.stop();
  c.destroy();
  await stopChild(child);
  return { case: '6 x *1048576 empty strings, 36 MiB sent (beam serve)', baseRssMiB: mb(base), peakRssMiB: mb(Math.max(peak, s.peakRss)), rssAfter5sMiB: mb(after5), rssAfter30sMiB: mb(after), replies, worstFreshPingMs: s.worstProbeMs, failedProbes: s.failed };
}

/**
 * `paused`: the peers stop reading their sockets (TCP back-pressure). `window`: they keep reading but never consume
 * a reply, so they grant no window again, and keep sending as long as the listener grants them window.
 */
async function caseBeep(mode = 'paused') {
  const { TEST_PROFILE_URIS, Session, bindSession } = await import('../../packages/beep/dist/src/index.js');
  const port = await freePort();
  const { child, log } = await startChild(BEEP_MAIN, ['listen', '--port', String(port), '--profile', 'echo'], port);
  const base = rssOf(child.pid);
  const mon = monitor(child.pid, 'beep', port);
  const SESSIONS = 20;
  const CHANNELS = 1000;
  const body = Buffer.alloc(16 * 1024, 0x61);
  const peers = [];
  for (let i = 0; i < SESSIONS; i++) {
    const sock = net.connect(port, HOST);
    await new Promise((r) => sock.once('connect', r));
    const session = new Session({ role: 'initiator', maxChannels: CHANNELS + 1 });
    session.on('error', () => undefined);
    bindSession(session, sock);
    await session.ready;
    const chans = await Promise.all(Array.from({ length: CHANNELS }, () => session.startChannel(TEST_PROFILE_URIS.echo)));
    peers.push({ sock, session, chans });
  }
  const setupWorst = mon.phase();
  const setupRss = mon.stats.peakRss;
  // Now every peer sends echo requests on every channel and reads none of the replies.
  for (const p of peers) {
    if (mode === 'paused') {
      p.sock.pause();
      for (const ch of p.chans) for (let k = 0; k < 8; k++) ch.request(body).catch(() => undefined);
    } else {
      for (const ch of p.chans) for (let k = 0; k < 32; k++) ch.requestMany(body);
    }
  }
  // The listener drops them (slowReaderTimeout, 30 s); a paused peer does not notice, so watch the server's log.
  const reasons = {};
  const closes = () => {
    for (const k of Object.keys(reasons)) delete reasons[k];
    for (const line of log().split('\n')) {
      if (!line.includes('session.close')) continue;
      try {
        const r = JSON.parse(line).reason;
        reasons[r] = (reasons[r] ?? 0) + 1;
      } catch {
        // a line cut by the log window
      }
    }
    // Probe sessions end with BEEP_TRANSPORT_CLOSED; the flooding ones are dropped by the listener.
    return Object.entries(reasons).reduce((a, [k, n]) => a + (k === 'BEEP_TRANSPORT_CLOSED' ? 0 : n), 0);
  };
  const t0 = Date.now();
  if (process.env.PROBE_TRACE) console.error(new Date().toISOString(), 'flood sent');
  while (Date.now() - t0 < 90_000 && closes() < SESSIONS) await sleep(200);
  const droppedAfterSeconds = (Date.now() - t0) / 1000;
  const s = await mon.stop();
  for (const p of peers) p.sock.destroy();
  await stopChild(child);
  return { case: `20 sessions x 1000 echo channels, peer never reads (${mode === 'paused' ? 'socket paused' : 'grants no window'}) (beep listen)`, baseRssMiB: mb(base), rssAfterSetupMiB: mb(setupRss), peakRssMiB: mb(s.peakRss), worstFreshEchoMsDuringSetup: setupWorst, worstFreshEchoMsDuringFlood: s.worstProbeMs, probes: s.probes, failedProbes: s.failed, closeReasons: reasons, droppedAfterSeconds };
}

const mb = (b) => Math.round(b / MiB);
const cases = { bulks: caseBulks, args: caseArgs, beep: () => caseBeep('paused'), 'beep-window': () => caseBeep('window') };
const which = opts.case === 'all' ? Object.keys(cases) : [opts.case];
for (const name of which) {
  if (!cases[name]) throw new Error(`unknown case ${name}`);
  const r = await cases[name]();
  console.log(JSON.stringify(r));
}
process.exit(0);
