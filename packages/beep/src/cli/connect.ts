/**
 * `beep connect`: open a channel, send the messages (in order) and print their replies, or measure throughput with
 * --count. Every wait (TCP connect, greeting, TLS, SASL, start, each reply, each close) is bounded by --timeout;
 * each channel is closed before the session.
 */
import net from 'node:net';
import { parseTarget as parseTargetText, secondsFlag } from '@beamgate/base';
import { connect } from '../api/connect.js';
import type { Channel } from '../session/channel.js';
import type { IncomingMessage } from '../session/message.js';
import type { Session } from '../session/session.js';
import { BeepErrReply } from '../session/reply-sinks.js';
import { TEST_PROFILE_URIS, testProfileUri } from '../testing/test-profiles.js';
import { intOpt, parseCommand, peerOptionsFrom, PEER_OPTIONS, stringOpt, UsageError, type CommandSpec } from './options.js';
import { traceDuplex } from './trace.js';
import { CONNECT_SECURITY_OPTIONS, CONNECT_SECURITY_RENAMES, connectSecurityFrom } from './security-flags.js';
import { answerInput, JOB_PROFILE_URI, jobRequest } from './job-mode.js';
import { WaitTimeoutError, within } from './wait-limit.js';

/** Default of --timeout, in seconds. */
export const DEFAULT_CONNECT_TIMEOUT_S = 60;

export const CONNECT_SPEC: CommandSpec = {
  name: 'connect',
  usage:
    'beep connect TARGET --profile URI|echo|ans|sink [--content XML] [--msg DATA ... | --stdin [--max-stdin BYTES]]\n' +
    '       [--count N --size S --channels C] [--timeout SECONDS]\n' +
    '       beep connect TARGET --profile job --content \'<job name="cat"><arg>cat</arg></job>\' [--msg XML ...] [--stdin]',
  summary:
    'TARGET is HOST:PORT, beep://HOST:PORT or beeps://HOST:PORT (TLS first). Start a channel and send the messages\n' +
    'in order: RPY bodies and ANS bodies (as they come) go to stdout, an ERR (code and text) to stderr with exit\n' +
    'status 1. With --count, send N messages instead and print the throughput.\n' +
    'With --profile job (the gateway\'s urn:beamgate:profile:job): the messages default to <run/>, job output\n' +
    'stream 1 goes to stdout and 2 to stderr as it comes, --stdin answers the gateway\'s <input/>, and the exit\n' +
    'status is the job\'s.',
  options: {
    unix: { type: 'string', arg: 'PATH', help: 'connect to a unix socket instead of HOST:PORT' },
    profile: { type: 'string', arg: 'URI', help: 'profile URI, or echo, ans, sink for the test profiles' },
    msg: { type: 'string', short: 'm', multiple: true, arg: 'DATA', help: 'message body (default empty); repeat to send several, in order' },
    content: { type: 'string', arg: 'TEXT', help: 'content to piggyback in the start (e.g. an XML element), sent as CDATA (alias --start-content)' },
    serverName: { type: 'string', arg: 'NAME', help: "the start's serverName attribute (RFC 3080 §2.3.1.2)" },
    timeout: { type: 'string', short: 't', arg: 'SECONDS', help: 'limit on every wait for the peer (default 60); exit 2 when it passes' },
    stdin: { type: 'boolean', help: 'read the message body from stdin (--profile job: stream it as the job\'s input)' },
    'max-stdin': { type: 'string', arg: 'BYTES', help: 'refuse a --stdin body larger than this (default 64M; it is held in memory)' },
    count: { type: 'string', short: 'n', arg: 'N', help: 'throughput mode: send N messages in total' },
    size: { type: 'string', short: 's', arg: 'BYTES', help: 'throughput mode: body size of each message (default 100)' },
    channels: { type: 'string', short: 'c', arg: 'C', help: 'throughput mode: spread the messages over C channels (default 1)' },
    depth: { type: 'string', arg: 'D', help: 'throughput mode: messages in flight per channel (default 128)' },
    json: { type: 'boolean', help: 'throughput mode: print the result as one JSON object' },
    ...CONNECT_SECURITY_OPTIONS,
    ...PEER_OPTIONS,
  },
  renames: { ...CONNECT_SECURITY_RENAMES, 'start-content': 'content' },
  notes:
    'Exit status: 0 success, 1 ERR reply or failed exchange, 2 usage or connection error or timeout;\n' +
    'with --profile job, the job\'s exit status.\n' +
    'A trailing newline is added only when stdout is a terminal and the output does not end with one.',
};

type Target = { host: string; port: number } | { path: string };

/** TARGET (HOST:PORT, beep://, beeps:// or unix:PATH) or --unix PATH; `tls` for beeps://. */
export function parseTarget(hostPort: string | undefined, unix: string | undefined): Target & { tls?: boolean } {
  if (unix !== undefined) return { path: unix };
  if (hostPort === undefined) throw new UsageError('TARGET (HOST:PORT, beep://HOST:PORT or --unix PATH) is required');
  const t = parseTargetText(hostPort, { schemes: ['beep', 'beeps'], defaultPort: 10288, what: 'TARGET' });
  if (t.kind === 'unix') return { path: t.path };
  if (t.port === 0) throw new UsageError('TARGET: port 0 is not a port to connect to');
  return { host: t.host, port: t.port, ...(t.tls ? { tls: true } : {}) };
}

/** Default of --max-stdin: the body is sent as one message, so it is held in memory whole. */
export const DEFAULT_MAX_STDIN = 64 * 1024 * 1024;

/** Read all of stdin, refusing (without buffering further) once it exceeds `limit` octets. */
async function readStdin(limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of process.stdin) {
    total += (c as Buffer).length;
    if (total > limit) {
      process.stdin.destroy();
      throw new UsageError(`--stdin: input exceeds --max-stdin (${limit} octets)`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks, total);
}

function openSocket(target: Target, trace: boolean, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = 'path' in target ? net.connect({ path: target.path }) : net.connect(target);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new WaitTimeoutError(`no TCP connection within ${timeoutMs / 1000} s (--timeout)`));
    }, timeoutMs);
    sock.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.removeAllListeners('error');
      if (trace) traceDuplex(sock, (line) => process.stderr.write(line + '\n'));
      resolve(sock);
    });
  });
}

/** Reply bodies go to stdout; the last octet written decides the trailing newline on a terminal. */
const stdout = {
  last: -1,
  write(data: Buffer): Promise<void> {
    if (data.length > 0) this.last = data[data.length - 1] as number;
    return new Promise((resolve) => {
      if (process.stdout.write(data)) resolve();
      else process.stdout.once('drain', resolve);
    });
  },
  /** A newline for the prompt's sake, only on a terminal and only when the output lacks one. */
  finish(): void {
    if (process.stdout.isTTY && this.last !== -1 && this.last !== 0x0a) process.stdout.write('\n');
  },
};

function printErr(e: unknown): void {
  if (e instanceof BeepErrReply) process.stderr.write(`ERR ${e.replyCode} ${e.message}\n`);
  else {
    const { code, replyCode } = e as { code?: string; replyCode?: number };
    process.stderr.write(`error: ${code ? `${code}: ` : ''}${replyCode ? `${replyCode} ` : ''}${(e as Error).message}\n`);
  }
}

/** One request: stream the RPY body (or the ANS bodies) to stdout as it arrives, whatever its size. */
async function oneShot(ch: Channel, body: Buffer, timeoutMs: number): Promise<number> {
  try {
    const reply = await within(timeoutMs, 'reply', ch.requestStream(body));
    if (reply.stream !== undefined) {
      const it = reply.stream[Symbol.asyncIterator]();
      for (;;) {
        const r = await within(timeoutMs, 'more of the reply', it.next() as Promise<IteratorResult<Buffer>>);
        if (r.done) break;
        await stdout.write(r.value);
      }
    }
    return 0;
  } catch (e) {
    if (e instanceof WaitTimeoutError) throw e;
    printErr(e);
    return 1;
  }
}

interface ThroughputResult {
  profile: string;
  channels: number;
  messages: number;
  size: number;
  seconds: number;
  msgsPerSec: number;
  MBps: number;
  errors: number;
}

async function throughput(channels: Channel[], uri: string, count: number, size: number, depth: number, progress: () => void): Promise<ThroughputResult> {
  const nch = channels.length;
  const body = Buffer.alloc(size);
  for (let i = 0; i < size; i++) body[i] = 0x41 + (i % 26);
  const checkEcho = uri === TEST_PROFILE_URIS.echo;
  let errors = 0;
  let firstError: unknown;
  const check = (r: IncomingMessage): void => {
    progress();
    if (checkEcho && !r.payload.equals(body)) errors++;
  };
  const start = process.hrtime.bigint();
  await Promise.all(
    channels.map(async (ch, i) => {
      let left = Math.floor(count / nch) + (i < count % nch ? 1 : 0);
      const lane = async (): Promise<void> => {
        while (left > 0) {
          left--;
          try {
            check(await ch.request(body));
          } catch (e) {
            progress();
            errors++;
            firstError ??= e;
          }
        }
      };
      await Promise.all(Array.from({ length: depth }, lane));
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (firstError !== undefined) printErr(firstError);
  const round = (x: number): number => Math.round(x * 100) / 100;
  return {
    profile: uri,
    channels: nch,
    messages: count,
    size,
    seconds: round(seconds),
    msgsPerSec: Math.round(count / seconds),
    MBps: round((count * size) / seconds / 1e6),
    errors,
  };
}

function table(r: ThroughputResult): string {
  const rows: Array<[string, string]> = [
    ['profile', r.profile],
    ['channels', String(r.channels)],
    ['messages', `${r.messages} x ${r.size} octets`],
    ['seconds', String(r.seconds)],
    ['msgs/s', String(r.msgsPerSec)],
    ['MB/s', String(r.MBps)],
    ['errors', String(r.errors)],
  ];
  return rows.map(([k, v]) => `${k.padEnd(9)} ${v}`).join('\n') + '\n';
}

export async function runConnect(argv: string[]): Promise<number> {
  const parsed = parseCommand(CONNECT_SPEC, argv);
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`);
  const target = parseTarget(positionals[0], stringOpt(values, 'unix'));
  if (target.tls === true) values['tls'] = true;
  const profileArg = stringOpt(values, 'profile');
  if (profileArg === undefined) throw new UsageError('--profile is required');
  const jobMode = profileArg === 'job' || profileArg === JOB_PROFILE_URI;
  const uri = jobMode ? JOB_PROFILE_URI : testProfileUri(profileArg);
  const count = intOpt(values, 'count', 1, Number.MAX_SAFE_INTEGER);
  const msgs = (values['msg'] as string[] | undefined) ?? [];
  if (msgs.length > 0 && values['stdin'] === true && !jobMode) throw new UsageError('use either --msg or --stdin');
  if (count !== undefined && msgs.length + (values['stdin'] === true ? 1 : 0) > 0) throw new UsageError('--count sends its own messages: no --msg or --stdin');
  const content = stringOpt(values, 'content');
  const serverName = stringOpt(values, 'serverName');
  const timeoutMs = secondsFlag('timeout', stringOpt(values, 'timeout')) ?? DEFAULT_CONNECT_TIMEOUT_S * 1000;
  const timeoutS = timeoutMs / 1000;
  const maxStdin = intOpt(values, 'max-stdin', 0, 2 ** 31 - 1) ?? DEFAULT_MAX_STDIN;
  if (values['max-stdin'] !== undefined && values['stdin'] !== true) throw new UsageError('--max-stdin needs --stdin');
  if (count === undefined && (values['size'] !== undefined || values['channels'] !== undefined)) {
    throw new UsageError('--size and --channels need --count');
  }
  const security = connectSecurityFrom(values, 'host' in target ? target.host : undefined);
  // The tuning exchanges carry the same bound (their own timers end the session cleanly).
  if (security.tls !== undefined && security.tls !== true) security.tls.timeoutMs = timeoutMs;
  if (security.sasl !== undefined) security.sasl.timeoutMs = timeoutMs;
  const sessionOpts = { ...peerOptionsFrom(values), ...security };
  const startOpts = { ...(content !== undefined ? { content } : {}), ...(serverName !== undefined ? { serverName } : {}) };
  const bodies = values['stdin'] === true && !jobMode
    ? [await readStdin(maxStdin)]
    : (msgs.length > 0 ? msgs : [jobMode ? '<run/>' : '']).map((m) => Buffer.from(m, 'utf8'));

  let sock: net.Socket;
  let session: Session;
  try {
    sock = await openSocket(target, values['trace'] === true, timeoutMs);
    session = await within(timeoutMs, 'greeting (or TLS / SASL outcome)', connect(sock, sessionOpts), () => sock.destroy());
  } catch (e) {
    printErr(e);
    return 2;
  }
  let status = 0;
  const channels: Channel[] = [];
  try {
    if (count !== undefined) {
      const size = intOpt(values, 'size', 0, 2 ** 31 - 1) ?? 100;
      const nch = intOpt(values, 'channels', 1, 1 << 20) ?? 1;
      const depth = intOpt(values, 'depth', 1, 1 << 20) ?? 128;
      for (let i = 0; i < nch; i++) channels.push(await within(timeoutMs, 'start reply', session.startChannel(uri, startOpts)));
      let last = Date.now();
      let watchdog: NodeJS.Timeout | undefined;
      const stalled = new Promise<never>((_, reject) => {
        watchdog = setInterval(() => {
          if (Date.now() - last > timeoutMs) reject(new WaitTimeoutError(`no reply within ${timeoutS} s (--timeout)`));
        }, Math.min(1000, timeoutMs));
      });
      try {
        const r = await Promise.race([throughput(channels, uri, count, size, depth, () => (last = Date.now())), stalled]);
        process.stdout.write(values['json'] === true ? JSON.stringify(r) + '\n' : table(r));
        status = r.errors === 0 ? 0 : 1;
      } finally {
        clearInterval(watchdog);
      }
    } else if (jobMode) {
      const ch = await within(timeoutMs, 'start reply', session.startChannel(uri, startOpts));
      channels.push(ch);
      if (ch.startReplyContent !== undefined) process.stderr.write(`${ch.startReplyContent.toString('utf8')}\n`);
      answerInput(ch, values['stdin'] === true ? (process.stdin as AsyncIterable<Buffer>) : undefined);
      const sinks = {
        stdout: (d: Buffer) => stdout.write(d),
        stderr: (d: Buffer) => new Promise<void>((r) => (process.stderr.write(d) ? r() : process.stderr.once('drain', () => r()))),
        note: (t: string) => void process.stderr.write(`${t}\n`),
      };
      for (const body of bodies) {
        try {
          status = (await jobRequest(ch, body, timeoutMs, sinks)) ?? status;
        } catch (e) {
          if (e instanceof WaitTimeoutError) throw e;
          printErr(e);
          status = 1;
        }
      }
      if (values['stdin'] === true) process.stdin.destroy();
    } else {
      const ch = await within(timeoutMs, 'start reply', session.startChannel(uri, startOpts));
      channels.push(ch);
      for (const body of bodies) status = Math.max(status, await oneShot(ch, body, timeoutMs));
    }
    // Each channel is closed before the session (RFC 3080 §2.3.1.3), so the peer sees an orderly end.
    for (const ch of channels) if (ch.isOpen) await within(timeoutMs, 'answer to the channel close', ch.close());
    await within(timeoutMs, 'answer to the session close', session.close());
  } catch (e) {
    printErr(e);
    status = e instanceof UsageError || e instanceof WaitTimeoutError ? 2 : Math.max(status, 1);
    if (e instanceof WaitTimeoutError || session.closed) session.destroy();
    else await within(timeoutMs, 'answer to the session close', session.close()).catch(() => session.destroy());
  }
  stdout.finish();
  return status;
}
