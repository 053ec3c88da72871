/** `beep listen`: serve the built-in test profiles, log sessions as JSON lines on stderr, optionally /metrics. */
import net from 'node:net';
import { bindError, METRICS_FLAG, serveMetrics, type MetricsServer } from '@beamgate/base';
import { listenOn, type Listener, type ListenOptions } from '../api/connect.js';
import type { Session } from '../session/session.js';
import { TEST_PROFILE_URIS, testProfiles, type TestProfileName } from '../testing/test-profiles.js';
import { log, reasonFields } from './log.js';
import { ListenMetrics } from './metrics.js';
import { intOpt, sizeOpt, parseCommand, peerOptionsFrom, PEER_OPTIONS, stringOpt, UsageError, type CommandSpec } from './options.js';
import { traceDuplex } from './trace.js';
import { LISTEN_SECURITY_OPTIONS, LISTEN_SECURITY_RENAMES, listenSecurityFrom, listenerSecurityFields, logSessionSecurity } from './security-flags.js';

/** Default --port: the gateway's BEEP port is 10288, so both run side by side. */
export const DEFAULT_LISTEN_PORT = 10289;

export const LISTEN_SPEC: CommandSpec = {
  name: 'listen',
  usage: `beep listen [--host 127.0.0.1] [--port ${DEFAULT_LISTEN_PORT}] [--unix PATH] [--profile echo|ans|sink|hold ...] [options]`,
  summary: 'Accept BEEP sessions and serve the built-in test profiles.',
  options: {
    host: { type: 'string', arg: 'HOST', help: 'address to bind (default 127.0.0.1)' },
    port: { type: 'string', short: 'p', arg: 'PORT', help: `TCP port (default ${DEFAULT_LISTEN_PORT}; 0 = ephemeral, the bound port is logged)` },
    unix: { type: 'string', arg: 'PATH', help: 'listen on a unix socket instead of TCP' },
    profile: { type: 'string', multiple: true, arg: 'NAME', help: 'test profile to offer, repeatable (default: all)' },
    'max-sessions': { type: 'string', arg: 'N', help: 'refuse sessions beyond N with 421 (default unlimited)' },
    'max-queued': { type: 'string', arg: 'BYTES', help: 'unsent octets per session over which new work waits (default 4M)' },
    'max-total-queued': {
      type: 'string',
      arg: 'BYTES',
      help: 'unsent octets of all sessions; over it the slowest readers are dropped (default 256M; 0 = no bound)',
    },
    'slow-reader-timeout': { type: 'string', arg: 'MS', help: 'drop a session over --max-queued this long (default 30000)' },
    'idle-timeout': { type: 'string', arg: 'MS', help: 'close sessions with no channel and no complete frame this long (default 300000)' },
    'greeting-timeout': { type: 'string', arg: 'MS', help: 'close sessions whose greeting does not arrive this long (default 30000)' },
    ...METRICS_FLAG,
    ...LISTEN_SECURITY_OPTIONS,
    ...PEER_OPTIONS,
  },
  renames: LISTEN_SECURITY_RENAMES,
  notes: [
    'Test profiles:',
    `  echo  ${TEST_PROFILE_URIS.echo}  RPY with the same entity`,
    `  ans   ${TEST_PROFILE_URIS.ans}   body "N,SIZE": N ANS of SIZE octets, then NUL`,
    `  sink  ${TEST_PROFILE_URIS.sink}  reads a MSG of any size as a stream, empty RPY`,
    `  hold  ${TEST_PROFILE_URIS.hold}  never answers (for pending-reply checks)`,
    '',
    'Log lines (stderr, JSON: time, level, name, msg, fields): listening, session.open, session.close, reloaded,',
    'shutdown, stopped; channel.open with --log-level debug.',
    'SIGHUP: read --cert/--key/--cacert and --users-file again (--tls: a new certificate); sessions already open keep theirs, new ones get the new.',
    'SIGINT/SIGTERM: stop accepting, release live sessions (2 s grace), exit 0.',
    'Exit status: 0 after a signal, 1 when the shutdown fails, 2 usage error or the address is taken.',
  ].join('\n'),
};

function profileNames(v: unknown): TestProfileName[] {
  const list = Array.isArray(v) ? (v as string[]) : Object.keys(TEST_PROFILE_URIS);
  for (const n of list) {
    if (!(n in TEST_PROFILE_URIS)) throw new UsageError(`--profile: unknown test profile ${JSON.stringify(n)} (echo, ans, sink, hold)`);
  }
  return list as TestProfileName[];
}

function listenOn_(server: net.Server, path: string | undefined, port: number, host: string, flag: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const fail = (e: Error): void => reject(bindError(e, flag));
    server.once('error', fail);
    const done = (): void => {
      server.off('error', fail);
      resolve();
    };
    if (path !== undefined) server.listen(path, done);
    else server.listen(port, host, done);
  });
}

export async function runListen(argv: string[]): Promise<number> {
  const parsed = parseCommand(LISTEN_SPEC, argv);
  if (parsed === undefined) return 0;
  const { values } = parsed;
  const path = stringOpt(values, 'unix');
  const port = intOpt(values, 'port', 0, 65535) ?? DEFAULT_LISTEN_PORT;
  const host = stringOpt(values, 'host') ?? '127.0.0.1';
  const maxSessions = intOpt(values, 'max-sessions', 1, 2 ** 31 - 1);
  const maxQueuedBytes = sizeOpt(values, 'max-queued');
  const maxTotalQueuedBytes = sizeOpt(values, 'max-total-queued');
  const slowReaderTimeout = intOpt(values, 'slow-reader-timeout', 0, 2 ** 31 - 1);
  const idleTimeout = intOpt(values, 'idle-timeout', 0, 2 ** 31 - 1);
  const greetingTimeout = intOpt(values, 'greeting-timeout', 0, 2 ** 31 - 1);
  const trace = values['trace'] === true;
  const names = profileNames(values['profile']);
  const metricsAt = stringOpt(values, 'metrics');
  const metrics = metricsAt !== undefined ? new ListenMetrics() : undefined;
  const profiles = testProfiles(names).map((p) => metrics?.profile(p) ?? p);

  const options = (): ListenOptions => {
    const security = listenSecurityFrom(values);
    if (security.sasl !== undefined && metrics !== undefined) {
      const onAuthFailure = security.sasl.onAuthFailure;
      security.sasl.onAuthFailure = (f) => {
        metrics.authFailures.inc({ listener: 'beep' });
        onAuthFailure?.(f);
      };
    }
    return {
      ...peerOptionsFrom(values),
      profiles,
      ...security,
      ...(maxSessions !== undefined ? { maxSessions } : {}),
      ...(maxQueuedBytes !== undefined ? { maxQueuedBytes } : {}),
      ...(maxTotalQueuedBytes !== undefined ? { maxTotalQueuedBytes } : {}),
      ...(slowReaderTimeout !== undefined ? { slowReaderTimeout } : {}),
      ...(idleTimeout !== undefined ? { idleTimeout } : {}),
      ...(greetingTimeout !== undefined ? { greetingTimeout } : {}),
    };
  };

  const server = net.createServer();
  let nextId = 1;
  const onSession = (session: Session): void => {
    const id = nextId++;
    metrics?.session(session);
    log('session.open', { session: id });
    logSessionSecurity(session, id, log);
    // One line per channel is most of a channel flood's cost (20,000 starts in seconds): debug level only.
    session.on('channel', (ch) => log('channel.open', { session: id, channel: ch.number, profile: ch.profile }, 'debug'));
    session.once('close', (reason?: Error) => log('session.close', { session: id, ...reasonFields(reason) }));
  };
  // The Listener is bound to no server event: connections are routed here so that SIGHUP can swap in a Listener
  // with new certificates and users while the sessions already open stay with theirs.
  const make = (prev?: Listener): Listener => {
    const l = listenOn(server, { ...options(), ...(prev ? { sendBudget: prev.sendBudget } : {}) }, 'beep:routed');
    l.on('session', onSession);
    if (prev) {
      // --max-sessions holds over both: the new Listener counts the sessions the old one still has.
      for (const s of prev.sessions) {
        l.sessions.add(s);
        s.once('close', () => l.sessions.delete(s));
      }
    }
    return l;
  };
  let listener = make();
  server.on('connection', (sock: net.Socket) => {
    if (trace) traceDuplex(sock, (line) => process.stderr.write(line + '\n'), `[${nextId}] `);
    metrics?.socket(sock);
    if (metrics && maxSessions !== undefined && listener.sessions.size >= maxSessions) metrics.refusals.inc({ limit: 'max_sessions' });
    listener.accept(sock);
  });

  let metricsServer: MetricsServer | undefined;
  // Signal handlers go in before anything is logged: a supervisor may signal as soon as it reads `listening`.
  const stopped = new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        log('shutdown.forced', { signal }, 'warn');
        process.exit(1);
      }
      stopping = true;
      log('shutdown', { signal, sessions: listener.sessions.size });
      Promise.all([listener.close(2000), metricsServer?.close()]).then(
        () => {
          log('stopped');
          resolve(0);
        },
        (e: unknown) => {
          log('stopped', { error: (e as Error).message }, 'error');
          resolve(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGHUP', () => {
      try {
        listener = make(listener);
        log('reloaded', { sessions: listener.sessions.size, ...listenerSecurityFields(listener) });
      } catch (e) {
        log('reload failed: keeping the previous certificates and users', { err: e }, 'error');
      }
    });
  });

  if (metricsAt !== undefined && metrics !== undefined) {
    try {
      metricsServer = await serveMetrics(metricsAt, metrics.registry);
    } catch (e) {
      throw bindError(e, '--metrics');
    }
  }
  await listenOn_(server, path, port, host, path !== undefined ? '--unix' : '--port');
  server.on('error', (e) => log('server error', { err: e }, 'error'));
  const m = metricsServer?.address;
  const metricsFields = m ? { metrics: `${m.address}:${m.port}` } : {};
  const addr = server.address();
  if (typeof addr === 'string' || addr === null) log('listening', { path: addr ?? path, profiles: names, ...metricsFields });
  else log('listening', { host: addr.address, port: addr.port, profiles: names, ...listenerSecurityFields(listener), ...metricsFields });

  return stopped;
}
