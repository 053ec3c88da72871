/** `beep listen`: serve the built-in test profiles, log sessions as JSON lines on stderr. */
import net from 'node:net';
import { listenOn, type Listener } from '../api/connect.js';
import type { Session } from '../session/session.js';
import { TEST_PROFILE_URIS, testProfiles, type TestProfileName } from '../testing/test-profiles.js';
import { log, reasonFields } from './log.js';
import { intOpt, sizeOpt, parseCommand, peerOptionsFrom, PEER_OPTIONS, stringOpt, UsageError, type CommandSpec } from './options.js';
import { traceDuplex } from './trace.js';
import { LISTEN_SECURITY_OPTIONS, listenSecurityFrom, listenerSecurityFields, logSessionSecurity } from './security-flags.js';

export const LISTEN_SPEC: CommandSpec = {
  name: 'listen',
  usage: 'beep listen [--host 127.0.0.1] --port P [--unix PATH] [--profile echo|ans|sink|hold ...] [options]',
  summary: 'Accept BEEP sessions and serve the built-in test profiles.',
  options: {
    host: { type: 'string', arg: 'HOST', help: 'address to bind (default 127.0.0.1)' },
    port: { type: 'string', short: 'p', arg: 'PORT', help: 'TCP port (0 = ephemeral; the bound port is logged)' },
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
    'log-level': { type: 'string', arg: 'LEVEL', help: 'info (default) or debug (adds a channel.open line per channel)' },
    ...LISTEN_SECURITY_OPTIONS,
    ...PEER_OPTIONS,
  },
  notes: [
    'Test profiles:',
    `  echo  ${TEST_PROFILE_URIS.echo}  RPY with the same entity`,
    `  ans   ${TEST_PROFILE_URIS.ans}   body "N,SIZE": N ANS of SIZE octets, then NUL`,
    `  sink  ${TEST_PROFILE_URIS.sink}  reads a MSG of any size as a stream, empty RPY`,
    `  hold  ${TEST_PROFILE_URIS.hold}  never answers (for pending-reply checks)`,
    '',
    'Log lines (stderr, JSON): listening, session.open, session.close, shutdown, stopped; channel.open at debug.',
    'SIGINT/SIGTERM: stop accepting, release live sessions (2 s grace), exit 0.',
  ].join('\n'),
};

function profileNames(v: unknown): TestProfileName[] {
  const list = Array.isArray(v) ? (v as string[]) : Object.keys(TEST_PROFILE_URIS);
  for (const n of list) {
    if (!(n in TEST_PROFILE_URIS)) throw new UsageError(`--profile: unknown test profile ${JSON.stringify(n)} (echo, ans, sink, hold)`);
  }
  return list as TestProfileName[];
}

export async function runListen(argv: string[]): Promise<number> {
  const parsed = parseCommand(LISTEN_SPEC, argv);
  if (parsed === undefined) return 0;
  const { values } = parsed;
  const path = stringOpt(values, 'unix');
  const port = intOpt(values, 'port', 0, 65535);
  if (path === undefined && port === undefined) throw new UsageError('--port or --unix is required');
  const host = stringOpt(values, 'host') ?? '127.0.0.1';
  const maxSessions = intOpt(values, 'max-sessions', 1, 2 ** 31 - 1);
  const maxQueuedBytes = sizeOpt(values, 'max-queued');
  const maxTotalQueuedBytes = sizeOpt(values, 'max-total-queued');
  const slowReaderTimeout = intOpt(values, 'slow-reader-timeout', 0, 2 ** 31 - 1);
  const idleTimeout = intOpt(values, 'idle-timeout', 0, 2 ** 31 - 1);
  const greetingTimeout = intOpt(values, 'greeting-timeout', 0, 2 ** 31 - 1);
  const trace = values['trace'] === true;
  const level = stringOpt(values, 'log-level') ?? 'info';
  if (level !== 'info' && level !== 'debug') throw new UsageError(`--log-level: expected info or debug, got ${JSON.stringify(level)}`);
  const names = profileNames(values['profile']);

  const server = net.createServer();
  let nextId = 1;
  if (trace) {
    // Registered before the Listener's own handler, so the tap is in place when the session binds.
    server.on('connection', (sock: net.Socket) => {
      traceDuplex(sock, (line) => process.stderr.write(line + '\n'), `[${nextId}] `);
    });
  }
  const listener: Listener = listenOn(server, {
    ...peerOptionsFrom(values),
    profiles: testProfiles(names),
    ...listenSecurityFrom(values),
    ...(maxSessions !== undefined ? { maxSessions } : {}),
    ...(maxQueuedBytes !== undefined ? { maxQueuedBytes } : {}),
    ...(maxTotalQueuedBytes !== undefined ? { maxTotalQueuedBytes } : {}),
    ...(slowReaderTimeout !== undefined ? { slowReaderTimeout } : {}),
    ...(idleTimeout !== undefined ? { idleTimeout } : {}),
    ...(greetingTimeout !== undefined ? { greetingTimeout } : {}),
  });
  listener.on('session', (session: Session) => {
    const id = nextId++;
    log('session.open', { session: id });
    logSessionSecurity(session, id, log);
    // One line per channel is most of a channel flood's cost (20,000 starts in seconds): debug only.
    if (level === 'debug') session.on('channel', (ch) => log('channel.open', { session: id, channel: ch.number, profile: ch.profile }));
    session.once('close', (reason?: Error) => log('session.close', { session: id, ...reasonFields(reason) }));
  });
  server.on('error', (e) => log('error', { message: e.message }));

  // Signal handlers go in before anything is logged: a supervisor may signal as soon as it reads `listening`.
  const stopped = new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        log('shutdown.forced', { signal });
        process.exit(1);
      }
      stopping = true;
      log('shutdown', { signal, sessions: listener.sessions.size });
      listener.close(2000).then(
        () => {
          log('stopped');
          resolve(0);
        },
        (e: unknown) => {
          log('stopped', { error: (e as Error).message });
          resolve(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = (): void => {
      server.off('error', reject);
      resolve();
    };
    if (path !== undefined) server.listen(path, done);
    else server.listen(port ?? 0, host, done);
  });
  const addr = server.address();
  if (typeof addr === 'string' || addr === null) log('listening', { path: addr ?? path, profiles: names });
  else log('listening', { host: addr.address, port: addr.port, profiles: names, ...listenerSecurityFields(listener) });

  return stopped;
}
