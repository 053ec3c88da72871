import { parseArgs } from 'node:util';
import { bindError, renameFlags, serveMetrics, type MetricsServer } from '@beamgate/base';
import { parseHostPort, type RedisTarget } from '../worker/target.js';
import { BeamWorker, DEFAULT_LEASE_MS, DEFAULT_RECONCILE_MS } from '../worker/worker.js';
import { logLine, setLogLevel } from './log.js';
import { BeamMetrics } from './metrics.js';
import { intOption, parseServeArgs, UsageError } from './serve.js';
import { stopOnSignals } from './shutdown.js';

export const WORKER_HELP = `Usage: beam worker --context redis://HOST:PORT[/DB] [options]
       beam worker --cluster --context redis://SEED:PORT [--context ...] [options]
       beam worker --sentinel HOST:PORT [--sentinel ...] --master NAME [options]

Run Beam jobs for clients of a real Redis 7 server (standalone, Sentinel or Cluster), next to any
number of other workers and gateways. Clients speak the job protocol to that Redis. See docs/scale-out.md.

Options:
  --context URL               redis://[user:pw@]HOST:PORT[/DB], rediss://... or unix:/path; with
                              --cluster, a seed node (repeatable)
  --cluster                   the --context nodes are seeds of a Redis Cluster
  --sentinel HOST:PORT        a Sentinel (repeatable); with --master
  --master NAME               the master name the Sentinels monitor
  --pass PW                   password for --cluster nodes or the Sentinel-managed master
                              (--password still accepted)
  --db N                      database of the Sentinel-managed master (default 0)
  --exec NAMES                programs jobs may run, comma-separated (repeatable); none by default
  --max-jobs N                jobs this worker runs at once (default 256)
  --retain-finished-ms MS     keep finished jobs' keys this long (default 3600000; 0 = forever)
  --unstarted-ttl-ms MS       stop looking for a created job's start after this long (default 600000)
  --max-unstarted-jobs N      created, not yet started jobs the reconciliation pass watches (default 10000)
  --lease-ms MS               a worker silent this long is dead; its jobs end with status 255
                              (default ${DEFAULT_LEASE_MS})
  --reconcile-ms MS           reconciliation pass period: the most a missed notification delays a
                              job (default ${DEFAULT_RECONCILE_MS})
  --name NAME                 prefix of the worker id (default the host name)
  --metrics HOST:PORT         serve Prometheus /metrics and /healthz there (default off)
  --log-level LEVEL           silent, error, warn, info or debug (default info)
  -h, --help                  show this help
  -V, --version               print the version

Logs are JSON lines on stderr (time, level, name, msg, fields). SIGINT/SIGTERM kill running jobs (status 137),
withdraw the worker and exit 0; a second signal exits 1 at once.
`;

const SHARED_WITH_SERVE = ['exec', 'max-jobs', 'retain-finished-ms', 'unstarted-ttl-ms', 'max-unstarted-jobs'] as const;

export function parseWorkerArgs(argv: string[]) {
  const { values } = parseArgs({
    args: renameFlags(argv, { password: 'pass' }),
    options: {
      context: { type: 'string', multiple: true, default: [] },
      cluster: { type: 'boolean', default: false },
      sentinel: { type: 'string', multiple: true, default: [] },
      master: { type: 'string' },
      pass: { type: 'string' },
      db: { type: 'string' },
      exec: { type: 'string', multiple: true, default: [] },
      'max-jobs': { type: 'string' },
      'retain-finished-ms': { type: 'string' },
      'unstarted-ttl-ms': { type: 'string' },
      'max-unstarted-jobs': { type: 'string' },
      'lease-ms': { type: 'string' },
      'reconcile-ms': { type: 'string' },
      name: { type: 'string' },
      metrics: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return { help: true as const };
  // The engine's flags mean exactly what they mean for `beam serve`: parsed and checked by the same code.
  const serveArgv: string[] = [];
  for (const k of SHARED_WITH_SERVE) {
    const v = values[k];
    for (const x of Array.isArray(v) ? v : v === undefined ? [] : [v]) serveArgv.push(`--${k}`, x);
  }
  const { exec, jobs } = parseServeArgs(serveArgv);
  const contexts = values.context;
  let target: RedisTarget;
  if (values.sentinel.length > 0) {
    if (values.master === undefined) throw new UsageError('--sentinel needs --master NAME');
    if (contexts.length > 0 || values.cluster) throw new UsageError('--sentinel excludes --context and --cluster');
    const db = values.db === undefined ? undefined : intOption('--db', values.db, 0, 15);
    target = {
      kind: 'sentinel',
      sentinels: values.sentinel.map((s) => parseHostPort(s, '--sentinel')),
      name: values.master,
      ...(values.pass !== undefined ? { password: values.pass } : {}),
      ...(db !== undefined ? { db } : {}),
    };
  } else if (values.cluster) {
    if (contexts.length === 0) throw new UsageError('--cluster needs at least one --context redis://HOST:PORT seed');
    const nodes = contexts.map((c) => {
      const u = new URL(c);
      if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new UsageError(`--context ${c}: a cluster seed is redis://HOST:PORT`);
      return parseHostPort(`${u.hostname}:${u.port || '6379'}`, '--context');
    });
    const tls = contexts.some((c) => c.startsWith('rediss:'));
    target = { kind: 'cluster', nodes, ...(values.pass !== undefined ? { password: values.pass } : {}), ...(tls ? { tls } : {}) };
  } else {
    if (contexts.length !== 1) throw new UsageError('give one --context URL (several only with --cluster)');
    target = { kind: 'standalone', url: contexts[0]! };
  }
  const leaseMs = values['lease-ms'] === undefined ? undefined : intOption('--lease-ms', values['lease-ms'], 300, 2 ** 31);
  const reconcileIntervalMs = values['reconcile-ms'] === undefined ? undefined : intOption('--reconcile-ms', values['reconcile-ms'], 10, 2 ** 31);
  return {
    help: false as const,
    metrics: values.metrics,
    logLevel: values['log-level'],
    options: {
      target,
      exec,
      ...jobs,
      ...(leaseMs !== undefined ? { leaseMs } : {}),
      ...(reconcileIntervalMs !== undefined ? { reconcileIntervalMs } : {}),
      ...(values.name !== undefined ? { name: values.name } : {}),
    },
  };
}

function describe(t: RedisTarget): Record<string, unknown> {
  if (t.kind === 'standalone') return { context: t.url.replace(/\/\/[^@/]*@/, '//***@') };
  if (t.kind === 'cluster') return { cluster: t.nodes.map((n) => `${n.host}:${n.port}`) };
  return { sentinels: t.sentinels.map((n) => `${n.host}:${n.port}`), master: t.name };
}

export async function worker(argv: string[]): Promise<number> {
  const parsed = parseWorkerArgs(argv);
  if (parsed.help) {
    process.stdout.write(WORKER_HELP);
    return 0;
  }
  setLogLevel(parsed.logLevel);
  const { options } = parsed;
  const metrics = parsed.metrics !== undefined ? new BeamMetrics('worker') : undefined;
  let metricsServer: MetricsServer | undefined;
  if (metrics && parsed.metrics !== undefined) {
    metricsServer = await serveMetrics(parsed.metrics, metrics.registry).catch((e: unknown) => Promise.reject(bindError(e, '--metrics')));
  }
  const w = BeamWorker.create(options);
  w.on('claim', (id: number) => {
    metrics?.jobStart(id);
    logLine('info', 'job start', { id });
  });
  w.on('exit', (id: number, status: number) => {
    metrics?.jobExit(id, status);
    logLine('info', 'job exit', { id, status });
  });
  w.on('reaped', (id: number, lost: string) => logLine('warn', 'job of a lost worker ended', { id, worker: lost, status: 255 }));
  w.on('lease-lost', (wid: string) => logLine('warn', 'lease lost: running jobs killed, registering again', { worker: wid }));
  w.on('registered', (wid: string) => logLine('info', 'registered', { worker: wid }));
  w.on('config', (node: string, flags: string) => logLine('info', 'keyspace notifications enabled', { node, flags }));
  w.on('warning', (text: string) => logLine('warn', text));
  w.on('paused', (reason: string) => logLine('warn', 'paused: connections may not reach the master', { reason }));
  w.on('resumed', (runId: string) => logLine('info', 'resumed on the master', { runId }));
  w.on('switched', (from: string, to: string, what: { givenUp: number[]; republished: number[] }) =>
    logLine('warn', 'master changed: jobs re-checked', { from, to, givenUp: what.givenUp, republished: what.republished }),
  );
  await w.run();
  const m = metricsServer?.address;
  logLine('info', 'worker ready', { worker: w.id, ...describe(options.target), exec: options.exec, ...(m ? { metrics: `${m.address}:${m.port}` } : {}) });
  return stopOnSignals(
    async () => {
      await w.close();
      await metricsServer?.close();
      metrics?.close();
    },
    () => {},
  ).done;
}
