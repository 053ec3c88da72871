/**
 * A remote Beam (or Redis/Valkey with a Beam job engine) context reached over TCP. Job commands go through the
 * Beam client's RESP connections (one per blocking reader); RESP-profile channels relay raw RESP bytes on a
 * connection of their own.
 */
import type { Socket } from 'node:net';
import { openSocket, RespConnection, resolveTarget, type BeamClientTlsOptions, type RawReply } from '@beamgate/beam';
import { ContextUnavailableError } from '../errors.js';
import { pubSubInfo, scanReply } from '../resp/reply-scanner.js';
import { refusing } from './refusal.js';
import { checkPublished } from './remote-check.js';
import { BeamCommandError, type Backend, type CommandClient, type HandlerCheck, type RespResult, type RespSession, type RespSessionHooks, type Value } from './types.js';

export interface RemoteOptions {
  host: string;
  port: number;
  /** Database for RESP-profile channels (job keys always live in database 0). */
  db?: number;
  connectTimeoutMs?: number;
  /** TLS to the context (a `rediss://` URL): `true` or CA, servername and verification options. */
  tls?: BeamClientTlsOptions | true;
}

function toValue(r: RawReply): Value {
  return r as Value;
}

function isConnectionError(e: unknown): boolean {
  const name = (e as { name?: string } | null)?.name;
  return name === 'BeamConnectionError';
}

class RemoteClient implements CommandClient {
  constructor(private readonly conn: RespConnection) {}

  async call(argv: ReadonlyArray<Buffer | string>): Promise<Value> {
    try {
      return toValue(await this.conn.call(argv));
    } catch (e) {
      if (isConnectionError(e)) throw new ContextUnavailableError(`context connection lost: ${(e as Error).message}`, { cause: e });
      throw new BeamCommandError((e as Error).message, { cause: e });
    }
  }

  close(): void {
    void this.conn.close().catch(() => {});
  }
}

export function encodeCommand(argv: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${argv.length}\r\n`)];
  for (const a of argv) parts.push(Buffer.from(`$${a.length}\r\n`), a, Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

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

/** Raw relay of one RESP-profile channel to the remote server. */
class RemoteResp implements RespSession {
  private buf: Buffer = Buffer.alloc(0);
  private readonly pending: Pending[] = [];
  private subs = 0;
  private failed: Error | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly hooks: RespSessionHooks,
  ) {
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
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    let pos = 0;
    try {
      for (;;) {
        const end = scanReply(this.buf, pos);
        if (end < 0) break;
        this.reply(this.buf.subarray(pos, end));
        pos = end;
      }
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    this.buf = pos >= this.buf.length ? Buffer.alloc(0) : Buffer.from(this.buf.subarray(pos));
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

export class RemoteBackend implements Backend {
  readonly kind = 'remote' as const;
  private readonly clients = new Set<CommandClient>();
  private readonly resps = new Set<RespSession>();

  constructor(private readonly opts: RemoteOptions) {}

  /** Checks that the context answers (PING) so that a bad URL fails at start. */
  async probe(): Promise<void> {
    const c = await this.openClient();
    try {
      await refusing(`the context at ${this.opts.host}:${this.opts.port} does not answer PING`, c.call(['PING']));
    } finally {
      c.close();
      this.clients.delete(c);
    }
  }

  async openClient(): Promise<CommandClient> {
    const conn = new RespConnection(resolveTarget({ host: this.opts.host, port: this.opts.port }), {
      connectTimeoutMs: this.opts.connectTimeoutMs ?? 5000,
      ...(this.opts.tls ? { tls: this.opts.tls } : {}),
    });
    try {
      await conn.connect();
    } catch (e) {
      throw new ContextUnavailableError(`cannot reach the context at ${this.opts.host}:${this.opts.port}: ${(e as Error).message}`, { cause: e });
    }
    const client = new RemoteClient(conn);
    const close = client.close.bind(client);
    client.close = () => {
      this.clients.delete(client);
      close();
    };
    this.clients.add(client);
    return client;
  }

  check(name: string, args: readonly string[], client: CommandClient): Promise<HandlerCheck> {
    return checkPublished(client, name, args);
  }

  async openResp(hooks: RespSessionHooks): Promise<RespSession> {
    const { socket, ready } = openSocket(resolveTarget({ host: this.opts.host, port: this.opts.port }), this.opts.tls);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ContextUnavailableError('context connect timed out'));
      }, this.opts.connectTimeoutMs ?? 5000);
      socket.once(ready, () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(new ContextUnavailableError(`cannot reach the context: ${e.message}`, { cause: e }));
      });
    });
    const s = new RemoteResp(socket, hooks);
    if (this.opts.db) await s.exec([Buffer.from('SELECT'), Buffer.from(String(this.opts.db))]);
    const close = s.close.bind(s);
    s.close = () => {
      this.resps.delete(s);
      close();
    };
    this.resps.add(s);
    return s;
  }

  async close(): Promise<void> {
    for (const c of [...this.clients]) c.close();
    for (const r of [...this.resps]) r.close();
  }
}
