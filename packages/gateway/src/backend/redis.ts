/**
 * A real Redis (standalone, Sentinel-managed or Cluster) as the gateway's context, through ioredis
 * (docs/scale-out.md §7). Jobs run on the `beam worker`s sharing that Redis, or on an in-process one
 * (`--worker`). Job commands go through one shared client; blocking reads get a connection of their own per
 * command client. RESP-profile channels relay raw RESP to the master (not available on a Cluster).
 */
import { openSocket, resolveTarget, worker as W, BeamWorker, type JobHandler, type JobLimits } from '@beamgate/beam';
import type { ClientTlsOptions } from '@beamgate/base';
import { ContextUnavailableError } from '../errors.js';
import { refusing } from './refusal.js';
import { checkPublished } from './remote-check.js';
import { RespRelay } from './resp-relay.js';
import { BeamCommandError, type Backend, type CommandClient, type HandlerCheck, type RespSession, type RespSessionHooks, type Value } from './types.js';

export interface RedisBackendOptions {
  target: W.RedisTarget;
  /** TLS options for `rediss://` (e.g. a CA). */
  tls?: Pick<ClientTlsOptions, 'ca' | 'servername' | 'rejectUnauthorized'>;
  connectTimeoutMs?: number;
  /** Largest reply relayed on a RESP-profile channel. */
  maxRespMessage: number;
  /** Run a worker in this process too, with these options. */
  worker?: { exec: readonly string[]; handlers: Record<string, JobHandler>; limits?: Partial<JobLimits> };
}

/** How long a handler catalog read from the workers is reused. */
const CATALOG_TTL_MS = 500;
/** On a Cluster, a multi-key BLPOP whose keys live on different nodes polls them with this period. */
const CLUSTER_POLL_S = 0.05;

const BLOCKING = new Set(['blpop', 'brpop', 'blmove', 'brpoplpush', 'blmpop', 'bzpopmin', 'bzpopmax', 'bzmpop']);
const SUMMED = new Set(['del', 'unlink', 'exists', 'touch']);

function mapError(e: unknown): Error {
  if (e instanceof Error && e.name === 'ReplyError') return new BeamCommandError(e.message, { cause: e });
  return new ContextUnavailableError(`context unavailable: ${(e as Error).message}`, { cause: e });
}

class RedisCommandClient implements CommandClient {
  private blocker: W.RedisLike | undefined;
  private closed = false;

  constructor(
    private readonly main: W.RedisLike,
    private readonly done: (c: RedisCommandClient) => void,
  ) {}

  async call(argv: ReadonlyArray<Buffer | string>): Promise<Value> {
    if (this.closed) throw new ContextUnavailableError('client closed');
    const name = String(argv[0]).toLowerCase();
    const args = argv.slice(1) as Array<Buffer | string>;
    const cluster = W.isCluster(this.main);
    try {
      if (cluster && SUMMED.has(name) && args.length > 1) {
        const rs = await Promise.all(args.map((k) => this.main.callBuffer(name, [k]) as Promise<number>));
        return rs.reduce((a, b) => a + Number(b), 0);
      }
      if (BLOCKING.has(name)) {
        if (cluster && name === 'blpop' && args.length > 2) return await this.pollLeft(args);
        return (await this.blocking().callBuffer(name, args)) as Value;
      }
      return (await this.main.callBuffer(name, args)) as Value;
    } catch (e) {
      throw mapError(e);
    }
  }

  /**
   * BLPOP over keys in different slots (a job's out and wait lists): the keys are tried in order with LPOP, and
   * between rounds the first key is blocked on for a short while, so output still arrives at once and the exit
   * within CLUSTER_POLL_S.
   */
  private async pollLeft(args: Array<Buffer | string>): Promise<Value> {
    const keys = args.slice(0, -1);
    const timeout = Number(String(args[args.length - 1]));
    const deadline = timeout > 0 ? Date.now() + timeout * 1000 : Infinity;
    for (;;) {
      for (const k of keys) {
        const v = (await this.main.callBuffer('lpop', [k])) as Buffer | null;
        if (v !== null) return [Buffer.isBuffer(k) ? k : Buffer.from(k), v];
      }
      const left = deadline - Date.now();
      if (left <= 0) return null;
      const r = (await this.blocking().callBuffer('blpop', [keys[0]!, String(Math.min(CLUSTER_POLL_S, left / 1000))])) as Value;
      if (r !== null) return r;
    }
  }

  private blocking(): W.RedisLike {
    if (!this.blocker) {
      this.blocker = W.isCluster(this.main) ? this.main.duplicate() : this.main.duplicate();
      this.blocker.on('error', () => {});
    }
    return this.blocker;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Aborts a pending blocking read with its connection.
    this.blocker?.disconnect();
    this.done(this);
  }
}

export class RedisBackend implements Backend {
  readonly kind = 'remote' as const;
  readonly main: W.RedisLike;
  private readonly clients = new Set<RedisCommandClient>();
  private readonly resps = new Set<RespSession>();
  private catalog: { at: number; value: Promise<W.WorkerCatalog> } | undefined;
  private reaper: W.Reaper;
  private reapTimer: NodeJS.Timeout | undefined;
  /** The in-process worker (`--worker`). */
  worker: BeamWorker | undefined;

  private constructor(private readonly opts: RedisBackendOptions) {
    this.main = W.connectRedis(opts.target, {
      // A gateway answers its peer (421) instead of waiting for an absent Redis.
      maxRetriesPerRequest: 2,
      connectTimeout: opts.connectTimeoutMs ?? 5000,
      ...(opts.tls ? { tls: opts.tls } : {}),
    });
    this.main.on('error', () => {});
    this.reaper = new W.Reaper(this.main);
  }

  /** Connects (PING must answer), starts the in-process worker if asked, and reaps for lost workers. */
  static async create(opts: RedisBackendOptions): Promise<RedisBackend> {
    const b = new RedisBackend(opts);
    try {
      await W.whenReady(b.main, opts.connectTimeoutMs ?? 5000, true);
      await refusing('the context does not answer PING', b.main.ping().catch((e: unknown) => Promise.reject(mapError(e))));
      if (opts.worker) {
        b.worker = await BeamWorker.start({
          target: opts.target,
          exec: opts.worker.exec,
          handlers: opts.worker.handlers,
          ...(opts.worker.limits ? { limits: opts.worker.limits } : {}),
        });
      }
    } catch (e) {
      await b.close();
      if (e instanceof ContextUnavailableError) throw e;
      throw new ContextUnavailableError(`cannot use the context: ${(e as Error).message}`, { cause: e });
    }
    // Gateways reap too, so that a job whose worker died ends even where every worker is gone.
    b.reapTimer = setInterval(() => void b.reaper.pass(), W.DEFAULT_RECONCILE_MS);
    b.reapTimer.unref();
    return b;
  }

  async openClient(): Promise<CommandClient> {
    const c = new RedisCommandClient(this.main, (x) => this.clients.delete(x));
    this.clients.add(c);
    return c;
  }

  /**
   * The verdict from the catalogs of the live workers; with none live, from a `beam serve` context's
   * `/beam/handlers`, else 'maybe' (the job waits for a worker).
   */
  async check(name: string, args: readonly string[], client: CommandClient): Promise<HandlerCheck> {
    const now = Date.now();
    if (!this.catalog || now - this.catalog.at > CATALOG_TTL_MS) this.catalog = { at: now, value: W.readWorkerCatalog(this.main) };
    let cat: W.WorkerCatalog | undefined;
    try {
      cat = await this.catalog.value;
    } catch (e) {
      const err = mapError(e);
      // A server without scripting (a `beam serve` context) has no workers: its own catalog answers.
      if (!(err instanceof BeamCommandError)) {
        this.catalog = undefined;
        throw err;
      }
    }
    if (cat && cat.workers > 0) return cat.check(name, args);
    return checkPublished(client, name, args);
  }

  async openResp(hooks: RespSessionHooks): Promise<RespSession> {
    const t = this.opts.target;
    if (t.kind === 'cluster') throw new ContextUnavailableError('the RESP profile is not available on a Redis Cluster context: use a cluster client');
    let target: Parameters<typeof openSocket>[0];
    let db = 0;
    let tls: boolean = false;
    if (t.kind === 'standalone') {
      target = resolveTarget({ url: t.url });
      db = W.targetDb(t);
      tls = t.url.startsWith('rediss:');
    } else {
      // The master the Sentinels name now: where the shared client is connected.
      const s = (this.main as unknown as { stream?: { remoteAddress?: string; remotePort?: number } }).stream;
      if (!s?.remoteAddress || !s.remotePort) throw new ContextUnavailableError('the master is not reachable right now');
      target = resolveTarget({ host: s.remoteAddress, port: s.remotePort });
      db = t.db ?? 0;
    }
    const tlsOpt = tls ? (this.opts.tls ?? true) : undefined;
    const { socket, ready } = openSocket(target, tlsOpt);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ContextUnavailableError('context connect timed out'));
      }, this.opts.connectTimeoutMs ?? 5000);
      socket.once(ready, () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(new ContextUnavailableError(`cannot reach the context: ${e.message}`, { cause: e }));
      });
    });
    const s = new RespRelay(socket, hooks, this.opts.maxRespMessage);
    if (db) await s.exec([Buffer.from('SELECT'), Buffer.from(String(db))]);
    const close = s.close.bind(s);
    s.close = () => {
      this.resps.delete(s);
      close();
    };
    this.resps.add(s);
    return s;
  }

  async close(): Promise<void> {
    clearInterval(this.reapTimer);
    for (const c of [...this.clients]) c.close();
    for (const r of [...this.resps]) r.close();
    await this.worker?.close().catch(() => {});
    this.main.disconnect();
  }
}
