import path from 'node:path';
import { parseArgs } from 'node:util';
import { bindError, readUsersFile, renameFlags, serveMetrics, UsageError, type MetricsServer } from '@beamgate/base';
import type { Context } from '../context/context.js';
import type { Dispatcher } from '../context/dispatch.js';
import { attachJobs, type JobEngine } from '../jobs/engine.js';
import type { JobEngineOptions, JobLimits } from '../jobs/options.js';
import { createServer } from '../server/server.js';
import { isLoopbackBind } from '../server/auth.js';
import type { AuthThrottleOptions } from '../server/auth-throttle.js';
import { logLine, setLogLevel } from './log.js';
import { BeamMetrics } from './metrics.js';
import { stopOnSignals } from './shutdown.js';
import { SERVE_TLS_OPTIONS, SERVE_TLS_RENAMES, serverTlsFrom } from './tls-flags.js';

export { UsageError };

/** Default --port: Redis' 6379 plus one, so a beam serve runs next to a Redis (the gateway's RESP port is 6381). */
export const DEFAULT_SERVE_PORT = 6380;

export const SERVE_HELP = `Usage: beam serve [options]

Serve the Beam job protocol (and the Redis data commands) over RESP.

Options:
  --host HOST                 TCP address to listen on (default 127.0.0.1)
  --port PORT                 TCP port (default 6380; 0 picks a free one)
  --unix PATH                 listen on a unix socket instead of TCP
  --exec NAMES                programs jobs may run, comma-separated (repeatable); none by default
  --requirepass PW            require AUTH with this password
  --user NAME:PASSWORD        a named user (repeatable): AUTH NAME PASSWORD; with any, the default user is off
                              unless --requirepass gives it a password
  --users-file FILE           more users, one NAME:PASSWORD per line; read again on SIGHUP
  --protected-mode yes|no     Redis' protected mode (default yes): without any password, clients other than
                              127.0.0.1, ::1 and unix sockets are refused with -DENIED
  --enable-debug-command no|yes|local        allow DEBUG (default no, as Redis 7)
  --enable-protected-configs no|yes|local    allow CONFIG SET dir/dbfilename (default no, as Redis 7)
  --auth-free-failures N      failed AUTHs per address and per user before lockouts start (default 5)
  --auth-lockout-ms MS        first lockout, doubled by each further failure (default 1000)
  --auth-max-lockout-ms MS    longest lockout (default 60000)
  --dir DIR                   where SAVE/BGSAVE/SHUTDOWN SAVE write dump.rdb (default: the working directory)
  --tls                       serve TLS with a certificate generated at start (for localhost, 127.0.0.1, ::1);
                              its path is logged: redis-cli --tls --cacert PATH
  --cert FILE                 serve TLS on --port (or --unix) with this PEM certificate (with --key)
  --key FILE                  PEM private key of --cert
  --cacert FILE               ask TLS clients for a certificate signed by these PEM CAs
  --context-per-connection    give every connection its own keyspace and jobs
  --max-jobs N                jobs running at once (default 256)
  --retain-finished-ms MS     keep finished jobs' keys this long (default 3600000; 0 = forever)
  --unstarted-ttl-ms MS       reclaim jobs created but not started within this long (default 600000; 0 = never)
  --max-unstarted-jobs N      jobs created and not yet started at once (default 10000)
  --client-query-buffer-limit BYTES
                              request bytes one client may hold (default 1073741824, as Redis)
  --maxmemory-clients BYTES   request bytes all clients together may hold; over it the clients holding
                              the most are closed (default 536870912; 0 = no bound)
  --timeout SECONDS           close clients idle this long (default 0 = never, as Redis)
  --kill-grace-ms MS          a signalled job still running after this long is killed (default 5000)
  --metrics HOST:PORT         serve Prometheus /metrics and /healthz there (default off)
  --log-level LEVEL           silent, error, warn, info or debug (default info)
  -h, --help                  show this help
  -V, --version               print the version

Logs are JSON lines on stderr (time, level, name, msg, fields). SIGINT/SIGTERM (or a client's SHUTDOWN) send
TERM to every running job (to the whole process group of an exec'd program), kill what is left after
--kill-grace-ms and close; a second signal kills every job at once and exits 1. SIGHUP reads --cert/--key/--cacert
and --users-file again: connections already open keep theirs, new ones get the new.
Exit status: 0 after a signal or SHUTDOWN, 1 when the shutdown fails, 2 usage error or the port is taken.
`;

/** `beam serve`'s flags: parses and range-checks them (throws UsageError or parseArgs' TypeError). */
export function parseServeArgs(argv: string[]) {
  const { values } = parseArgs({
    args: renameFlags(argv, SERVE_TLS_RENAMES),
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: String(DEFAULT_SERVE_PORT) },
      unix: { type: 'string' },
      exec: { type: 'string', multiple: true, default: [] },
      requirepass: { type: 'string' },
      user: { type: 'string', multiple: true, default: [] },
      'users-file': { type: 'string' },
      'protected-mode': { type: 'string' },
      'enable-debug-command': { type: 'string' },
      'enable-protected-configs': { type: 'string' },
      'auth-free-failures': { type: 'string' },
      'auth-lockout-ms': { type: 'string' },
      'auth-max-lockout-ms': { type: 'string' },
      dir: { type: 'string' },
      ...SERVE_TLS_OPTIONS,
      'context-per-connection': { type: 'boolean', default: false },
      'max-jobs': { type: 'string' },
      'retain-finished-ms': { type: 'string' },
      'unstarted-ttl-ms': { type: 'string' },
      'max-unstarted-jobs': { type: 'string' },
      'client-query-buffer-limit': { type: 'string' },
      'maxmemory-clients': { type: 'string' },
      timeout: { type: 'string' },
      'kill-grace-ms': { type: 'string' },
      metrics: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  // --help wins over bad values, as before.
  if (values.help) return { values, port: 0, exec: [] as string[], jobs: {}, users: [] as Array<[string, string]>, config: {}, authThrottle: {} };
  const opt = (flag: string, text: string | undefined, min: number, max: number): number | undefined =>
    text === undefined ? undefined : intOption(flag, text, min, max);
  const maxJobs = opt('--max-jobs', values['max-jobs'], 1, 1e6);
  const maxUnstartedJobs = opt('--max-unstarted-jobs', values['max-unstarted-jobs'], 1, 1e7);
  const limits: Partial<JobLimits> = {
    ...(maxJobs !== undefined ? { maxJobs } : {}),
    ...(maxUnstartedJobs !== undefined ? { maxUnstartedJobs } : {}),
  };
  const retainFinishedMs = opt('--retain-finished-ms', values['retain-finished-ms'], 0, 2 ** 31);
  const unstartedTtlMs = opt('--unstarted-ttl-ms', values['unstarted-ttl-ms'], 0, 2 ** 31);
  const users = values.user.map((u): [string, string] => {
    const colon = u.indexOf(':');
    if (colon <= 0 || colon === u.length - 1) throw new UsageError(`--user expects NAME:PASSWORD, got '${u.slice(0, Math.max(colon, 0)) || u.slice(0, 20)}...'`);
    return [u.slice(0, colon), u.slice(colon + 1)];
  });
  if (values['users-file'] !== undefined) users.push(...readUsersFile('users-file', values['users-file']));
  const config: Record<string, string> = {};
  const choice = (flag: string, value: string | undefined, allowed: string[]): void => {
    if (value === undefined) return;
    if (!allowed.includes(value.toLowerCase())) throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}, got '${value}'`);
    config[flag] = value.toLowerCase();
  };
  choice('protected-mode', values['protected-mode'], ['yes', 'no']);
  choice('enable-debug-command', values['enable-debug-command'], ['no', 'yes', 'local']);
  choice('enable-protected-configs', values['enable-protected-configs'], ['no', 'yes', 'local']);
  const freeFailures = opt('--auth-free-failures', values['auth-free-failures'], 0, 1e6);
  const baseLockoutMs = opt('--auth-lockout-ms', values['auth-lockout-ms'], 1, 2 ** 31);
  const maxLockoutMs = opt('--auth-max-lockout-ms', values['auth-max-lockout-ms'], 1, 2 ** 31);
  const authThrottle: AuthThrottleOptions = {
    ...(freeFailures !== undefined ? { freeFailures } : {}),
    ...(baseLockoutMs !== undefined ? { baseLockoutMs } : {}),
    ...(maxLockoutMs !== undefined ? { maxLockoutMs } : {}),
  };
  const cqbl = opt('--client-query-buffer-limit', values['client-query-buffer-limit'], 1024 * 1024, Number.MAX_SAFE_INTEGER);
  if (cqbl !== undefined) config['client-query-buffer-limit'] = String(cqbl);
  const mmc = opt('--maxmemory-clients', values['maxmemory-clients'], 0, Number.MAX_SAFE_INTEGER);
  if (mmc !== undefined) config['maxmemory-clients'] = String(mmc);
  const timeout = opt('--timeout', values.timeout, 0, 2 ** 31);
  if (timeout !== undefined) config.timeout = String(timeout);
  const killGraceMs = opt('--kill-grace-ms', values['kill-grace-ms'], 0, 2 ** 31 - 1);
  return {
    users,
    config,
    authThrottle,
    values,
    port: intOption('--port', values.port, 0, 65535),
    exec: values.exec.flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== ''),
    jobs: {
      ...(Object.keys(limits).length > 0 ? { limits } : {}),
      ...(retainFinishedMs !== undefined ? { retainFinishedMs } : {}),
      ...(unstartedTtlMs !== undefined ? { unstartedTtlMs } : {}),
      ...(killGraceMs !== undefined ? { killGraceMs } : {}),
    } satisfies Omit<JobEngineOptions, 'dispatcher'>,
  };
}

export async function serve(argv: string[]): Promise<number> {
  const { values, port, exec, jobs, users, config, authThrottle } = parseServeArgs(argv);
  if (values.help) {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  setLogLevel(values['log-level']);
  let tls = serverTlsFrom(values);
  const metrics = values.metrics !== undefined ? new BeamMetrics('serve') : undefined;

  const engines = new Set<JobEngine>();
  const setup = (dispatcher: Dispatcher, context: Context): void => {
    const engine = attachJobs(context, {
      dispatcher,
      exec,
      ...jobs,
    });
    engine.on('start', (id: number, name: string) => {
      metrics?.jobStart(id);
      logLine('info', 'job start', { id, name });
    });
    engine.on('exit', (id: number, status: number) => {
      metrics?.jobExit(id, status);
      logLine('info', 'job exit', { id, status });
    });
    if (metrics) metrics.countCommands(dispatcher);
    engines.add(engine);
  };
  const server = createServer({
    host: values.host,
    port,
    ...(values.unix !== undefined ? { path: values.unix } : {}),
    ...(values.requirepass !== undefined ? { requirepass: values.requirepass } : {}),
    ...(users.length > 0 ? { users } : {}),
    authThrottle,
    contextPerConnection: values['context-per-connection'],
    ...(tls ? { tls: tls.options } : {}),
    config: { ...config, ...(values.dir !== undefined ? { dir: path.resolve(values.dir) } : {}) },
    setup,
  });
  server.on('error', (e: Error) => logLine('error', 'server error', { error: e.message }));
  server.on('authFailure', (f) => logLine('warn', 'auth failure', { ...f }));
  server.on('denied', (address: string) => {
    metrics?.refusals.inc({ limit: 'protected_mode' });
    logLine('warn', 'protected mode: client refused', { address });
  });
  let metricsServer: MetricsServer | undefined;
  let address: Awaited<ReturnType<typeof server.listen>>;
  try {
    if (metrics && values.metrics !== undefined) metricsServer = await serveMetrics(values.metrics, metrics.registry).catch((e: unknown) => Promise.reject(bindError(e, '--metrics')));
    address = await server.listen().catch((e: unknown) => Promise.reject(bindError(e, values.unix !== undefined ? '--unix' : '--port')));
  } catch (e) {
    tls?.cleanup();
    await metricsServer?.close();
    metrics?.close();
    throw e;
  }
  const m = metricsServer?.address;
  logLine('info', 'listening', {
    ...(typeof address === 'string' ? { unix: address } : { host: address.address, port: address.port }),
    exec,
    contextPerConnection: values['context-per-connection'],
    users: server.auth.userNames,
    authRequired: server.auth.required,
    ...(tls ? { tls: true, certFile: tls.certFile, ...(tls.fingerprint256 ? { fingerprint256: tls.fingerprint256 } : {}) } : { tls: false }),
    ...(m ? { metrics: `${m.address}:${m.port}` } : {}),
  });

  if (server.protectedMode && values.unix === undefined && !isLoopbackBind(values.host)) {
    logLine('warn', 'protected mode: no password is set, so only clients from 127.0.0.1, ::1 or a unix socket are served; '
      + 'set --requirepass or --user to serve other hosts (or --protected-mode no on a trusted network)', { host: values.host });
  }

  process.on('SIGHUP', () => {
    try {
      const next = tls ? serverTlsFrom(values) : undefined;
      const fresh = parseServeArgs(argv).users;
      server.reloadSecurity({ ...(next ? { tls: next.options } : {}), users: fresh });
      if (next) {
        tls?.cleanup();
        tls = next;
      }
      logLine('info', 'reloaded', { users: server.auth.userNames, ...(tls ? { certFile: tls.certFile } : {}) });
    } catch (e) {
      logLine('error', 'reload failed: keeping the previous certificate and users', { err: e });
    }
  });

  const stopper = stopOnSignals(
    async () => {
      // TERM first (every job's process group); the engines kill what is left after the kill grace.
      await Promise.all([...engines].map((e) => e.shutdown()));
      await server.close();
      await metricsServer?.close();
      metrics?.close();
      tls?.cleanup();
    },
    // The exit hook of the job engine kills every job's process group.
    () => tls?.cleanup(),
  );
  // A client's SHUTDOWN stops the process the same way.
  server.on('shutdown', () => stopper.trigger('SHUTDOWN'));
  return stopper.done;
}

export function intOption(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || n < min || n > max) throw new UsageError(`${flag} must be an integer ${min}..${max}, got '${text}'`);
  return n;
}
