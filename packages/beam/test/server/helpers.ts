import net from 'node:net';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer, type BeamServer, type BeamServerOptions } from '../../src/server/server.js';
import { hasRedisServer, RespConn, startRedis } from '../context/helpers.js';

export async function startServer(opts: BeamServerOptions = {}): Promise<{ server: BeamServer; port: number }> {
  const server = createServer({ host: '127.0.0.1', port: 0, contextOptions: { activeExpireInterval: 0 }, ...opts });
  const a = await server.listen();
  if (typeof a === 'string') throw new Error('expected a TCP address');
  return { server, port: a.port };
}

/** A server that `serverPerTest` starts before each test; `port` and `server` follow `restart`. */
export interface PerTestServer {
  server: BeamServer;
  port: number;
  /** Runs `cleanup` (e.g. closing a client) after the test, before the server closes. */
  track(cleanup: () => unknown): void;
  /** Closes the server and starts a new one with `opts`, for a test that needs other options. */
  restart(opts?: BeamServerOptions): Promise<void>;
}

/** Registers mocha hooks (call inside `describe`): a fresh server per test, closed after its tracked cleanups. */
export function serverPerTest(): PerTestServer {
  const cleanups: Array<() => unknown> = [];
  const fixture: PerTestServer = {
    server: undefined as unknown as BeamServer,
    port: 0,
    track: (cleanup) => void cleanups.push(cleanup),
    restart: async (opts) => {
      await fixture.server.close();
      ({ server: fixture.server, port: fixture.port } = await startServer(opts));
    },
  };
  beforeEach(async () => {
    ({ server: fixture.server, port: fixture.port } = await startServer());
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
    await fixture.server.close();
  });
  return fixture;
}

export interface RawResult {
  data: Buffer;
  closed: boolean;
}

/**
 * Sends bytes on a fresh connection and collects the reply until `done(data)` says it is complete
 * (then waits `settle` ms for anything extra) or the server closes, or `timeout` ms pass.
 */
export function rawExchange(
  port: number, send: Buffer, done: (data: Buffer) => boolean, settle = 20, timeout = 2000,
): Promise<RawResult> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    let finished = false;
    let settleTimer: NodeJS.Timeout | null = null;
    const finish = (closed: boolean): void => {
      if (finished) return;
      finished = true;
      clearTimeout(overall);
      if (settleTimer) clearTimeout(settleTimer);
      s.destroy();
      resolve({ data, closed });
    };
    const overall = setTimeout(() => finish(false), timeout);
    s.on('data', (d: Buffer) => {
      data = Buffer.concat([data, d]);
      if (done(data) && !settleTimer) settleTimer = setTimeout(() => finish(false), settle);
    });
    s.on('error', () => undefined);
    s.on('close', () => finish(true));
    s.write(send);
  });
}

/** Runs a CLI and returns its stdout (rejects on a non-zero exit). */
export function runCli(cmd: string, args: string[], timeoutMs = 30000): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(t);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} exited with ${code}: ${err}${out}`));
    });
  });
}

/** One RESP2 connection to a Beam server and one to a real redis-server, for differential tests. */
export interface DifferentialPair {
  ours: RespConn;
  theirs: RespConn;
}

/**
 * Registers mocha hooks (call inside `describe`) that start both servers for the whole suite and stop them after;
 * the suite is skipped when redis-server is not installed (nothing to compare against).
 */
export function differentialPair(): DifferentialPair {
  const pair = {} as DifferentialPair;
  let redis: { proc: ChildProcess; port: number } | undefined;
  let server: BeamServer | undefined;
  before(async function () {
    if (!hasRedisServer()) {
      this.skip();
      return;
    }
    redis = await startRedis();
    pair.theirs = await RespConn.connect(redis.port);
    let port: number;
    ({ server, port } = await startServer());
    pair.ours = await RespConn.connect(port);
  });
  after(async () => {
    pair.theirs?.close();
    pair.ours?.close();
    redis?.proc.kill();
    await server?.close();
  });
  return pair;
}
