/** `beep connect`: open a channel, send one message and print its reply, or measure throughput with --count. */
import net from 'node:net';
import { connect } from '../api/connect.js';
import type { Channel } from '../session/channel.js';
import type { IncomingMessage } from '../session/message.js';
import type { Session } from '../session/session.js';
import { BeepErrReply } from '../session/reply-sinks.js';
import { TEST_PROFILE_URIS, testProfileUri } from '../testing/test-profiles.js';
import { intOpt, parseCommand, peerOptionsFrom, PEER_OPTIONS, stringOpt, UsageError, type CommandSpec } from './options.js';
import { traceDuplex } from './trace.js';
import { CONNECT_SECURITY_OPTIONS, connectSecurityFrom } from './security-flags.js';

export const CONNECT_SPEC: CommandSpec = {
  name: 'connect',
  usage: 'beep connect HOST:PORT --profile URI|echo|ans|sink [--msg DATA | --stdin [--max-stdin BYTES]] [--count N --size S --channels C]',
  summary:
    'Start a channel and send one message: RPY and ANS bodies go to stdout, an ERR (code and text) to stderr with\n' +
    'exit status 1. With --count, send N messages instead and print the throughput.',
  options: {
    unix: { type: 'string', arg: 'PATH', help: 'connect to a unix socket instead of HOST:PORT' },
    profile: { type: 'string', arg: 'URI', help: 'profile URI, or echo, ans, sink for the test profiles' },
    msg: { type: 'string', short: 'm', arg: 'DATA', help: 'message body (default empty)' },
    stdin: { type: 'boolean', help: 'read the message body from stdin' },
    'max-stdin': { type: 'string', arg: 'BYTES', help: 'refuse a --stdin body larger than this (default 64M; it is held in memory)' },
    count: { type: 'string', short: 'n', arg: 'N', help: 'throughput mode: send N messages in total' },
    size: { type: 'string', short: 's', arg: 'BYTES', help: 'throughput mode: body size of each message (default 100)' },
    channels: { type: 'string', short: 'c', arg: 'C', help: 'throughput mode: spread the messages over C channels (default 1)' },
    depth: { type: 'string', arg: 'D', help: 'throughput mode: messages in flight per channel (default 128)' },
    json: { type: 'boolean', help: 'throughput mode: print the result as one JSON object' },
    ...CONNECT_SECURITY_OPTIONS,
    ...PEER_OPTIONS,
  },
  notes: 'Exit status: 0 success, 1 ERR reply or failed exchange, 2 usage or connection error.',
};

type Target = { host: string; port: number } | { path: string };

export function parseTarget(hostPort: string | undefined, unix: string | undefined): Target {
  if (unix !== undefined) return { path: unix };
  if (hostPort === undefined) throw new UsageError('HOST:PORT (or --unix PATH) is required');
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(hostPort) ?? /^()()(\d{1,5})$/.exec(hostPort);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) throw new UsageError(`expected HOST:PORT, got ${JSON.stringify(hostPort)}`);
  return { host: m[1] || m[2] || '127.0.0.1', port };
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

function openSocket(target: Target, trace: boolean): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = 'path' in target ? net.connect({ path: target.path }) : net.connect(target);
    sock.once('error', reject);
    sock.once('connect', () => {
      sock.off('error', reject);
      if (trace) traceDuplex(sock, (line) => process.stderr.write(line + '\n'));
      resolve(sock);
    });
  });
}

function write(out: NodeJS.WritableStream, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (out.write(data)) resolve();
    else out.once('drain', resolve);
  });
}

function printErr(e: unknown): void {
  if (e instanceof BeepErrReply) process.stderr.write(`ERR ${e.replyCode} ${e.message}\n`);
  else {
    const { code, replyCode } = e as { code?: string; replyCode?: number };
    process.stderr.write(`error: ${code ? `${code}: ` : ''}${replyCode ? `${replyCode} ` : ''}${(e as Error).message}\n`);
  }
}

/** One request: stream the RPY body (or the ANS bodies) to stdout as it arrives, whatever its size. */
async function oneShot(ch: Channel, body: Buffer): Promise<number> {
  try {
    const reply = await ch.requestStream(body);
    if (reply.stream !== undefined) for await (const c of reply.stream) await write(process.stdout, c as Buffer);
    return 0;
  } catch (e) {
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

async function throughput(session: Session, uri: string, count: number, size: number, nch: number, depth: number): Promise<ThroughputResult> {
  const channels = await Promise.all(Array.from({ length: nch }, () => session.startChannel(uri)));
  const body = Buffer.alloc(size);
  for (let i = 0; i < size; i++) body[i] = 0x41 + (i % 26);
  const checkEcho = uri === TEST_PROFILE_URIS.echo;
  let errors = 0;
  let firstError: unknown;
  const check = (r: IncomingMessage): void => {
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
  const profileArg = stringOpt(values, 'profile');
  if (profileArg === undefined) throw new UsageError('--profile is required');
  const uri = testProfileUri(profileArg);
  const count = intOpt(values, 'count', 1, Number.MAX_SAFE_INTEGER);
  const msg = stringOpt(values, 'msg');
  if (msg !== undefined && values['stdin'] === true) throw new UsageError('use either --msg or --stdin');
  const maxStdin = intOpt(values, 'max-stdin', 0, 2 ** 31 - 1) ?? DEFAULT_MAX_STDIN;
  if (values['max-stdin'] !== undefined && values['stdin'] !== true) throw new UsageError('--max-stdin needs --stdin');
  if (count === undefined && (values['size'] !== undefined || values['channels'] !== undefined)) {
    throw new UsageError('--size and --channels need --count');
  }
  const sessionOpts = { ...peerOptionsFrom(values), ...connectSecurityFrom(values, 'host' in target ? target.host : undefined) };

  let sock: net.Socket;
  let session: Session;
  try {
    sock = await openSocket(target, values['trace'] === true);
    session = await connect(sock, sessionOpts);
  } catch (e) {
    printErr(e);
    return 2;
  }
  let status: number;
  try {
    if (count !== undefined) {
      const size = intOpt(values, 'size', 0, 2 ** 31 - 1) ?? 100;
      const nch = intOpt(values, 'channels', 1, 1 << 20) ?? 1;
      const depth = intOpt(values, 'depth', 1, 1 << 20) ?? 128;
      const r = await throughput(session, uri, count, size, nch, depth);
      process.stdout.write(values['json'] === true ? JSON.stringify(r) + '\n' : table(r));
      status = r.errors === 0 ? 0 : 1;
    } else {
      const body = values['stdin'] === true ? await readStdin(maxStdin) : Buffer.from(msg ?? '', 'utf8');
      const ch = await session.startChannel(uri);
      status = await oneShot(ch, body);
    }
  } catch (e) {
    printErr(e);
    status = e instanceof UsageError ? 2 : 1;
  }
  try {
    await session.close();
  } catch {
    session.destroy();
  }
  return status;
}
