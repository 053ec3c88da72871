/**
 * `beep connect --profile job`: drive the gateway's job profile (docs/gateway.md §2) end to end. The messages
 * (default `<run/>`) go out as application/beep+xml; ANS data with `Beam-Stream: 1` is written to stdout and
 * stream 2 to stderr as it comes; the final `<exit status='S'/>` gives the exit status. The gateway's own
 * `<input/>` MSG is answered with standard input (`--stdin`: ANS `Beam-Stream: 0` chunks, then NUL) or at once
 * with NUL.
 */
import type { Channel } from '../session/channel.js';
import type { IncomingMessage, Responder } from '../session/message.js';
import { getHeader } from '../wire/mime.js';
import { within } from './wait-limit.js';

export const JOB_PROFILE_URI = 'urn:beamgate:profile:job';
const XML = { contentType: 'application/beep+xml' };
/** Input chunks: the gateway cuts input into frames of at most 64 KiB anyway. */
const INPUT_CHUNK = 64 * 1024;

export interface JobSinks {
  stdout(data: Buffer): Promise<void>;
  stderr(data: Buffer): Promise<void>;
  /** A control line for the user (started, errors). */
  note(text: string): void;
}

/** Answer the gateway's `<input/>` MSGs on `ch` with `input` (or nothing). */
export function answerInput(ch: Channel, input: AsyncIterable<Buffer> | undefined): void {
  let used = false;
  ch.onMessage = async (msg: IncomingMessage, reply: Responder) => {
    if (!/<input\s*\/>/.test(msg.text())) {
      reply.err(501, 'beep connect answers only <input/>');
      return;
    }
    if (input !== undefined && !used) {
      used = true;
      try {
        for await (const chunk of input) {
          for (let i = 0; i < chunk.length; i += INPUT_CHUNK) {
            await reply.ans(chunk.subarray(i, i + INPUT_CHUNK), { headers: { 'Beam-Stream': '0' } });
          }
        }
      } catch {
        // The channel closed under us (job over): nothing more to send.
      }
    }
    if (ch.isOpen) reply.nul();
  };
}

/**
 * Send one MSG on a job channel and relay its reply. Resolves to the job's exit status when the reply carried
 * `<exit>`, to 1 for an ERR or an `<error>` element, and to undefined otherwise (e.g. `<status/>`'s RPY).
 */
export async function jobRequest(ch: Channel, body: Buffer, timeoutMs: number, out: JobSinks): Promise<number | undefined> {
  let status: number | undefined;
  const it = ch.requestMany(body, XML);
  for (;;) {
    const r = await within(timeoutMs, 'more of the reply', it.next());
    if (r.done) break;
    const m = r.value;
    const stream = getHeader(m.entity, 'Beam-Stream');
    if (stream !== undefined) {
      if (m.payload.length > 0) await (stream.trim() === '2' ? out.stderr(m.payload) : out.stdout(m.payload));
      continue;
    }
    const text = m.text();
    const exit = /<exit\s+status=['"](\d+)['"]\s*\/>/.exec(text);
    const error = /<error\s+code=['"](\d+)['"][^>]*>([^<]*)<\/error>|<error\s+code=['"](\d+)['"]\s*\/>/.exec(text);
    if (exit) status = Number(exit[1]) & 255;
    else if (error) {
      out.note(`ERR ${error[1] ?? error[3]} ${error[2] ?? ''}`.trimEnd());
      status = 1;
    } else if (m.type === 'RPY') await out.stdout(Buffer.from(text.endsWith('\n') ? text : `${text}\n`));
  }
  return status;
}
