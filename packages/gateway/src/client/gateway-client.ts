/**
 * A client of the job profile over BEEP: `run(args, { env, stdin, signal })` with the same shape as
 * BeamClient.run (docs/gateway.md §2).
 */
import { Readable } from 'node:stream';
import { connect, type Channel, type ConnectOptions, type IncomingMessage, type Responder, type Session } from '@beamgate/beep';
import type { BeamJob } from '@beamgate/beam';
import { GatewayUsageError, PeerReplyError } from '../errors.js';
import { classifyAnswer, encodeStreamData, encodeXmlEntity, entityFromPairs } from '../wire/entity.js';
import {
  BEEP_XML_CONTENT_TYPE, buildJob, buildSignal, JOB_PROFILE_URI, parseControlAnswer, parseInputRequest, parseJobId, RUN_XML,
  type SignalName,
} from '../wire/job-xml.js';

export interface GatewayRunOptions {
  /** Job name (the handler); default args[0]. */
  name?: string;
  env?: Record<string, string>;
  /** Input for stream 0; without it the job gets no input (`input='none'`). */
  stdin?: Readable | Buffer | string;
  /** Aborting signals the job (`killSignal`, default TERM). */
  signal?: AbortSignal;
  killSignal?: SignalName;
  /** Keep the job running if the session is lost. */
  detach?: boolean;
  /** Start the job when it is created (`start='create'`), saving a round trip. Default true. */
  startEarly?: boolean;
}

/**
 * A job started over BEEP: the same interface as a job started by Beam's BeamClient over RESP. Here `exit` rejects
 * with PeerReplyError when the run ended with an `<error>`, and `kill()` signals through the input reply (it needs
 * input, i.e. `stdin`).
 */
export type GatewayJob = BeamJob;

const RAW = { raw: true } as const;
/** Default receive window of a GatewayClient's channels. */
const CLIENT_RECEIVE_WINDOW = 1024 * 1024;
/**
 * Largest data part of one input ANS. The gateway reassembles each ANS before relaying it, so however large the
 * chunks of `stdin` are, what it holds per job stays a window plus one such ANS (and so does our send queue).
 */
const INPUT_ANS = 64 * 1024;

class OutputStream extends Readable {
  private wake: (() => void) | undefined;
  eof = false;
  close(): void {
    if (this.eof) return;
    this.eof = true;
    this.push(null);
    this._read();
  }
  override _read(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
  /** Pushes and waits while the consumer is behind (so BEEP flow control reaches the gateway). */
  async feed(data: Buffer): Promise<void> {
    if (this.eof || this.push(data)) return;
    await new Promise<void>((resolve) => (this.wake = resolve));
  }
}

function asReadable(stdin: Readable | Buffer | string): Readable {
  if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) return Readable.from([Buffer.from(stdin)]);
  return stdin;
}

export class GatewayClient {
  constructor(readonly session: Session) {}

  /**
   * Connects to a gateway's BEEP address. Session options (limits) may be given too; the receive window defaults
   * to 1 MiB per channel so that job output streams at full speed (the BEEP default, 64 KiB, lets the gateway send
   * only a few frames per window update).
   */
  static async connect(target: { host?: string; port: number }, opts: ConnectOptions = {}): Promise<GatewayClient> {
    return new GatewayClient(await connect(target, { receiveWindow: CLIENT_RECEIVE_WINDOW, ...opts }));
  }

  async run(args: readonly string[], options: GatewayRunOptions = {}): Promise<GatewayJob> {
    const name = options.name ?? args[0];
    if (!name) throw new GatewayUsageError('run: a job needs a name (args[0])');
    const hasInput = options.stdin !== undefined;
    const spec = buildJob({
      name,
      args: args.map((a) => Buffer.from(a)),
      env: Object.entries(options.env ?? {}).map(([k, v]) => [k, Buffer.from(v)] as [string, Buffer]),
      detach: options.detach === true,
      input: hasInput,
      early: options.startEarly !== false,
    });
    let channel: Channel;
    try {
      channel = await this.session.startChannel(JOB_PROFILE_URI, { content: spec, encoding: 'none' });
    } catch (e) {
      throw asPeerError(e);
    }
    const id = parseJobId(channel.startReplyContent ?? Buffer.alloc(0));
    return new RunningJob(channel, id, options, hasInput ? asReadable(options.stdin!) : undefined).start();
  }

  close(): Promise<void> {
    return this.session.close();
  }
}

function asPeerError(e: unknown): Error {
  const code = (e as { replyCode?: unknown } | null)?.replyCode;
  if (typeof code === 'number') return new PeerReplyError(code, (e as Error).message, { cause: e });
  return e as Error;
}

class RunningJob implements GatewayJob {
  private readonly outputs = new Map<number, OutputStream>();
  readonly exit: Promise<number>;
  private inputReply: Responder | undefined;
  private inputDone = false;
  private exited = false;
  private readonly inputReady: Promise<Responder>;
  private gotInput!: (r: Responder) => void;

  constructor(
    private readonly channel: Channel,
    readonly id: number,
    private readonly options: GatewayRunOptions,
    private readonly stdin: Readable | undefined,
  ) {
    this.inputReady = new Promise((r) => (this.gotInput = r));
    this.output(1);
    this.output(2);
    channel.onMessage = (msg, reply) => this.onGatewayMessage(msg, reply);
    this.exit = this.runReply();
    this.exit.catch(() => {});
  }

  get stdout(): Readable {
    return this.output(1);
  }

  get stderr(): Readable {
    return this.output(2);
  }

  output(n: number): Readable {
    let s = this.outputs.get(n);
    if (!s) {
      s = new OutputStream();
      this.outputs.set(n, s);
    }
    return s;
  }

  start(): this {
    const signal = this.options.signal;
    if (signal) {
      const onAbort = (): void => void this.kill(this.options.killSignal ?? 'TERM').catch(() => {});
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      void this.exit.finally(() => signal.removeEventListener('abort', onAbort)).catch(() => {});
    }
    return this;
  }

  async kill(signal: SignalName = 'TERM'): Promise<void> {
    if (this.exited) return;
    if (!this.stdin) {
      // Without an input reply the only way to stop the job is closing the channel.
      await this.channel.close().catch(() => {});
      return;
    }
    const r = await this.inputReady;
    if (!r.done) await r.ans(encodeXmlEntity(buildSignal(signal)), RAW);
  }

  private onGatewayMessage(msg: IncomingMessage, reply: Responder): void {
    try {
      parseInputRequest(msg.payload);
    } catch {
      reply.err(501, 'unexpected MSG');
      return;
    }
    if (this.inputReply || !this.stdin || this.exited) {
      reply.rpy('');
      return;
    }
    this.inputReply = reply;
    this.gotInput(reply);
    void this.pumpInput(this.stdin, reply);
  }

  private async pumpInput(stdin: Readable, reply: Responder): Promise<void> {
    try {
      for await (const chunk of stdin) {
        if (this.exited || reply.done) break;
        const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
        for (let off = 0; off < b.length && !reply.done; off += INPUT_ANS) {
          await reply.ans(encodeStreamData(0, off === 0 && b.length <= INPUT_ANS ? b : b.subarray(off, off + INPUT_ANS)), RAW);
        }
      }
    } catch {
      // input failed: end it
    }
    this.endInput();
  }

  private endInput(): void {
    if (this.inputDone) return;
    this.inputDone = true;
    const r = this.inputReply;
    if (r && !r.done) {
      try {
        r.nul();
      } catch {
        // channel gone
      }
    }
  }

  private async runReply(): Promise<number> {
    let final: number | Error | undefined;
    try {
      for await (const ans of this.channel.requestMany(RUN_XML, { contentType: BEEP_XML_CONTENT_TYPE })) {
        const what = classifyAnswer(entityFromPairs(ans.entity.headers, ans.payload));
        if (what.kind === 'data') await this.outputs.get(what.stream)?.feed(what.data);
        else if (what.kind === 'close') this.outputs.get(what.stream)?.close();
        else {
          const f = parseControlAnswer(what.body);
          if (f.kind === 'started') continue;
          final = f.kind === 'exit' ? f.status : new PeerReplyError(f.code, f.text || `run failed with ${f.code}`);
        }
      }
    } catch (e) {
      final = asPeerError(e);
    }
    this.exited = true;
    for (const s of this.outputs.values()) s.close();
    this.endInput();
    void this.channel.close().catch(() => {});
    if (final === undefined) throw new PeerReplyError(451, 'the run reply ended without an exit status');
    if (final instanceof Error) throw final;
    return final;
  }
}
