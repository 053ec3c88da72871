/** Public entry points: listen(), listenOn(), connect(), createSession(). */
import { TypedEventEmitter } from '@beamgate/base';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { debuglog } from 'node:util';
import { BeepClosedError, BeepUsageError } from '../errors.js';
import type { SessionOptions } from '../session/options.js';
import { DEFAULT_MAX_TOTAL_QUEUED_BYTES, SendBudget } from '../session/send-budget.js';
import { Session } from '../session/session.js';
import { rememberPeerAddress } from '../profiles/tuning/peer-address.js';
import { bindSession } from '../transport/duplex-binding.js';
import type { ListenerSecurity } from '../profiles/tuning/listener-security.js';
import type { ListenerSecurityOptions } from '../profiles/tuning/security-options.js';
import { applyListenerSecurity, secureConnected, type ConnectSecurityOptions } from './session-security.js';

const debug = debuglog('beamgate:beep');

/** Session options without the role (implied by listen/connect). */
export type PeerOptions = Omit<SessionOptions, 'role'>;

/** Options of `createSession()`: bind a session to any Duplex. */
export interface CreateSessionOptions extends SessionOptions, ListenerSecurityOptions {
  duplex: Duplex;
}

/** Create a session over any byte stream and send our greeting at once. `await session.ready` for the peer's. */
export function createSession(opts: CreateSessionOptions): Session {
  const { duplex, ...withSecurity } = opts;
  if (duplex === undefined || typeof (duplex as Duplex).write !== 'function') {
    throw new BeepUsageError('createSession needs a duplex stream');
  }
  const { options: rest, security } = applyListenerSecurity(withSecurity);
  if (security !== undefined && rest.role !== 'listener') {
    throw new BeepUsageError('tls/sasl/require options serve listener sessions; initiators use session.startTls() and session.authenticate()');
  }
  const session = new Session(rest);
  bindSession(session, duplex);
  return session;
}

/** Where `connect()` goes: TCP host/port, a unix socket path, or an already connected Duplex. */
export type ConnectTarget = { host?: string; port: number } | { path: string } | Duplex;

export interface ConnectOptions extends PeerOptions, ConnectSecurityOptions {
  /** Abort connecting / waiting for the greeting. */
  signal?: AbortSignal;
}

function isDuplex(t: ConnectTarget): t is Duplex {
  return typeof (t as Duplex).write === 'function' && typeof (t as Duplex).on === 'function';
}

/**
 * Open a session as initiator. Resolves once the peer's greeting arrived (`session.peerGreeting`,
 * `session.peerProfiles`); rejects with the session's close reason (e.g. BeepReplyError 421 when the listener is
 * unavailable, BeepProtocolError for a bad greeting) or the socket error.
 */
export async function connect(target: ConnectTarget, opts: ConnectOptions = {}): Promise<Session> {
  const { signal, tls, sasl, ...sessionOpts } = opts;
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new BeepClosedError('BEEP_ABORTED', 'aborted');
  let duplex: Duplex;
  if (isDuplex(target)) {
    duplex = target;
  } else {
    const sock =
      'path' in target
        ? net.connect({ path: target.path })
        : net.connect({ host: target.host ?? '127.0.0.1', port: target.port });
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        sock.destroy();
        reject(signal?.reason instanceof Error ? signal.reason : new BeepClosedError('BEEP_ABORTED', 'aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      sock.once('connect', () => {
        signal?.removeEventListener('abort', onAbort);
        sock.off('error', reject);
        resolve();
      });
      sock.once('error', (e) => {
        signal?.removeEventListener('abort', onAbort);
        reject(new BeepClosedError('BEEP_TRANSPORT_ERROR', e.message, { cause: e }));
      });
    });
    duplex = sock;
  }
  const session = new Session({ ...sessionOpts, role: 'initiator' });
  bindSession(session, duplex);
  const onAbort = (): void => session.destroy(new BeepClosedError('BEEP_ABORTED', 'connect aborted'));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await session.ready;
    if (tls !== undefined || sasl !== undefined) {
      const host = !isDuplex(target) && 'port' in target ? target.host : undefined;
      await secureConnected(session, { tls, sasl, host, signal });
    }
  } catch (e) {
    session.destroy(e instanceof Error ? e : undefined);
    throw session.closeReason ?? e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return session;
}

export interface ListenOptions extends PeerOptions, ListenerSecurityOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** TCP port (0 = ephemeral). */
  port?: number;
  /** Listen on a unix socket instead. */
  path?: string;
  /** Refuse sessions beyond this many with `ERR 0 0` 421 (RFC 3080 §2.4). Default: unlimited. */
  maxSessions?: number;
  /**
   * Octets all sessions of this listener may hold queued for sending (slow readers); over it the sessions holding
   * the most are dropped with BEEP_SEND_BUDGET, which is logged. Default 256 MiB; 0 = no bound.
   */
  maxTotalQueuedBytes?: number;
}

/** Listener sessions with no channel that receive nothing for this long are closed (idleTimeout). */
export const DEFAULT_LISTENER_IDLE_TIMEOUT = 300_000;

/** Events of a Listener. */
export interface ListenerEvents {
  /** A connection was accepted; its greeting is already on its way. */
  session: [session: Session];
  /** A server error (only emitted when a listener is attached). */
  error: [err: Error];
}

/**
 * A BEEP listener. Events: `session` (session: Session) for every accepted connection (its greeting is already on
 * its way), `error` (err) for server errors.
 */
export class Listener<A extends net.AddressInfo | string = net.AddressInfo | string> extends TypedEventEmitter<ListenerEvents> {
  /** Live sessions. */
  readonly sessions = new Set<Session>();
  /** TLS/SASL policy and profiles, when `tls`, `sasl` or `require` was given. */
  readonly security: ListenerSecurity | undefined;
  /** What all sessions have queued for sending, bounded by maxTotalQueuedBytes. */
  readonly sendBudget: SendBudget;
  private readonly opts: ListenOptions;

  constructor(
    /** The underlying server (net.Server or tls.Server). */
    readonly server: net.Server,
    opts: ListenOptions,
    event = 'connection',
  ) {
    super();
    const { options, security } = applyListenerSecurity(opts);
    this.opts = options;
    this.security = security;
    this.sendBudget = opts.sendBudget ?? new SendBudget(opts.maxTotalQueuedBytes ?? DEFAULT_MAX_TOTAL_QUEUED_BYTES);
    server.on(event, (sock: net.Socket) => this.accept(sock));
  }

  /** Accept one byte stream as a listener session (also usable with streams from elsewhere). */
  accept(duplex: Duplex): Session {
    const { host: _h, port: _p, path: _path, maxSessions, maxTotalQueuedBytes: _m, ...sessionOpts } = this.opts;
    const full = maxSessions !== undefined && this.sessions.size >= maxSessions;
    const session = new Session({
      idleTimeout: DEFAULT_LISTENER_IDLE_TIMEOUT,
      ...sessionOpts,
      sendBudget: this.sendBudget,
      role: 'listener',
      ...(full ? { unavailable: { code: 421, text: 'too many sessions' } } : {}),
    });
    duplex.on('error', (e) => debug('listener socket error: %s', e.message));
    bindSession(session, duplex);
    rememberPeerAddress(session, duplex);
    if (full) return session;
    this.sessions.add(session);
    session.once('close', () => this.sessions.delete(session));
    this.emit('session', session);
    return session;
  }

  /**
   * The bound address: `{ address, port, family }` for TCP, the path for a unix socket (`listen()` types it from
   * its options). Throws BeepClosedError (BEEP_LISTENER_CLOSED) when the server is not bound (closed).
   */
  address(): A {
    const a = this.server.address();
    if (a === null) throw new BeepClosedError('BEEP_LISTENER_CLOSED', 'listener is not bound (closed, or not listening yet)');
    return a as A;
  }

  /**
   * Stop listening. Live sessions are asked to release (up to `graceMs`, default 2000 ms) and then destroyed.
   */
  async close(graceMs = 2000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const all = [...this.sessions].map(async (s) => {
      const t = setTimeout(() => s.destroy(new BeepClosedError('BEEP_LISTENER_CLOSED', 'listener closed')), graceMs);
      try {
        await s.close();
      } catch {
        s.destroy(new BeepClosedError('BEEP_LISTENER_CLOSED', 'listener closed'));
      } finally {
        clearTimeout(t);
      }
    });
    await Promise.all(all);
    await closed;
  }
}

/** Serve BEEP on an existing server (net.Server; for a tls.Server pass event 'secureConnection'). */
export function listenOn(server: net.Server, opts: ListenOptions = {}, event = 'connection'): Listener {
  return new Listener(server, opts, event);
}

/** Listen for BEEP sessions on TCP (default host 127.0.0.1) or a unix socket `path`. */
export async function listen(opts: ListenOptions & { path: string }): Promise<Listener<string>>;
export async function listen(opts?: ListenOptions & { path?: undefined }): Promise<Listener<net.AddressInfo>>;
export async function listen(opts?: ListenOptions): Promise<Listener>;
export async function listen(opts: ListenOptions = {}): Promise<Listener> {
  const server = net.createServer();
  const listener = new Listener(server, opts);
  server.on('error', (e) => {
    if (listener.listenerCount('error') > 0) listener.emit('error', e);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = (): void => {
      server.off('error', reject);
      resolve();
    };
    if (opts.path !== undefined) server.listen(opts.path, done);
    else server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', done);
  });
  return listener;
}
