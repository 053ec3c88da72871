import type { Socket } from 'node:net';
import { debuglog } from 'node:util';
import { encodeCommand, type CommandArg } from '../wire/command-encoder.js';
import { ErrorReply } from '../wire/reply.js';
import { ReplyDecoder, RespReplyError, type ReplyValue } from '../wire/reply-decoder.js';
import { BeamConnectionError, BeamReplyError } from './errors.js';
import { openSocket, type BeamClientTlsOptions } from './socket.js';
import type { ResolvedTarget } from './target.js';

const debug = debuglog('beamgate:client');

/**
 * A raw reply as the RESP decoder gives it (ReplyValue): Buffer for strings, number (bigint beyond 2^53), null,
 * arrays; a top-level error reply rejects, one inside an array (EXEC) is an ErrorReply.
 */
export type RawReply = ReplyValue;

interface Pending {
  resolve: (r: RawReply) => void;
  reject: (e: Error) => void;
}

export interface ConnectionOptions {
  /** ACL user for AUTH (Redis 6+); without it AUTH authenticates the default user. */
  username?: string;
  password?: string;
  connectTimeoutMs?: number;
  /** TLS (also implied by a `rediss://` URL): `true` or the CA, servername and verification options. */
  tls?: BeamClientTlsOptions | boolean;
}

/**
 * One RESP connection: commands are written at once (pipelined) and replies matched in order.
 * Replies are decoded by the package's ReplyDecoder with Buffers for strings, so binary data survives.
 */
export class RespConnection {
  private socket: Socket | null = null;
  private readonly pending: Pending[] = [];
  private closedError: Error | null = null;
  private readonly decoder: ReplyDecoder;

  constructor(
    private readonly target: ResolvedTarget,
    private readonly options: ConnectionOptions = {},
  ) {
    this.decoder = new ReplyDecoder({
      onReply: (r) => {
        const p = this.pending.shift();
        if (r instanceof ErrorReply) p?.reject(new BeamReplyError(r.message));
        else p?.resolve(r);
      },
    });
  }

  get connected(): boolean {
    return this.socket !== null && this.closedError === null;
  }

  async connect(): Promise<void> {
    if (this.socket) return;
    const t = this.target;
    const { socket, ready } = openSocket(t, this.options.tls);
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.data(chunk));
    socket.on('error', (e) => this.fail(new BeamConnectionError(`connection error: ${e.message}`, 'BEAM_CONNECTION', { cause: e })));
    socket.on('close', () => this.fail(new BeamConnectionError('connection closed', 'BEAM_CLOSED')));
    await new Promise<void>((resolve, reject) => {
      const timeout = this.options.connectTimeoutMs ?? 10_000;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new BeamConnectionError(`connect timed out after ${timeout} ms`, 'BEAM_CONNECT_TIMEOUT'));
      }, timeout);
      socket.once(ready, () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(new BeamConnectionError(`cannot connect: ${e.message}`, 'BEAM_CONNECTION', { cause: e }));
      });
    });
    const password = this.options.password ?? this.target.password;
    const username = this.options.username ?? this.target.username;
    if (password !== undefined) await this.call(username !== undefined ? ['AUTH', username, password] : ['AUTH', password]);
  }

  /** Sends one command; resolves with its reply, rejects with BeamReplyError for an error reply. */
  call(args: readonly CommandArg[]): Promise<RawReply> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (!this.socket) return Promise.reject(new BeamConnectionError('not connected (call connect() first)', 'BEAM_NOT_CONNECTED'));
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.socket!.write(encodeCommand(args));
    });
  }

  private data(chunk: Buffer): void {
    try {
      this.decoder.feed(chunk);
    } catch (e) {
      if (!(e instanceof RespReplyError)) throw e;
      this.fail(new BeamConnectionError(`protocol error: ${e.message}`, 'BEAM_PROTOCOL', { cause: e }));
    }
  }

  private fail(e: Error): void {
    if (this.closedError) return;
    debug('connection failed: %s', e.message);
    this.closedError = e;
    this.socket?.destroy();
    for (const p of this.pending.splice(0)) p.reject(e);
  }

  /** Closes the socket; pending commands reject with BeamConnectionError('connection closed'). */
  async close(): Promise<void> {
    const s = this.socket;
    if (!s || this.closedError) return;
    this.closedError = new BeamConnectionError('connection closed', 'BEAM_CLOSED');
    for (const p of this.pending.splice(0)) p.reject(this.closedError);
    if (s.closed) return;
    await new Promise<void>((resolve) => {
      s.once('close', () => resolve());
      s.end();
      setTimeout(() => s.destroy(), 1000).unref();
    });
  }
}
