import { Buffer } from 'node:buffer';
import { readSync } from 'node:fs';
import type { Socket } from 'node:net';
import { debuglog } from 'node:util';
import { REPLY_OFF, REPLY_SKIP, REPLY_SKIP_NEXT, type DispatchClient, type Dispatcher } from '../context/dispatch.js';
import { RequestDecoder, RespProtocolError, type RequestDecoderLimits } from '../wire/request-decoder.js';
import { RespWriter } from '../wire/resp-encoder.js';
import { ErrorReply, type Reply } from '../wire/reply.js';
import { isLocalAddress } from './auth.js';
import type { ClientMemory, MemoryHolder } from './client-memory.js';
import { trackingFor } from './tracking/tracking.js';

const log = debuglog('beamgate:server');
const REPLICA_COMMANDS = new Set(['sync', 'psync', 'replconf']);
const PUSH_REPLIES = new Set(['subscribe', 'unsubscribe', 'psubscribe', 'punsubscribe']);

export interface ConnectionLimits extends RequestDecoderLimits {
  /** Stop executing a client's commands while this many reply bytes wait in its socket. Default 1 MiB. */
  outputHighWater?: number;
  /** Stop reading a client's socket while this many decoded commands wait. Default 1024. */
  maxPendingCommands?: number;
  /** Stop reading a client's socket while decoded commands holding this many bytes wait. Default 16 MiB. */
  maxPendingBytes?: number;
  /** Pub/sub clients: close when pending output exceeds this. Default 32 MiB (Redis pubsub hard limit). */
  pubsubHardLimit?: number;
  /** Pub/sub clients: close when pending output stays above this for pubsubSoftSeconds. Default 8 MiB. */
  pubsubSoftLimit?: number;
  /** Default 60 seconds. */
  pubsubSoftSeconds?: number;
}

export const DEFAULT_CONNECTION_LIMITS = {
  outputHighWater: 1024 * 1024,
  maxPendingCommands: 1024,
  maxPendingBytes: 16 * 1024 * 1024,
  maxQueryBuffer: 1024 * 1024 * 1024,
  pubsubHardLimit: 32 * 1024 * 1024,
  pubsubSoftLimit: 8 * 1024 * 1024,
  pubsubSoftSeconds: 60,
};

/**
 * One RESP client over a socket: decodes requests, runs them strictly in order through the dispatcher
 * (a blocking command holds the ones behind it), and writes all replies produced in one turn in one write.
 */
export class Connection implements MemoryHolder {
  readonly client: DispatchClient;
  private readonly decoder: RequestDecoder;
  private readonly writer = new RespWriter();
  private readonly limits: typeof DEFAULT_CONNECTION_LIMITS;
  private queue: Buffer[][] = [];
  private qi = 0;
  private waiting = false;
  private protocolError: ErrorReply | null = null;
  private ending = false;
  private flushScheduled = false;
  private softSince = 0;
  private readPaused = false;
  /** Replies pile up in the socket: command execution waits for 'drain'. */
  private outputBlocked = false;
  private errorSent = false;
  /** Request bytes this client holds, as last reported to the server-wide budget. */
  heldBytes = 0;

  constructor(
    readonly socket: Socket,
    readonly dispatcher: Dispatcher,
    limits: ConnectionLimits,
    private readonly onClosed: (c: Connection) => void,
    private readonly memory?: ClientMemory,
  ) {
    this.limits = { ...DEFAULT_CONNECTION_LIMITS, ...stripUndefined(limits) };
    this.decoder = new RequestDecoder(limits);
    socket.setNoDelay(true);
    const addr = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : '/unix';
    const laddr = socket.localAddress ? `${socket.localAddress}:${socket.localPort}` : '/unix';
    this.client = dispatcher.createClient({
      addr,
      laddr,
      local: isLocalAddress(socket.remoteAddress),
      onPush: (r) => this.push(r),
      onKill: () => this.destroy(),
    });
    this.client.io = {
      fd: () => (socket as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1,
      queryBuffer: () => this.decoder.bufferedBytes,
      output: () => this.socket.writableLength + this.writer.length,
    };
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', (e) => log('client %d socket error: %s', this.client.id, e.message));
    socket.on('close', () => this.onClose());
    socket.on('end', () => {
      // The peer is gone (Redis frees such clients): a blocked command is cancelled; replies to
      // commands already received are still sent before we close our side.
      if (this.waiting) this.destroy();
      else if (this.qi >= this.queue.length) socket.end();
      else this.ending = true;
    });
  }

  private onData(chunk: Buffer): void {
    if (this.protocolError || this.ending) return;
    const e = this.decoder.feed(chunk, this.queue);
    if (e) {
      // Commands before the error still run (as in Redis); the error is the last reply.
      log('client %d protocol error: %s', this.client.id, e.message);
      this.protocolError = new ErrorReply(e.message);
      this.socket.pause();
    } else {
      const over = this.account();
      if (over) this.refuse(over);
    }
    this.run();
  }

  /**
   * While a script holds the event loop past busy-reply-threshold (Server.serveWhileBusy): reads what the peer sent
   * straight from the socket's descriptor and handles it as usual, so it gets its BUSY replies (written at once: the
   * socket tries a synchronous write). Only an idle plain socket qualifies, so replies keep their order; libuv
   * simply finds nothing more to read afterwards.
   */
  pollWhileBusy(): void {
    if (this.waiting || this.qi < this.queue.length || this.protocolError || this.ending || this.readPaused) return;
    const s = this.socket as Socket & { encrypted?: boolean };
    if (s.destroyed || s.encrypted || process.platform === 'win32') return;
    const fd = this.client.io?.fd() ?? -1;
    if (fd < 0) return;
    const buf = Buffer.allocUnsafe(16384);
    for (let rounds = 0; rounds < 64; rounds++) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch {
        return; // EAGAIN: nothing more now
      }
      if (n === 0) return; // EOF: libuv sees it on its next read
      this.onData(Buffer.from(buf.subarray(0, n)));
      if (n < buf.length || this.waiting || this.qi < this.queue.length) return;
    }
  }

  /** Checks the client's query-buffer limit and reports its bytes to the server-wide budget. */
  private account(): RespProtocolError | undefined {
    const held = this.decoder.heldBytes;
    if (held > this.limits.maxQueryBuffer) {
      return new RespProtocolError('query-buffer-limit', 'ERR Protocol error: query buffer limit reached');
    }
    if (this.memory && held !== this.heldBytes) this.memory.update(this, held);
    return undefined;
  }

  /** Stops reading, drops what the client's requests hold; the error goes out once the queue is empty. */
  private refuse(e: RespProtocolError): void {
    log('client %d refused: %s', this.client.id, e.message);
    this.decoder.abort(e);
    this.protocolError = new ErrorReply(e.message);
    this.socket.pause();
    this.queue = [];
    this.qi = 0;
    this.memory?.update(this, 0);
  }

  /** The server-wide budget is over and this client holds the most: refuse it (see ClientMemory). */
  evict(): void {
    if (this.protocolError) return;
    this.refuse(new RespProtocolError('query-buffer-limit', 'ERR request memory of all clients over maxmemory-clients; closing the largest'));
    if (this.waiting) this.destroy();
    else queueMicrotask(() => this.run());
  }

  private run(): void {
    const d = this.dispatcher;
    const reg = d.registry;
    const c = this.client;
    c.lastActive = Date.now();
    while (!this.waiting && this.qi < this.queue.length) {
      if (this.socket.writableLength + this.writer.length > this.limits.outputHighWater) {
        // The client is not reading its replies: stop executing (and reading) until 'drain'.
        this.outputBlocked = true;
        break;
      }
      const argv = this.queue[this.qi]!;
      this.queue[this.qi++] = undefined as never;
      // Client tracking: NOLOOP needs the running command's client, and pushes wait for its reply (see writeHeld).
      reg.current = c;
      c.busy = true;
      const r = d.route(c, argv);
      reg.current = null;
      if (r instanceof Promise) {
        this.waiting = true;
        this.flush();
        r.then(
          (v) => this.resume(v),
          (err: unknown) => this.resume(new ErrorReply(`ERR ${err instanceof Error ? err.message : String(err)}`)),
        );
        break;
      }
      if (c.replyFlags === 0) this.writer.write(r, c.resp);
      else this.writeQuiet(r);
      c.busy = false;
      if (c.heldPushes !== null) this.writeHeld();
      if (c.closeAfterReply) {
        this.closeAfterReply();
        return;
      }
    }
    if (this.qi >= this.queue.length) {
      this.queue.length = 0;
      this.qi = 0;
      this.decoder.executed();
      if (this.protocolError) {
        if (this.errorSent) return;
        this.errorSent = true;
        this.writer.write(this.protocolError, c.resp);
        this.closeAfterReply();
        return;
      }
      if (this.ending && !this.waiting) {
        this.flush();
        this.socket.end();
        return;
      }
    }
    if (this.memory && this.decoder.heldBytes !== this.heldBytes) this.memory.update(this, this.decoder.heldBytes);
    if (
      this.outputBlocked ||
      this.queue.length - this.qi > this.limits.maxPendingCommands ||
      (this.qi < this.queue.length && this.decoder.completedBytes > this.limits.maxPendingBytes)
    ) {
      this.pauseReading();
    } else this.resumeReading();
    this.flush();
    if (this.outputBlocked && this.socket.writableLength === 0) {
      // The kernel took everything at once, so no 'drain' will come: go on after pending I/O.
      setImmediate(() => this.onDrain());
    }
  }

  private resume(v: Reply): void {
    this.waiting = false;
    if (this.client.closed) return;
    if (this.client.replyFlags === 0) this.writer.write(v, this.client.resp);
    else this.writeQuiet(v);
    this.client.busy = false;
    if (this.client.heldPushes !== null) this.writeHeld();
    if (this.client.closeAfterReply) {
      this.closeAfterReply();
      return;
    }
    this.run();
  }

  /** A command's reply under CLIENT REPLY OFF/SKIP: dropped, except subscribe confirmations (pushes in Redis). */
  private writeQuiet(r: Reply): void {
    const c = this.client;
    if ((c.replyFlags & (REPLY_OFF | REPLY_SKIP)) === 0 || PUSH_REPLIES.has(c.lastCommand)) this.writer.write(r, c.resp);
    // The skip flag covers one command: the one after CLIENT REPLY SKIP.
    c.replyFlags = (c.replyFlags & REPLY_OFF) | ((c.replyFlags & REPLY_SKIP_NEXT) !== 0 ? REPLY_SKIP : 0);
  }

  /** Pushes held back while the client's command ran (tracking invalidations go after its reply). */
  private writeHeld(): void {
    const c = this.client;
    const held = c.heldPushes!;
    c.heldPushes = null;
    for (const r of held) this.writer.write(r, c.resp);
  }

  private pauseReading(): void {
    if (!this.readPaused) {
      this.readPaused = true;
      this.socket.pause();
    }
  }

  private resumeReading(): void {
    if (this.readPaused && !this.protocolError) {
      this.readPaused = false;
      this.socket.resume();
    }
  }

  private onDrain(): void {
    if (this.outputBlocked) {
      this.outputBlocked = false;
      if (!this.waiting) this.run();
    }
  }

  /** Out-of-band replies (pub/sub messages), with Redis' pubsub output buffer limits. */
  private push(r: Reply): void {
    if (this.client.closed) return;
    this.writer.write(r, this.client.resp);
    const pending = this.socket.writableLength + this.writer.length;
    const l = this.limits;
    if (pending > l.pubsubHardLimit) {
      log('client %d closed: pubsub output over the hard limit', this.client.id);
      this.destroy();
      return;
    }
    if (pending > l.pubsubSoftLimit) {
      const now = Date.now();
      if (this.softSince === 0) this.softSince = now;
      else if (now - this.softSince > l.pubsubSoftSeconds * 1000) {
        log('client %d closed: pubsub output over the soft limit for too long', this.client.id);
        this.destroy();
        return;
      }
    } else {
      this.softSince = 0;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  private flush(): void {
    if (this.writer.length === 0 || this.socket.destroyed) return;
    const socket = this.socket;
    socket.write(this.writer.view());
    // Nothing left in the socket's queue means the kernel took the bytes synchronously: the writer's
    // buffer is free again. Otherwise the socket still holds a view of it and the writer starts a new one.
    this.writer.release(socket.writableLength === 0);
  }

  private closeAfterReply(): void {
    this.ending = true;
    this.flush();
    this.socket.end();
    // A peer that never reads must not keep the socket forever.
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  /**
   * Redis' `timeout`: true when the client sent nothing for `ms` and is not waiting on a blocking command,
   * subscribed, a monitor or a replica (those are idle by design).
   */
  idleFor(ms: number, now: number): boolean {
    const c = this.client;
    if (this.waiting || c.subscriptionCount > 0 || c.monitor || REPLICA_COMMANDS.has(c.lastCommand)) return false;
    return !this.socket.destroyed && now - c.lastActive > ms;
  }

  /** Closes the connection at once. */
  destroy(): void {
    this.socket.destroy();
  }

  private onClose(): void {
    if (this.client.tracking !== null) trackingFor(this.dispatcher).disable(this.client);
    this.dispatcher.release(this.client);
    this.queue = [];
    this.decoder.abort(new RespProtocolError('query-buffer-limit', 'closed'));
    this.memory?.update(this, 0);
    this.onClosed(this);
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
