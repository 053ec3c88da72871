import type { Socket } from 'node:net';
import { debuglog } from 'node:util';
import RedisParser from 'redis-parser';
import { BeamConnectionError, BeamError } from './errors.js';
import { encodeCommand, type CommandArg } from './resp-command.js';
import { openSocket, type BeamClientTlsOptions } from './socket.js';
import type { ResolvedTarget } from './target.js';

const debug = debuglog('beamgate:client');

/** A raw reply: Buffer (bulk/simple string), number, null, arrays of those; error replies reject. */
export type RawReply = Buffer | number | null | RawReply[];

interface Pending {
  resolve: (r: RawReply) => void;
  reject: (e: Error) => void;
}

export interface ConnectionOptions {
  password?: string;
  connectTimeoutMs?: number;
  /** TLS (also implied by a `rediss://` URL): `true` or the CA, servername and verification options. */
  tls?: BeamClientTlsOptions | boolean;
}

/**
 * One RESP2 connection: commands are written at once (pipelined) and replies matched in order.
 * Replies are parsed by redis-parser with Buffers for strings, so binary data survives.
 */
export class RespConnection {
  private socket: Socket | null = null;
  private readonly pending: Pending[] = [];
  private closedError: Error | null = null;
  private readonly parser: RedisParser;

  constructor(
    private readonly target: ResolvedTarget,
    private readonly options: ConnectionOptions = {},
  ) {
    this.parser = new RedisParser({
      returnReply: (r: RawReply) => this.pending.shift()?.resolve(r),
      returnError: (e: Error) => this.pending.shift()?.reject(new BeamError(e.message, { cause: e })),
      returnFatalError: (e: Error) => this.fail(new BeamConnectionError(`protocol error: ${e.message}`, 'BEAM_PROTOCOL', { cause: e })),
      returnBuffers: true,
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
    socket.on('data', (chunk: Buffer) => this.parser.execute(chunk));
    socket.on('error', (e) => this.fail(new BeamConnectionError(`connection error: ${e.message}`, (e as NodeJS.ErrnoException).code ?? 'BEAM_CONNECTION', { cause: e })));
    socket.on('close', () => this.fail(new BeamConnectionError('connection closed', 'BEAM_CLOSED')));
    await new Promise<void>((resolve, reject) => {
      const timeout = this.options.connectTimeoutMs ?? 10_000;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new BeamConnectionError(`connect timed out after ${timeout} ms`, 'ETIMEDOUT'));
      }, timeout);
      socket.once(ready, () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(new BeamConnectionError(`cannot connect: ${e.message}`, (e as NodeJS.ErrnoException).code ?? 'BEAM_CONNECTION', { cause: e }));
      });
    });
    const password = this.options.password ?? this.target.password;
    if (password !== undefined) await this.call(['AUTH', password]);
  }

  /** Sends one command; resolves with its reply, rejects with BeamError for an error reply. */
  call(args: readonly CommandArg[]): Promise<RawReply> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (!this.socket) return Promise.reject(new BeamConnectionError('not connected (call connect() first)', 'BEAM_NOT_CONNECTED'));
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.socket!.write(encodeCommand(args));
    });
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
