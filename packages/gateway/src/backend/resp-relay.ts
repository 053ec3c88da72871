/**
 * Raw relay of one RESP-profile channel to a remote server: the client's commands are written as RESP, the
 * server's replies are split with beam's incremental ReplyDecoder (bounded by maxRespMessage) and passed on
 * unchanged, so RESP3, pub/sub and every command work as the server implements them.
 */
import type { Socket } from 'node:net';
import { encodeCommand, ReplyDecoder, RespReplyError } from '@beamgate/beam';
import { ContextUnavailableError, GatewayRespError } from '../errors.js';
import { pubSubInfo } from './pubsub-info.js';
import type { RespResult, RespSession, RespSessionHooks } from './types.js';

const SUB = new Set(['subscribe', 'psubscribe', 'ssubscribe']);
const UNSUB = new Set(['unsubscribe', 'punsubscribe', 'sunsubscribe']);
const MESSAGES = new Set(['message', 'pmessage', 'smessage']);

interface Pending {
  name: string;
  /** Replies still expected; -1: until a confirmation reports zero subscriptions. */
  expect: number;
  parts: RespResult['parts'];
  resolve: (r: RespResult) => void;
  reject: (e: Error) => void;
}

export class RespRelay implements RespSession {
  private readonly replies: ReplyDecoder;
  private readonly pending: Pending[] = [];
  private subs = 0;
  private failed: Error | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly hooks: RespSessionHooks,
    maxReplyBytes: number,
  ) {
    this.replies = new ReplyDecoder({ onRaw: (bytes) => this.reply(bytes) }, { maxReplyBytes });
    socket.on('data', (d: Buffer) => this.data(d));
    socket.on('error', (e) => this.fail(new ContextUnavailableError(`context connection lost: ${e.message}`, { cause: e })));
    socket.on('close', () => this.fail(new ContextUnavailableError('context connection closed')));
  }

  get subscriptionCount(): number {
    return this.subs;
  }

  exec(argv: Buffer[]): Promise<RespResult> {
    if (this.failed) return Promise.reject(this.failed);
    const name = argv[0]?.toString('latin1').toLowerCase() ?? '';
    let expect = 1;
    if (SUB.has(name)) expect = Math.max(1, argv.length - 1);
    else if (UNSUB.has(name)) expect = argv.length > 1 ? argv.length - 1 : -1;
    return new Promise((resolve, reject) => {
      this.pending.push({ name, expect, parts: [], resolve, reject });
      this.socket.write(encodeCommand(argv));
    });
  }

  private data(d: Buffer): void {
    try {
      this.replies.feed(d);
    } catch (e) {
      this.fail(e instanceof RespReplyError ? new GatewayRespError(e.message, { cause: e }) : (e as Error));
    }
  }

  private reply(bytes: Buffer): void {
    const info = pubSubInfo(bytes);
    const head = this.pending[0];
    if (info && MESSAGES.has(info.kind) && (this.subs > 0 || bytes[0] === 0x3e)) {
      this.hooks.onPush(bytes);
      return;
    }
    if (!head) {
      if (bytes[0] === 0x3e) this.hooks.onPush(bytes);
      return;
    }
    const isConfirmation = info !== undefined && info.count !== undefined && (SUB.has(head.name) || UNSUB.has(head.name));
    if (isConfirmation) this.subs = info.count!;
    head.parts.push({ bytes, push: isConfirmation });
    const done =
      bytes[0] === 0x2d || // an error ends the command
      (head.expect === -1 ? !isConfirmation || this.subs === 0 : --head.expect === 0);
    if (done) {
      this.pending.shift();
      head.resolve({ parts: head.parts });
    }
  }

  private fail(e: Error): void {
    if (this.failed) return;
    this.failed = e;
    this.socket.destroy();
    for (const p of this.pending.splice(0)) p.reject(e);
  }

  close(): void {
    this.fail(new ContextUnavailableError('closed'));
  }
}
