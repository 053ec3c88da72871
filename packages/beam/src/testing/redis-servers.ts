/**
 * Real redis-server, redis-sentinel and Redis Cluster processes for tests and benchmarks (127.0.0.1, ephemeral
 * ports, a temporary directory each). Not part of the library API: imported as `@beamgate/beam/testing`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BeamError } from '../errors.js';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

export function tempDir(prefix = 'beam-redis-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function run(cmd: string, args: string[], timeoutMs = 20000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Polls `fn` every 50 ms until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 15000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new BeamError('BEAM_TEST_SERVER', `timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

export const cli = (port: number, ...args: string[]): Promise<string> => run('redis-cli', ['-p', String(port), ...args]).then((r) => r.stdout.trim());

export interface Server {
  port: number;
  dir: string;
  proc: ChildProcess;
  /** SIGKILL, then wait for the exit (the directory stays, for a restart). */
  kill(): Promise<void>;
  /** kill() and remove the directory. */
  stop(): Promise<void>;
}

/** Starts `cmd` (redis-server or redis-sentinel) listening on `port` and waits until it answers PING. */
export async function startServer(cmd: string, args: string[], port: number, dir: string): Promise<Server> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  let output = '';
  const keep = (d: Buffer): void => void (output = (output + d.toString()).slice(-8000));
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const kill = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
  };
  const server: Server = {
    port,
    dir,
    proc,
    kill,
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(`${cmd} on ${port}`, async () => {
      if (proc.exitCode !== null) throw new BeamError('BEAM_TEST_SERVER', `${cmd} exited: ${output}`);
      return (await cli(port, 'PING')) === 'PONG';
    });
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

/** redis-server without persistence (unless `extra` asks for it) on `port` (default: a free one). */
export async function startRedisServer(extra: string[] = [], port?: number, dir = tempDir()): Promise<Server> {
  const p = port ?? (await freePort());
  const args = ['--port', String(p), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...extra];
  return startServer('redis-server', args, p, dir);
}

export interface RedisCluster {
  nodes: Server[];
  stop(): Promise<void>;
}

/** A Redis Cluster of `masters` masters without replicas, created with `redis-cli --cluster create`. */
export async function startCluster(masters = 3): Promise<RedisCluster> {
  const nodes: Server[] = [];
  const stop = async (): Promise<void> => void (await Promise.all(nodes.map((n) => n.stop())));
  try {
    for (let i = 0; i < masters; i++) {
      // The bus port is chosen too: port + 10000 may be out of range for an ephemeral port.
      const bus = await freePort();
      nodes.push(
        await startRedisServer(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000', '--cluster-port', String(bus)]),
      );
    }
    const r = await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], 60000);
    if (r.code !== 0) throw new BeamError('BEAM_TEST_SERVER', `redis-cli --cluster create failed: ${r.stdout}${r.stderr}`);
    for (const n of nodes) {
      await waitFor(`cluster_state:ok on ${n.port}`, async () => (await cli(n.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'), 30000);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { nodes, stop };
}

export interface SentinelSetup {
  master: Server;
  replica: Server;
  sentinel: Server;
  name: string;
  stop(): Promise<void>;
}

/** A master, one replica and one Sentinel (quorum 1) monitoring them as `name`. */
export async function startSentinelSetup(name = 'beammaster'): Promise<SentinelSetup> {
  const started: Server[] = [];
  const stop = async (): Promise<void> => void (await Promise.all(started.map((s) => s.stop())));
  try {
    const master = await startRedisServer();
    started.push(master);
    const replica = await startRedisServer(['--replicaof', '127.0.0.1', String(master.port)]);
    started.push(replica);
    await waitFor('replica in sync', async () => (await cli(replica.port, 'INFO', 'replication')).includes('master_link_status:up'));
    const port = await freePort();
    const dir = tempDir('beam-sentinel-');
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`,
        '',
      ].join('\n'),
    );
    const sentinel = await startServer('redis-sentinel', [conf], port, dir);
    started.push(sentinel);
    await waitFor('the sentinel to see the replica', async () => (await cli(port, 'SENTINEL', 'REPLICAS', name)).includes(String(replica.port)), 20000);
    return { master, replica, sentinel, name, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
