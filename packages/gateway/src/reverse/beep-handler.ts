/**
 * The `beep` job handler (docs/gateway.md §5): `beep URL PROFILE_URI [START_CONTENT]` opens a channel to a BEEP
 * peer; every input frame becomes a MSG, every RPY/ANS body an output frame on stream 1; an ERR goes to stream 2
 * and exits 1; failing to connect or losing the session exits 2.
 */
import type { Readable, Writable } from 'node:stream';
import { connect, type Channel, type IncomingMessage, type Session } from '@beamgate/beep';
import type { JobHandler, JobIO } from '@beamgate/beam';
import { BeepUrlError } from '../errors.js';

export const DEFAULT_BEEP_PORT = 10288;
/** MSGs sent and not yet fully answered before the handler stops reading input. */
const MAX_OUTSTANDING = 32;
/** How long closing the channel and session may take before the handler drops the connection. */
const CLOSE_TIMEOUT_MS = 5000;

/** `beep://HOST[:PORT]`, `beep://[v6]:PORT`, or plain `HOST:PORT`; throws BeepUrlError otherwise. */
export function parseBeepUrl(url: string): { host: string; port: number } {
  const text = url.startsWith('beep://') ? url.slice(7).replace(/\/$/, '') : url;
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:/[\]\s]+))(?::([0-9]{1,5}))?$/.exec(text);
  if (!m) throw new BeepUrlError(`bad BEEP URL '${url}' (expected beep://HOST:PORT)`);
  const port = m[3] === undefined ? DEFAULT_BEEP_PORT : Number(m[3]);
  if (port < 1 || port > 65535) throw new BeepUrlError(`bad port in '${url}'`);
  return { host: (m[1] ?? m[2])!, port };
}

function write(stream: Writable, data: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => stream.write(data, (e) => (e ? reject(e) : resolve())));
}

function reason(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').slice(0, 500);
}

/** The ERR body (an `<error>` element or any text) of a negative reply. */
function errBody(e: unknown): Buffer | undefined {
  const reply = (e as { reply?: IncomingMessage } | null)?.reply;
  if (reply && reply.type === 'ERR') return reply.payload;
  return undefined;
}

function isReplyError(e: unknown): boolean {
  return (e as { name?: string } | null)?.name === 'BeepErrReply' || errBody(e) !== undefined;
}

/** Frames of stream 0 as they were pushed (flowing mode keeps one chunk per frame). */
function frames(stdin: Readable, onFrame: (f: Buffer) => void, onEnd: () => void): void {
  stdin.on('data', (chunk: Buffer | string) => onFrame(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)));
  stdin.once('end', onEnd);
  stdin.once('error', onEnd);
}

/** `HOST:PORT` as an allow-list entry: lower-case host, brackets kept for IPv6. */
export function beepTargetKey(target: { host: string; port: number }): string {
  const host = target.host.toLowerCase();
  return host.includes(':') ? `[${host}]:${target.port}` : `${host}:${target.port}`;
}

export interface BeepHandlerOptions {
  /**
   * The BEEP peers jobs may reach, as `HOST:PORT` (compared as written, names are not resolved), or `*` for any.
   * Default none: every target is refused, so the gateway cannot be used to reach other hosts.
   */
  allow?: readonly string[];
}

export function beepHandler(options: BeepHandlerOptions = {}): JobHandler {
  const allowed = new Set((options.allow ?? []).map((t) => (t === '*' ? t : beepTargetKey(parseBeepUrl(t)))));
  return async (job: JobIO): Promise<number> => {
    const [, url, uri, startContent] = job.args;
    const fail = async (code: number, message: string): Promise<number> => {
      await write(job.stderr, `beep: ${message}\n`).catch(() => {});
      return code;
    };
    if (!url || !uri) return fail(2, 'usage: beep URL PROFILE_URI [START_CONTENT]');
    let target;
    try {
      target = parseBeepUrl(url);
    } catch (e) {
      if (e instanceof BeepUrlError) return fail(2, reason(e));
      throw e;
    }
    if (!allowed.has('*') && !allowed.has(beepTargetKey(target))) {
      return fail(2, allowed.size === 0
        ? `target ${beepTargetKey(target)} refused: the beep handler reaches no target unless allowed (beamgate serve --allow-beep-targets HOST:PORT)`
        : `target ${beepTargetKey(target)} refused: not in --allow-beep-targets`);
    }
    const timeoutMs = Number(job.env['BEEP_TIMEOUT_MS'] ?? 10000) || 10000;
    const contentType = job.env['BEEP_CONTENT_TYPE'];
    const serverName = job.env['BEEP_SERVER_NAME'];

    let session: Session;
    let channel: Channel;
    const setup = AbortSignal.any([job.signal, AbortSignal.timeout(timeoutMs)]);
    try {
      session = await connect(target, { signal: setup });
    } catch (e) {
      return fail(2, `cannot connect to ${url}: ${reason(e)}`);
    }
    try {
      channel = await session.startChannel(uri, {
        ...(startContent !== undefined ? { content: startContent } : {}),
        ...(serverName ? { serverName } : {}),
        signal: setup,
      });
    } catch (e) {
      session.destroy();
      return fail(2, `cannot start ${uri}: ${reason(e)}`);
    }

    return new Promise<number>((resolve) => {
      const queue: Array<AsyncIterableIterator<IncomingMessage>> = [];
      let ended = false;
      let done = false;
      let draining = false;
      const finish = async (code: number, message?: string, errPayload?: Buffer): Promise<void> => {
        if (done) return;
        done = true;
        job.stdin.pause();
        if (errPayload !== undefined) {
          await write(job.stderr, Buffer.concat([errPayload, Buffer.from('\n')])).catch(() => {});
        } else if (message !== undefined) await write(job.stderr, `beep: ${message}\n`).catch(() => {});
        if (code === 0 || code === 1) {
          // A peer that never answers close must not keep the job alive.
          const polite = (async () => {
            await channel.close();
            await session.close();
          })();
          const timer = setTimeout(() => session.destroy(), CLOSE_TIMEOUT_MS);
          await polite.catch(() => session.destroy());
          clearTimeout(timer);
        } else session.destroy();
        resolve(code);
      };
      session.once('close', (why?: Error) => {
        if (!done && !(ended && queue.length === 0)) void finish(2, `session lost: ${why ? reason(why) : 'closed by the peer'}`);
      });
      job.signal.addEventListener('abort', () => {
        if (done) return;
        done = true;
        session.destroy();
        const r = job.signal.reason as { status?: number } | undefined;
        resolve(typeof r?.status === 'number' ? r.status : 143);
      });

      const drain = async (): Promise<void> => {
        if (draining) return;
        draining = true;
        while (queue.length > 0 && !done) {
          const it = queue[0]!;
          try {
            for await (const m of it) {
              if (done) break;
              if (m.payload.length > 0) await write(job.stdout, m.payload);
            }
          } catch (e) {
            if (isReplyError(e)) await finish(1, undefined, errBody(e) ?? Buffer.from(reason(e)));
            else await finish(2, `session lost: ${reason(e)}`);
            return;
          }
          queue.shift();
          if (queue.length < MAX_OUTSTANDING && job.stdin.isPaused() && !ended) job.stdin.resume();
        }
        draining = false;
        if (ended && queue.length === 0) await finish(0);
      };

      frames(
        job.stdin,
        (f) => {
          if (done) return;
          queue.push(channel.requestMany(f, contentType ? { contentType } : undefined));
          if (queue.length >= MAX_OUTSTANDING) job.stdin.pause();
          void drain();
        },
        () => {
          ended = true;
          void drain();
        },
      );
    });
  };
}
