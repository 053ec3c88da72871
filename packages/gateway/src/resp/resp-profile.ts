/**
 * The RESP profile `urn:beamgate:profile:resp` (docs/gateway.md §3): each channel is one Beam client; a MSG
 * carries pipelined commands, the RPY their concatenated replies; a MSG that leaves the channel subscribed is
 * answered by ANS (one per pub/sub reply) until no subscription is left, then NUL.
 */
import type { Channel, IncomingMessage, ProfileDefinition, Responder, Session, StartDecision, StartInfo } from '@beamgate/beep';
import { RequestDecoder } from '@beamgate/beam';
import type { Backend, RespSession } from '../backend/types.js';
import type { GatewayLimits } from '../config-types.js';
import { GatewayRespError, replyCodeOf, replyTextOf } from '../errors.js';
import type { Logger } from '../log.js';
import type { GatewayMetrics } from '../metrics.js';
import { RESP_PROFILE_URI } from '../wire/job-xml.js';

export interface RespHub {
  backend: Backend;
  limits: GatewayLimits;
  metrics: GatewayMetrics;
  log: Logger;
  draining: boolean;
}

/** Decodes a whole MSG body into commands; anything incomplete or malformed is a 501. */
export function decodeCommands(body: Buffer, limits: Pick<GatewayLimits, 'maxRespMessage' | 'maxRespArgs'>): Buffer[][] {
  if (body.length > limits.maxRespMessage) throw new GatewayRespError(`RESP body of ${body.length} octets exceeds ${limits.maxRespMessage}`);
  const decoder = new RequestDecoder({ maxArrayLength: limits.maxRespArgs, maxQueryBuffer: limits.maxRespMessage });
  const out: Buffer[][] = [];
  const e = decoder.feed(body, out);
  if (e) throw new GatewayRespError(e.message, { cause: e });
  if (!decoder.idle) throw new GatewayRespError('the MSG ends inside a RESP command');
  return out.filter((argv) => argv.length > 0);
}

/** Commands that take over a connection (replication, MONITOR): refused on a BEEP channel. */
const UNSUPPORTED = new Set(['monitor', 'sync', 'psync', 'replconf']);

class RespChannel {
  private session: RespSession | undefined;
  private opening: Promise<RespSession> | undefined;
  /** The open one-to-many reply of the MSG that subscribed. */
  private sub: Responder | undefined;
  private subQueued = 0;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly hub: RespHub,
    private readonly identity: () => string | undefined = () => undefined,
  ) {}

  private open(): Promise<RespSession> {
    return (this.opening ??= this.hub.backend.openResp({ onPush: (b) => this.push(b), identity: this.identity() }).then((s) => {
      if (this.closed) s.close();
      this.session = s;
      return s;
    }));
  }

  private push(bytes: Buffer): void {
    const sub = this.sub;
    if (!sub || sub.done) return;
    if (this.subQueued > this.hub.limits.pubsubHighWater) {
      this.hub.metrics.errors.inc({ code: 'pubsub_overflow' });
      return;
    }
    this.answer(sub, bytes);
  }

  private answer(sub: Responder, bytes: Buffer): void {
    this.subQueued += bytes.length;
    this.hub.metrics.bytes.inc({ direction: 'out', profile: 'resp' }, bytes.length);
    sub.ans(bytes).then(
      () => (this.subQueued = 0),
      () => {},
    );
  }

  onMessage(msg: IncomingMessage, reply: Responder): void {
    this.chain = this.chain.then(() => this.handle(msg, reply)).catch((e: unknown) => {
      const code = replyCodeOf(e);
      this.hub.metrics.errors.inc({ code: String(code) });
      if (code === 451) this.hub.log.warn('resp channel error', { err: e });
      if (!reply.done && !reply.answering) reply.err(code, replyTextOf(e));
    });
  }

  private async handle(msg: IncomingMessage, reply: Responder): Promise<void> {
    const body = msg.payload;
    this.hub.metrics.bytes.inc({ direction: 'in', profile: 'resp' }, body.length);
    this.hub.metrics.respCommandBytes.observe(body.length);
    const commands = decodeCommands(body, this.hub.limits);
    const s = await this.open();
    const own: Buffer[] = [];
    const wasSubscribed = this.sub !== undefined;
    for (const argv of commands) {
      const name = argv[0]!.toString('latin1').toLowerCase();
      if (UNSUPPORTED.has(name)) {
        own.push(Buffer.from(`-ERR ${name.toUpperCase()} is not supported over BEEP\r\n`));
        continue;
      }
      const r = await s.exec(argv);
      for (const p of r.parts) {
        if (p.push && this.sub) this.answer(this.sub, p.bytes);
        else own.push(p.bytes);
      }
      if (this.sub && s.subscriptionCount === 0) {
        this.sub.nul();
        this.sub = undefined;
      }
    }
    const data = Buffer.concat(own);
    if (!wasSubscribed && s.subscriptionCount > 0 && !this.sub) {
      // This MSG subscribed: its reply becomes the ANS stream.
      this.sub = reply;
      this.subQueued = 0;
      this.answer(reply, data);
      return;
    }
    this.hub.metrics.bytes.inc({ direction: 'out', profile: 'resp' }, data.length);
    reply.rpy(data);
  }

  close(): void {
    this.closed = true;
    this.session?.close();
  }
}

export function respProfile(hub: RespHub): ProfileDefinition {
  const channels = new WeakMap<Session, Map<number, RespChannel>>();
  const of = (s: Session): Map<number, RespChannel> => {
    let m = channels.get(s);
    if (!m) channels.set(s, (m = new Map()));
    return m;
  };
  return {
    uri: RESP_PROFILE_URI,
    onStart(info: StartInfo): StartDecision {
      if (hub.draining) return { refuse: { code: 421, text: 'the gateway is shutting down' } };
      if (info.content !== undefined && info.content.length > 0) {
        hub.metrics.errors.inc({ code: '501' });
        return { refuse: { code: 501, text: 'the RESP profile takes no start content' } };
      }
      const session = info.session;
      of(session).set(info.channel, new RespChannel(hub, () => session.authenticatedIdentity));
      return true;
    },
    onChannel(ch: Channel): void {
      const rc = of(ch.session).get(ch.number);
      if (!rc) return;
      hub.metrics.channels.inc({ profile: 'resp' });
      hub.metrics.channelsTotal.inc({ profile: 'resp' });
      ch.once('close', () => {
        hub.metrics.channels.dec({ profile: 'resp' });
        of(ch.session).delete(ch.number);
        rc.close();
      });
    },
    onMessage(msg, reply): void {
      const rc = of(msg.channel.session).get(msg.channel.number);
      if (!rc) reply.err(451, 'channel state lost');
      else rc.onMessage(msg, reply);
    },
  };
}
