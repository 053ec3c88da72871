/**
 * One job-profile channel (docs/gateway.md §2): creates or attaches to a Beam job, runs it on `<run/>` relaying
 * output as stream-tagged ANS, asks the peer for input with its own `<input/>` MSG, and stops the job when the
 * channel goes away (unless detached).
 */
import type { Channel, IncomingMessage, Responder } from '@beamgate/beep';
import { refusing } from '../backend/refusal.js';
import { asNumber, BeamCommandError, type Backend, type CommandClient, type Value } from '../backend/types.js';
import {
  ChannelStateError, ContextUnavailableError, GatewayError, JobBusyError, NotAllowedError, replyCodeOf, replyTextOf,
  UnknownHandlerError,
} from '../errors.js';
import type { Logger } from '../log.js';
import type { GatewayMetrics } from '../metrics.js';
import {
  classifyAnswer, encodeStreamData, encodeXmlEntity, entityFromPairs, parseOutputFrame, STREAM_HEADER, streamPrefix,
} from '../wire/entity.js';
import {
  BEEP_XML_CONTENT_TYPE, buildError, buildExit, buildJobId, buildStarted, buildStatus, INPUT_XML, parsePeerMessage, parseSignal,
  type JobRequest, type JobSpec, type JobState,
} from '../wire/job-xml.js';
import type { AccessConfig, GatewayLimits } from '../config-types.js';
import { checkAccess } from '../access.js';
import type { JobQuotas } from './quotas.js';

/** State shared by every job channel of one gateway. */
export interface JobHub {
  backend: Backend;
  limits: GatewayLimits;
  metrics: GatewayMetrics;
  log: Logger;
  /** Job ids currently held by a channel (attach refuses them with 450). */
  held: Set<number>;
  /** What the gateway knows of jobs it created: detach and input flags. */
  known: Map<number, { detach: boolean; input: boolean }>;
  /** Who may run what; undefined: everyone everything. */
  access?: AccessConfig | undefined;
  /** Channels with a job, for draining. */
  channels: Set<JobChannel>;
  /** Per-session and per-identity job quotas (absent: none). */
  quotas?: JobQuotas;
  draining: boolean;
}

/** Largest data part of one input frame pushed to /jobs/$id/in. */
const INPUT_FRAME = 64 * 1024;
/** Output frames taken per LPOP after a BLPOP. */
const OUTPUT_BATCH = 16;
/**
 * Consecutive data of one stream is merged (copied) into one ANS while the result stays below this size; data at
 * least this large goes alone, by reference, so output is never copied in bulk.
 */
const MERGE_LIMIT = 8192;

/** Labels of the output byte counter, built once rather than per flush. */
const OUT_BYTES = Object.freeze({ direction: 'out', profile: 'job' });

const headerCache = new Map<number, Readonly<Record<string, string>>>();
function streamHeaders(stream: number): Readonly<Record<string, string>> {
  let h = headerCache.get(stream);
  if (!h) {
    h = Object.freeze({ [STREAM_HEADER]: String(stream) });
    if (stream < 16) headerCache.set(stream, h);
  }
  return h;
}

/** Our entities already carry their header block. */
const RAW = { raw: true } as const;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function bulk(v: Value | undefined): Buffer | undefined {
  return Buffer.isBuffer(v) ? v : undefined;
}

export class JobChannel {
  channel: Channel | undefined;
  id: number | undefined;
  private detach = false;
  private input = true;
  /** True when the job was already started before `<run/>` (attach, or `start='create'`). */
  private preStarted = false;
  private ran = false;
  /** When `<run/>` came (for beamgate_job_duration_seconds). */
  private runAt: bigint | undefined;
  state: JobState = 'created';
  private exitStatus: number | undefined;
  private cmd: CommandClient | undefined;
  private reader: CommandClient | undefined;
  private closed = false;
  private stopped = false;
  /** The channel closed while a detached job ran: the gateway let go of it. */
  private detached = false;
  /** MSGs are processed one after the other (RFC 3080 §2.6.1). */
  private chain: Promise<void> = Promise.resolve();
  private readonly log: Logger;
  /** Gives back this channel's job quota slot. */
  private releaseQuota: () => void = () => undefined;

  constructor(
    private readonly hub: JobHub,
    private readonly session: number,
    readonly number: number,
    /** The session's authenticated (SASL) identity, if any. */
    private readonly identity: () => string | undefined = () => undefined,
  ) {
    this.log = hub.log.child({ session, channel: number });
  }

  private async client(): Promise<CommandClient> {
    return (this.cmd ??= await this.hub.backend.openClient());
  }

  /** Creates the job (start content or a `<job>` MSG) or takes over an existing one; returns its id. */
  async setup(req: JobRequest): Promise<number> {
    if (this.id !== undefined) throw new ChannelStateError(`the channel already has job ${this.id}`);
    if (this.hub.draining) throw new ContextUnavailableError('the gateway is shutting down');
    const release = this.hub.quotas?.acquire(this.session, this.identity()) ?? (() => undefined);
    let id: number;
    try {
      id = req.kind === 'job' ? await this.create(req.spec) : await this.attach(req.id);
    } catch (e) {
      release();
      throw e;
    }
    this.releaseQuota = release;
    this.id = id;
    this.hub.held.add(id);
    this.hub.channels.add(this);
    this.hub.metrics.jobs.inc({ state: this.preStarted ? 'running' : 'created' });
    if (this.preStarted) this.state = 'running';
    return id;
  }

  private async create(spec: JobSpec): Promise<number> {
    checkAccess(this.hub.access, this.identity(), spec.name);
    const c = await this.client();
    const verdict = await this.hub.backend.check(spec.name, spec.args.map((a) => a.toString('utf8')), c);
    if (verdict === 'unknown') throw new UnknownHandlerError(`no job handler named '${spec.name}'`);
    if (verdict === 'forbidden') throw new NotAllowedError(`job '${spec.name}' is not allowed on this gateway`);
    const what = `job '${spec.name}' cannot be created`;
    const n = asNumber(await refusing(what, c.call(['RPUSH', '/jobs', spec.name])));
    const id = n - 1;
    await refusing(what, c.call(['RPUSH', `/jobs/${id}/args`, ...spec.args]));
    if (spec.env.length > 0) {
      const flat: Buffer[] = [];
      for (const [k, v] of spec.env) flat.push(Buffer.from(k), v);
      await refusing(what, c.call(['HSET', `/jobs/${id}/env`, ...flat]));
    }
    this.detach = spec.detach;
    this.input = spec.input;
    if (spec.early) {
      await this.startJob(c, id);
      this.preStarted = true;
    }
    this.hub.known.set(id, { detach: spec.detach, input: spec.input });
    if (this.hub.known.size > 100_000) this.hub.known.delete(this.hub.known.keys().next().value!);
    this.log.debug('job created', { job: id, name: spec.name });
    return id;
  }

  private async attach(id: number): Promise<number> {
    if (this.hub.held.has(id)) throw new JobBusyError(`job ${id} is attached to another channel`);
    const c = await this.client();
    const what = `cannot attach to job ${id}`;
    const name = await refusing(what, c.call(['LINDEX', '/jobs', String(id)]));
    if (name === null) throw new UnknownHandlerError(`no job ${id}`, 'GATEWAY_UNKNOWN_JOB');
    const started = asNumber(await refusing(what, c.call(['EXISTS', `/jobs/${id}`, `/jobs/${id}/status`]))) > 0;
    const k = this.hub.known.get(id);
    this.detach = k?.detach ?? false;
    this.input = k?.input ?? true;
    this.preStarted = started;
    return id;
  }

  /** Entry point for MSGs from the peer; processed in order. */
  onMessage(msg: IncomingMessage, reply: Responder): void {
    this.chain = this.chain.then(() => this.handle(msg, reply)).catch((e: unknown) => this.fail(reply, e));
  }

  private async handle(msg: IncomingMessage, reply: Responder): Promise<void> {
    let m;
    try {
      m = parsePeerMessage(msg.payload, { maxBytes: this.hub.limits.maxJobXml, maxArgs: this.hub.limits.maxArgs, maxEnv: this.hub.limits.maxEnv });
    } catch (e) {
      this.fail(reply, e);
      return;
    }
    if (m.kind === 'job') {
      const id = await this.setup(m.request);
      reply.rpy(buildJobId(id), { contentType: BEEP_XML_CONTENT_TYPE });
    } else if (m.kind === 'status') {
      if (this.id === undefined) throw new ChannelStateError('the channel has no job');
      const exit = this.exitStatus;
      reply.rpy(buildStatus(exit === undefined ? { id: this.id, state: this.state } : { id: this.id, state: this.state, exit }), {
        contentType: BEEP_XML_CONTENT_TYPE,
      });
    } else {
      await this.run(reply);
    }
  }

  private fail(reply: Responder, e: unknown): void {
    const code = replyCodeOf(e);
    this.hub.metrics.errors.inc({ code: String(code) });
    if (!(e instanceof GatewayError) || code === 451) this.log.warn('job channel error', { err: e, job: this.id });
    if (reply.done) return;
    try {
      if (reply.answering) {
        void reply.ans(encodeXmlEntity(buildError(code, replyTextOf(e))), RAW).catch(() => {});
        reply.nul();
      } else reply.err(code, replyTextOf(e));
    } catch {
      // channel gone
    }
  }

  private async run(reply: Responder): Promise<void> {
    if (this.id === undefined) throw new ChannelStateError('the channel has no job: start it with <job> content or send <job> first');
    if (this.ran) throw new ChannelStateError(`job ${this.id} was already run on this channel`);
    this.ran = true;
    this.runAt = process.hrtime.bigint();
    const id = this.id;
    const c = await this.client();
    this.reader = await this.hub.backend.openClient();
    if (!this.preStarted) {
      await this.startJob(c, id);
      this.hub.metrics.jobs.dec({ state: 'created' });
      this.hub.metrics.jobs.inc({ state: 'running' });
      this.state = 'running';
    }
    // Acknowledges the run at once: a peer may only close a channel whose MSGs got a first reply frame.
    await reply.ans(encodeXmlEntity(buildStarted(id)), RAW).catch(() => {});
    if (this.input && this.channel) {
      this.pumpInput(this.channel, id).catch((e: unknown) => this.log.warn('input relay failed', { err: e, job: id }));
    }
    let status: number;
    try {
      status = await this.pumpOutput(reply, id, this.reader);
    } catch (e) {
      if (this.detached) return;
      throw e;
    } finally {
      this.reader.close();
      this.reader = undefined;
    }
    this.finished(status);
    if (this.closed) return;
    await reply.ans(encodeXmlEntity(buildExit(status)), RAW).catch(() => {});
    reply.nul();
  }

  private async startJob(c: CommandClient, id: number): Promise<void> {
    const what = `job ${id} cannot start`;
    if (!this.input) await refusing(what, c.call(['RPUSH', `/jobs/${id}/in`, '0:']));
    await refusing(what, c.call(['SET', `/jobs/${id}`, '']));
    this.log.debug('job started', { job: id });
  }

  private finished(status: number): void {
    if (this.state === 'exited') return;
    this.state = 'exited';
    this.exitStatus = status;
    this.releaseQuota();
    this.hub.metrics.jobs.dec({ state: 'running' });
    const result = this.stopped ? 'stopped' : 'exited';
    this.hub.metrics.jobsFinished.inc({ result });
    if (this.runAt !== undefined) this.hub.metrics.jobSeconds.observe({ result }, Number(process.hrtime.bigint() - this.runAt) / 1e9);
    this.log.debug('job exited', { job: this.id, status });
  }

  /** Relays /jobs/$id/out as ANS until the exit status appears; returns it. */
  private async pumpOutput(reply: Responder, id: number, reader: CommandClient): Promise<number> {
    const out = `/jobs/${id}/out`;
    const wait = `/jobs/${id}/wait`;
    let batchSupported = true;
    for (;;) {
      const r = await reader.call(['BLPOP', out, wait, '1']);
      if (r === null) {
        // Timed out: someone else may have taken the wait entry; the status key tells.
        const s = bulk(await reader.call(['GET', `/jobs/${id}/status`]));
        if (s !== undefined && asNumber(await reader.call(['LLEN', out])) === 0) return Number(s.toString('latin1'));
        continue;
      }
      const [key, value] = r as Value[];
      const v = bulk(value);
      if (bulk(key)?.toString('latin1') === wait) {
        // Every output frame precedes the exit, but where out and wait are polled apart (a Redis Cluster keeps them
        // on different nodes) the exit can be seen first: relay what is still in out before the exit.
        await this.drainOutput(reply, reader, out);
        return v ? Number(v.toString('latin1')) : 0;
      }
      const frames: Buffer[] = v ? [v] : [];
      if (batchSupported) {
        try {
          const more = await reader.call(['LPOP', out, String(OUTPUT_BATCH)]);
          if (Array.isArray(more)) for (const f of more) if (Buffer.isBuffer(f)) frames.push(f);
        } catch {
          batchSupported = false;
        }
      }
      await this.relay(reply, frames);
    }
  }

  private async drainOutput(reply: Responder, reader: CommandClient, out: string): Promise<void> {
    for (;;) {
      const f = bulk(await reader.call(['LPOP', out]));
      if (f === undefined) return;
      await this.relay(reply, [f]);
    }
  }

  private async relay(reply: Responder, frames: Buffer[]): Promise<void> {
    let stream = -1;
    let parts: Buffer[] = [];
    let size = 0;
    const flush = async (): Promise<void> => {
      if (parts.length === 0) return;
      const list = parts;
      const n = size;
      parts = [];
      size = 0;
      this.hub.metrics.bytes.inc(OUT_BYTES, n);
      if (this.closed) return;
      // Small data is copied once, behind its header block; large data (always a single part, see the merge
      // condition below) goes by reference (the session writes header and data in one gathered write).
      let sent: Promise<unknown>;
      if (n < MERGE_LIMIT) {
        const prefix = streamPrefix(stream);
        list.unshift(prefix);
        sent = reply.ans(Buffer.concat(list, prefix.length + n), RAW);
      } else {
        sent = reply.ans(list.length === 1 ? list[0]! : Buffer.concat(list, n), { headers: streamHeaders(stream) });
      }
      await sent.catch(() => {});
    };
    for (const f of frames) {
      const p = parseOutputFrame(f);
      if (!p) continue;
      if (p.data === null) {
        await flush();
        if (!this.closed) await reply.ans(encodeStreamData(p.stream), RAW).catch(() => {});
        continue;
      }
      if (p.stream !== stream || size + p.data.length >= MERGE_LIMIT) {
        await flush();
        stream = p.stream;
      }
      parts.push(p.data);
      size += p.data.length;
    }
    await flush();
  }

  /** Sends `<input/>` and relays the peer's answers to /jobs/$id/in. */
  private async pumpInput(channel: Channel, id: number): Promise<void> {
    const c = await this.hub.backend.openClient();
    const open = new Set<number>([0]);
    const push = async (frame: Buffer, force = false): Promise<boolean> => {
      for (let delay = 2; ; delay = Math.min(delay * 2, 100)) {
        if (this.state === 'exited' || this.detached || (this.closed && !force)) return false;
        try {
          await c.call(['RPUSH', `/jobs/${id}/in`, frame]);
          return true;
        } catch (e) {
          if (!(e instanceof BeamCommandError) || !/input queue full/.test(e.message)) return false;
          await sleep(delay);
        }
      }
    };
    const closeStream = async (n: number): Promise<void> => {
      if (!open.delete(n)) return;
      await push(Buffer.from(`${n}:`), true);
    };
    try {
      const answers = channel.requestMany(INPUT_XML, { contentType: BEEP_XML_CONTENT_TYPE });
      for await (const a of answers) {
        if (a.type === 'RPY') break;
        let what;
        try {
          what = classifyAnswer(entityFromPairs(a.entity.headers, a.payload), 0);
        } catch (e) {
          this.log.debug('bad input answer ignored', { err: e, job: id });
          continue;
        }
        if (what.kind === 'data') {
          this.hub.metrics.bytes.inc({ direction: 'in', profile: 'job' }, what.data.length);
          if (!open.has(what.stream) && what.stream !== 0) open.add(what.stream);
          if (what.stream === 0 && !open.has(0)) continue;
          const prefix = Buffer.from(`${what.stream}:`);
          for (let off = 0; off < what.data.length; off += INPUT_FRAME) {
            if (!(await push(Buffer.concat([prefix, what.data.subarray(off, off + INPUT_FRAME)])))) break;
          }
        } else if (what.kind === 'close') {
          await closeStream(what.stream);
        } else {
          try {
            const sig = parseSignal(what.body);
            await c.call(['RPUSH', `/jobs/${id}/signal`, sig]).catch(() => {});
          } catch {
            // not a signal: ignored
          }
        }
      }
    } catch (e) {
      this.log.debug('input reply ended with an error', { err: e, job: id });
    } finally {
      for (const n of [...open]) await closeStream(n).catch(() => {});
      c.close();
    }
  }

  /** The peer asked to close the channel: stop a running, attached job so that the run reply can end. */
  onCloseRequest(): void {
    if (!this.detach) this.stop();
  }

  private stop(): void {
    if (this.stopped || this.id === undefined || this.state !== 'running') return;
    this.stopped = true;
    const id = this.id;
    // A client of its own: the channel's client may be released while this is under way.
    void this.hub.backend
      .openClient()
      .then((c) => c.call(['RPUSH', `/jobs/${id}/signal`, 'TERM']).finally(() => c.close()))
      .catch((e: unknown) => this.log.debug('stopping the job failed', { err: e, job: id }));
  }

  /** The channel closed or the session ended. */
  onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.releaseQuota();
    this.hub.channels.delete(this);
    if (this.id !== undefined) this.hub.held.delete(this.id);
    if (this.state === 'running') {
      if (this.detach) {
        this.detached = true;
        this.hub.metrics.jobs.dec({ state: 'running' });
        this.hub.metrics.jobs.inc({ state: 'detached' });
        this.reader?.close();
        this.log.debug('job detached', { job: this.id });
      } else {
        this.stop();
        // The reader keeps draining output until the job exits, so the job is never blocked writing.
        if (!this.ran) {
          // Started at creation and never run: nobody will follow it.
          this.hub.metrics.jobs.dec({ state: 'running' });
          this.hub.metrics.jobsFinished.inc({ result: 'stopped' });
          this.state = 'exited';
        }
      }
    } else if (this.state === 'created' && this.id !== undefined) {
      this.hub.metrics.jobs.dec({ state: 'created' });
    }
    if (this.state !== 'running' || this.detached) this.cmd?.close();
    else void this.chain.finally(() => this.cmd?.close());
  }
}
