#!/usr/bin/env node
// Beam replication benchmark (loopback only):
//  1. snapshot speed: capture pause, RDB generation keys/s and MB/s, longest event-loop stall over the whole snapshot
//     (capture + generation) while writes to random keys run between chunks (so the copy-on-write path is exercised);
//  2. full sync of that dataset to a real redis-server replica (time to master_link_status:up);
//  3. replication lag p50/p99 to a real redis-server replica, idle and under a pipelined write load.
//
//   npx tsc -b packages/beam && node bench/beam/sync.js [--quick] [--keys N] [--markdown] [--snapshot-only]
//
// Needs redis-server and redis-cli on PATH (Debian: redis-server, redis-tools).
import { spawn, execFileSync } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Context, createServer, ReplicationMaster, sync } from '../../packages/beam/dist/src/index.js';
import { benchOptions } from '../lib/args.js';
import { track } from '../lib/children.js';
import { HOST, freePort, waitForPort } from '../lib/net.js';
import { ROOT } from '../lib/paths.js';
import { fmt, cpuSummary } from '../lib/report.js';

const BEAM_MAIN = path.join(ROOT, 'packages/beam/dist/src/cli/main.js');

const opts = benchOptions('Usage: node bench/beam/sync.js [--quick] [--keys N] [--markdown] [--snapshot-only]\n', {
  quick: { type: 'boolean', default: false },
  keys: { type: 'string' },
  markdown: { type: 'boolean', default: false },
  'snapshot-only': { type: 'boolean', default: false },
});
const KEYS = Number(opts.keys ?? (opts.quick ? 200_000 : 1_000_000));
const LOAD_SECONDS = opts.quick ? 2 : 5;
const PROBE_MS = 5;

/** Minimal pipelining RESP client: replies as strings/numbers/arrays, push messages to `onPush`. */
class Client {
  constructor(sock) {
    this.sock = sock;
    this.queue = [];
    this.buf = Buffer.alloc(0);
    this.onPush = null;
    sock.setNoDelay(true);
    sock.on('data', (d) => this.feed(d));
    sock.on('error', () => {});
  }
  static connect(port) {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, HOST);
      s.once('error', reject);
      s.once('connect', () => resolve(new Client(s)));
    });
  }
  send(args) {
    let out = `*${args.length}\r\n`;
    for (const a of args) out += `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`;
    this.sock.write(out);
  }
  call(...args) {
    return new Promise((resolve, reject) => {
      this.queue.push({ resolve, reject });
      this.send(args);
    });
  }
  feed(d) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      const r = this.parse(0);
      if (r === null) break;
      this.buf = this.buf.subarray(r.end);
      if (Array.isArray(r.value) && (r.value[0] === 'message' || r.value[0] === 'pmessage') && this.onPush) this.onPush(r.value);
      else {
        const q = this.queue.shift();
        if (q) (r.value instanceof Error ? q.reject : q.resolve)(r.value);
      }
    }
  }
  parse(p) {
    const b = this.buf;
    const eol = b.indexOf('\r\n', p);
    if (eol < 0) return null;
    const line = b.toString('latin1', p + 1, eol);
    switch (b[p]) {
      case 43: return { value: line, end: eol + 2 };
      case 45: return { value: new Error(line), end: eol + 2 };
      case 58: return { value: Number(line), end: eol + 2 };
      case 36: {
        const n = Number(line);
        if (n < 0) return { value: null, end: eol + 2 };
        if (eol + 2 + n + 2 > b.length) return null;
        return { value: b.toString('utf8', eol + 2, eol + 2 + n), end: eol + 2 + n + 2 };
      }
      case 42: {
        const n = Number(line);
        const arr = [];
        let q = eol + 2;
        for (let i = 0; i < n; i++) {
          const r = this.parse(q);
          if (r === null) return null;
          arr.push(r.value);
          q = r.end;
        }
        return { value: arr, end: q };
      }
      default:
        throw new Error(`bad reply byte ${b[p]}`);
    }
  }
  close() {
    this.sock.destroy();
  }
}

async function waitFor(what, fn, ms = 120_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function startReplica(masterPort) {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'beam-sync-bench-'));
  const child = track(spawn('redis-server', ['--port', String(port), '--bind', HOST, '--dir', dir, '--save', '', '--appendonly', 'no',
    '--replicaof', HOST, String(masterPort)], { stdio: 'ignore' }));
  child.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  let c = null;
  await waitFor('redis-server', async () => {
    try {
      c = await Client.connect(port);
      return true;
    } catch {
      return false;
    }
  }, 10_000);
  return { port, child, client: c };
}

/** Percentile `p` of an ascending array: the element at floor(p% of the length). */
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

const B = (s) => Buffer.from(s, 'latin1');
const SET = B('SET');

/** KEYS string keys `key:<i>` in `ctx`; returns the internal client that wrote them. */
function fillKeys(ctx) {
  const c = ctx.createInternalClient();
  for (let i = 0; i < KEYS; i++) ctx.call(c, [SET, B(`key:${i}`), B(`value:${i}:xxxxxxxx`)]);
  return c;
}

// ---- 1. snapshot speed ---------------------------------------------------------------------------

/** Longest gap between the ticks of a 1 ms timer, minus the period: the worst event-loop stall while it ran. */
function stallProbe() {
  let last = performance.now();
  let max = 0;
  const timer = setInterval(() => {
    const t = performance.now();
    max = Math.max(max, t - last - 1);
    last = t;
  }, 1);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(max, performance.now() - last - 1);
    },
  };
}

async function snapshotSpeed() {
  const ctx = new Context({ activeExpireInterval: 0 });
  const c = fillKeys(ctx);
  const results = [];
  for (let round = 0; round < 2; round++) {
    const master = new ReplicationMaster(ctx);
    const probe = stallProbe();
    await sleep(20);
    const t0 = performance.now();
    const snap = master.snapshot();
    const captureMs = performance.now() - t0;
    let bytes = 0;
    const t1 = performance.now();
    // A write between every chunk, to keys spread over the keyspace (many not yet written): what a serving master
    // does while it streams.
    let writes = 0;
    for await (const chunk of sync.rdbChunks(snap, { replId: 'x'.repeat(40), replOffset: 0 })) {
      bytes += chunk.length;
      ctx.call(c, [SET, B(`key:${(writes++ * 104_729) % KEYS}`), B('changed')]);
    }
    const genMs = performance.now() - t1;
    const maxStallMs = probe.stop();
    const preserved = snap.preservedCount ?? 0;
    snap.release();
    results.push({ captureMs, genMs, bytes, maxStallMs, writes, preserved });
  }
  ctx.close();
  const r = results.at(-1);
  return {
    keys: KEYS,
    captureMs: r.captureMs,
    genMs: r.genMs,
    keysPerSec: KEYS / (r.genMs / 1000),
    mbPerSec: r.bytes / 1024 / 1024 / (r.genMs / 1000),
    rdbMB: r.bytes / 1024 / 1024,
    maxStallMs: r.maxStallMs,
    writes: r.writes,
    preserved: r.preserved,
  };
}

// ---- 2. full sync to a real replica ---------------------------------------------------------------

async function fullSync() {
  const server = createServer({ host: HOST, port: 0 });
  const { port } = await server.listen();
  const ctx = server.context;
  fillKeys(ctx);
  const t0 = performance.now();
  const rep = await startReplica(port);
  await waitFor('master_link_status:up', async () => String(await rep.client.call('INFO', 'replication')).includes('master_link_status:up'));
  const ms = performance.now() - t0;
  const dbsize = await rep.client.call('DBSIZE');
  rep.client.close();
  rep.child.kill('SIGKILL');
  await server.close();
  ctx.close();
  if (dbsize !== KEYS) throw new Error(`replica holds ${dbsize} keys, expected ${KEYS}`);
  return { ms };
}

// ---- 3. replication lag -----------------------------------------------------------------------------

async function lag() {
  const port = await freePort();
  const beam = track(spawn(process.execPath, [BEAM_MAIN, 'serve', '--port', String(port)], { stdio: 'ignore' }));
  await waitForPort(port);
  const rep = await startReplica(port);
  await waitFor('master_link_status:up', async () => String(await rep.client.call('INFO', 'replication')).includes('master_link_status:up'));
  await rep.client.call('CONFIG', 'SET', 'notify-keyspace-events', 'K$');
  const sub = await Client.connect(rep.port);
  const sent = new Map();
  const lags = [];
  // The replica notifies `set` on `__keyspace@0__:probe:<id>` when it applies the probe write.
  sub.onPush = (m) => {
    const t = performance.now();
    if (m[0] !== 'pmessage' || m[3] !== 'set') return;
    const id = Number(String(m[2]).slice('__keyspace@0__:probe:'.length));
    const t0 = sent.get(id);
    if (t0 !== undefined) {
      lags.push(t - t0);
      sent.delete(id);
    }
  };
  await sub.call('PSUBSCRIBE', '__keyspace@0__:probe:*');
  const master = await Client.connect(port);
  const writer = await Client.connect(port);

  async function measure(seconds, withLoad) {
    lags.length = 0;
    let stop = false;
    let writes = 0;
    const load = (async () => {
      if (!withLoad) return;
      const value = 'x'.repeat(64);
      while (!stop) {
        const batch = [];
        for (let i = 0; i < 200; i++) batch.push(writer.call('SET', `load:${(writes + i) % 100_000}`, value));
        writes += 200;
        await Promise.all(batch);
      }
    })();
    let id = lags.length + sent.size + Math.floor(Math.random() * 1e9);
    const first = id;
    const end = performance.now() + seconds * 1000;
    const t0 = performance.now();
    while (performance.now() < end) {
      sent.set(++id, performance.now());
      void master.call('SET', `probe:${id}`, '1', 'PX', '20000');
      await sleep(PROBE_MS);
    }
    stop = true;
    await load;
    const elapsed = (performance.now() - t0) / 1000;
    await sleep(200);
    const s = [...lags].sort((a, b) => a - b);
    sent.clear();
    return { probes: id - first, seen: s.length, p50: pct(s, 50), p99: pct(s, 99), max: s.at(-1), writesPerSec: writes / elapsed };
  }

  const idle = await measure(LOAD_SECONDS, false);
  const loaded = await measure(LOAD_SECONDS, true);
  for (const c of [sub, master, writer, rep.client]) c.close();
  rep.child.kill('SIGKILL');
  beam.kill('SIGTERM');
  return { idle, loaded };
}

// ---- main ---------------------------------------------------------------------------------------------

function have(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const snap = await snapshotSpeed();
const out = [];
out.push(`Snapshot of ${fmt(snap.keys)} string keys (${fmt(snap.rdbMB, 1)} MB RDB): capture pause ${fmt(snap.captureMs, 1)} ms, `
  + `generation ${fmt(snap.genMs)} ms = ${fmt(snap.keysPerSec)} keys/s, ${fmt(snap.mbPerSec, 1)} MB/s, `
  + `longest event-loop stall over the whole snapshot ${fmt(snap.maxStallMs, 1)} ms `
  + `(${fmt(snap.writes)} writes served meanwhile, ${fmt(snap.preserved)} keys preserved)`);
if (opts['snapshot-only']) {
  // parts 2 and 3 skipped
} else if (have('redis-server')) {
  const fs = await fullSync();
  out.push(`Full sync of ${fmt(KEYS)} keys to redis-server ${execFileSync('redis-server', ['--version']).toString().match(/v=(\S+)/)?.[1] ?? ''}: `
    + `${fmt(fs.ms)} ms to master_link_status:up (includes the replica's start)`);
  const l = await lag();
  for (const [name, r] of [['idle', l.idle], ['under load', l.loaded]]) {
    out.push(`Replication lag ${name}: p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms, max ${fmt(r.max, 1)} ms `
      + `(${r.seen}/${r.probes} probes${r.writesPerSec ? `, ${fmt(r.writesPerSec)} pipelined SET/s on the master` : ''})`);
  }
} else {
  out.push('redis-server not found: full sync and lag skipped');
}
const header = `node ${process.version}, ${cpuSummary()}`;
if (opts.markdown) process.stdout.write(`${header}\n\n${out.map((l) => `- ${l}`).join('\n')}\n`);
else process.stdout.write(`${header}\n${out.join('\n')}\n`);
process.exit(0);
