import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { debuglog } from 'node:util';
import type { CommandArg } from '../wire/command-encoder.js';
import type { RawReply, RespConnection } from './connection.js';
import { BeamConnectionError, BeamReplyError } from './errors.js';
import type { SignalName } from '../jobs/signals.js';

const debug = debuglog('beamgate:client');

/**
 * A started job as a client sees it: BeamClient.run() over RESP, and the gateway's GatewayClient.run() over BEEP
 * (its `GatewayJob` is this interface), so code written against one runs against the other.
 */
export interface BeamJob {
  readonly id: number;
  /** Stream 1. */
  readonly stdout: Readable;
  /** Stream 2. */
  readonly stderr: Readable;
  /** Output stream n (1 and 2 are stdout/stderr); frames of streams nobody asked for are dropped. */
  output(n: number): Readable;
  /** The exit status, once every output stream is closed. */
  readonly exit: Promise<number>;
  /** Signals the job (default TERM); ignored once it has exited. Over RESP: `RPUSH /jobs/$id/signal NAME`. */
  kill(signal?: SignalName): Promise<void>;
}

/** Largest input frame the client sends. */
const INPUT_FRAME_BYTES = 64 * 1024;
/** The client stops sending input while this many frames wait in /jobs/$id/in, until it is down to LOW. */
const INPUT_HIGH = 64;
const INPUT_LOW = 16;

class OutputStream extends Readable {
  private wake: (() => void) | null = null;
  override _read(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
  /** Resolves when the consumer wants more. */
  demand(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }
}

function asBuffer(r: RawReply | undefined): Buffer {
  return Buffer.isBuffer(r) ? r : Buffer.from(String(r ?? ''));
}

export interface RunOptions {
  /** Job name (the handler); default args[0]. */
  name?: string;
  env?: Record<string, string>;
  /** Input for stream 0; without it stream 0 is closed at once (like </dev/null). */
  stdin?: Readable | Buffer | string;
  /** Aborting sends `killSignal` to the job. */
  signal?: AbortSignal;
  /** Default TERM. */
  killSignal?: SignalName;
}

/** What a job needs of its client (BeamClient): commands on the main connection, and extra connections. */
export interface JobHost {
  call(...args: CommandArg[]): Promise<unknown>;
  openConnection(): Promise<RespConnection>;
  releaseConnection(c: RespConnection): Promise<void>;
}

export async function startJob(client: JobHost, name: string, args: readonly string[], options: RunOptions): Promise<BeamJob> {
  // The reader connection first: if it cannot connect, no job is left started without a reader.
  const [readerP, lengthP] = await Promise.allSettled([client.openConnection(), client.call('RPUSH', '/jobs', name)]);
  if (readerP.status === 'rejected') throw readerP.reason;
  const reader = readerP.value;
  if (lengthP.status === 'rejected') {
    await client.releaseConnection(reader);
    throw lengthP.reason;
  }
  const length = lengthP.value;
  if (typeof length !== 'number') {
    await client.releaseConnection(reader);
    throw new BeamConnectionError(`unexpected reply to RPUSH /jobs: ${JSON.stringify(length)}`, 'BEAM_PROTOCOL');
  }
  const id = length - 1;
  const base = `/jobs/${id}`;
  const setup: Array<Promise<unknown>> = [];
  if (args.length > 0) setup.push(client.call('RPUSH', `${base}/args`, ...args));
  const env = Object.entries(options.env ?? {});
  if (env.length > 0) setup.push(client.call('HSET', `${base}/env`, ...env.flat()));
  if (options.stdin === undefined) setup.push(client.call('RPUSH', `${base}/in`, '0:'));
  setup.push(client.call('SET', base, ''));
  const settled = await Promise.allSettled(setup);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await client.releaseConnection(reader);
    throw failed.reason;
  }

  const streams = new Map<number, OutputStream>();
  const stream = (n: number): OutputStream => {
    let s = streams.get(n);
    if (!s) streams.set(n, (s = new OutputStream()));
    return s;
  };
  const stdout = stream(1);
  const stderr = stream(2);
  const wanted = new Set([1, 2]);
  let exited = false;

  const kill = async (signal = options.killSignal ?? 'TERM'): Promise<void> => {
    if (exited) return;
    await client.call('RPUSH', `${base}/signal`, signal).catch((e: unknown) => debug('job %d: signal: %o', id, e));
  };
  const onAbort = (): void => void kill();
  if (options.signal) {
    if (options.signal.aborted) onAbort();
    else options.signal.addEventListener('abort', onAbort, { once: true });
  }

  const exit = (async (): Promise<number> => {
    try {
      for (;;) {
        const r = await reader.call(['BLPOP', `${base}/out`, `${base}/wait`, '0']);
        if (!Array.isArray(r) || r.length !== 2) throw new BeamConnectionError(`unexpected BLPOP reply for job ${id}`, 'BEAM_PROTOCOL');
        const key = asBuffer(r[0]).toString('latin1');
        const value = asBuffer(r[1]);
        if (key.endsWith('/wait')) return Number(value.toString('latin1'));
        const colon = value.indexOf(0x3a);
        const n = colon > 0 ? Number(value.subarray(0, colon).toString('latin1')) : NaN;
        if (!Number.isInteger(n)) continue;
        if (!wanted.has(n) && !streams.has(n)) continue;
        const s = stream(n);
        if (s.readableEnded || s.destroyed) continue;
        if (colon + 1 === value.length) s.push(null);
        else if (!s.push(value.subarray(colon + 1))) await s.demand();
      }
    } finally {
      exited = true;
      options.signal?.removeEventListener('abort', onAbort);
      for (const s of streams.values()) if (!s.readableEnded && !s.destroyed) s.push(null);
      void client.releaseConnection(reader);
    }
  })();

  // The caller may never await exit: a lost connection must not become an unhandled rejection.
  exit.catch(() => {});

  if (options.stdin !== undefined) {
    void sendInput(client, base, options.stdin, () => exited).catch((e: unknown) => debug('job %d: input: %o', id, e));
  }

  return {
    id,
    stdout,
    stderr,
    output: (n: number) => {
      wanted.add(n);
      return stream(n);
    },
    exit,
    kill,
  };
}

async function sendInput(client: JobHost, base: string, stdin: Readable | Buffer | string, exited: () => boolean): Promise<void> {
  const key = `${base}/in`;
  const push = async (frame: Buffer): Promise<boolean> => {
    for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
      if (exited()) return false;
      try {
        const len = await client.call('RPUSH', key, frame);
        if (typeof len === 'number' && len >= INPUT_HIGH) {
          // Pace ourselves: wait for the job to read before queueing more.
          for (let d = 5; !exited(); d = Math.min(d * 2, 100)) {
            await sleep(d);
            const l = await client.call('LLEN', key);
            if (typeof l !== 'number' || l <= INPUT_LOW) break;
          }
        }
        return true;
      } catch (e) {
        if (e instanceof BeamReplyError && /input queue full/.test(e.message)) {
          await sleep(delay);
          continue;
        }
        if (e instanceof BeamReplyError && /has exited/.test(e.message)) return false;
        throw e;
      }
    }
  };
  const sendData = async (data: Buffer): Promise<boolean> => {
    for (let off = 0; off < data.length; off += INPUT_FRAME_BYTES) {
      const part = data.subarray(off, off + INPUT_FRAME_BYTES);
      if (!(await push(Buffer.concat([Buffer.from('0:'), part])))) return false;
    }
    return true;
  };
  if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) {
    if (!(await sendData(Buffer.from(stdin)))) return;
  } else {
    for await (const chunk of stdin.iterator({ destroyOnReturn: false })) {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      if (b.length > 0 && !(await sendData(b))) return;
    }
  }
  await push(Buffer.from('0:'));
}
