/**
 * The embedded context: a Beam server object (its Context, Dispatcher and job engine) living in the gateway's
 * process. Its RESP port is only opened when the gateway is configured with one.
 */
import type { AddressInfo } from 'node:net';
import { debuglog } from 'node:util';
import {
  attachJobs, createServer, encodeReply, ErrorReply, MultiReply, NULL_ARRAY, RespPush, SimpleString,
  type AuthFailure, type AuthThrottleOptions, type BeamServer, type CommandFilter, type BeamServerTlsOptions, type DispatchClient, type Dispatcher, type JobEngine,
  type JobHandler, type JobLimits, type Reply,
} from '@beamgate/beam';
import { formatAddress, type AccessConfig } from '../config-types.js';
import { respAccessFilter } from './resp-access.js';
import { ContextUnavailableError, GatewayStartError } from '../errors.js';
import { BeamCommandError, type Backend, type CommandClient, type HandlerCheck, type RespResult, type RespSession, type RespSessionHooks, type Value } from './types.js';

export interface EmbeddedOptions {
  /** Program names the `exec` handler may run. */
  exec?: readonly string[];
  /** Extra job handlers (the gateway adds `beep`). */
  handlers?: Record<string, JobHandler>;
  /** Job engine limits of the embedded context (queue sizes, running jobs...). */
  jobLimits?: Partial<JobLimits>;
  /** Plain RESP listener; undefined: none. */
  resp?: { host: string; port: number };
  /** Serve that listener over TLS. */
  respTls?: BeamServerTlsOptions;
  /** Users of the RESP listener (the SASL users): `AUTH name password`, `HELLO 3 AUTH name password`. */
  users?: ReadonlyArray<[string, string]>;
  /** Refuse everything but AUTH/HELLO/QUIT before authentication, even without users. */
  requireAuth?: boolean;
  /** AUTH lockouts per address and user (false: off). */
  authThrottle?: AuthThrottleOptions | false;
  /** Every failed or throttled AUTH, and every client refused by protected mode. */
  onAuthFailure?: (f: AuthFailure) => void;
  onDenied?: (address: string) => void;
  /** Which identities may run which jobs, applied to RESP clients too. */
  access?: AccessConfig;
}

/** SHUTDOWN over RESP: the gateway owns the context's lifecycle (SIGTERM drains it). */
const E_SHUTDOWN = new ErrorReply('ERR SHUTDOWN is not allowed here: the gateway owns this server (send SIGTERM to the beamgate process to drain and stop it)');

const debug = debuglog('beamgate:context');

const PUBSUB_COMMANDS = new Set(['subscribe', 'unsubscribe', 'psubscribe', 'punsubscribe', 'ssubscribe', 'sunsubscribe']);

/** Reply -> Value for the gateway's own commands (job keys). */
export function toValue(r: Reply): Value {
  if (r === null || r === NULL_ARRAY) return null;
  if (Buffer.isBuffer(r)) return r;
  if (typeof r === 'string') return Buffer.from(r);
  if (typeof r === 'number') return r;
  if (typeof r === 'bigint') return Number(r);
  if (typeof r === 'boolean') return r ? 1 : 0;
  if (Array.isArray(r)) return r.map(toValue);
  if (r instanceof SimpleString) return Buffer.from(r.value);
  if (r instanceof ErrorReply) throw new BeamCommandError(r.message);
  if (r instanceof RespPush) return r.items.map(toValue);
  if (r instanceof MultiReply) return r.replies.map(toValue);
  return Buffer.from(String(r));
}

/** The access policy on the context's RESP clients; `trusted` holds the BEEP job channels' clients. */
function accessFilter(dispatcher: Dispatcher, policy: { access: AccessConfig | undefined }, trusted: WeakSet<DispatchClient>): CommandFilter {
  let reader: DispatchClient | undefined;
  return respAccessFilter({
    // Read at every command: a SIGHUP reload (reloadAccess) replaces the rules.
    get access() {
      return policy.access;
    },
    trusted: (c) => trusted.has(c),
    identity: (c) => (c.user === 'default' ? undefined : c.user),
    jobName: (id) => {
      reader ??= dispatcher.createClient({ internal: true });
      const r = dispatcher.dispatch(reader, [Buffer.from('lindex'), Buffer.from('/jobs'), Buffer.from(String(id))]);
      return Buffer.isBuffer(r) ? r.toString() : undefined;
    },
  });
}

/** Idle command clients kept for reuse: registering a client and aborting it afterwards costs more than a job. */
const POOL_MAX = 64;

class EmbeddedClient implements CommandClient {
  private closed = false;
  private inFlight = 0;
  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly client: DispatchClient,
    private readonly done: (c: DispatchClient, reusable: boolean) => void,
  ) {}

  async call(argv: ReadonlyArray<Buffer | string>): Promise<Value> {
    if (this.closed) throw new ContextUnavailableError('client closed');
    this.inFlight++;
    try {
      return toValue(await this.dispatcher.call(this.client, [...argv]));
    } finally {
      this.inFlight--;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // A client closed while a command runs (a blocking BLPOP) is released, which aborts the command.
    this.done(this.client, this.inFlight === 0);
  }
}

class EmbeddedResp implements RespSession {
  readonly client: DispatchClient;
  constructor(
    private readonly dispatcher: Dispatcher,
    hooks: RespSessionHooks,
  ) {
    // The BEEP session's policy (require-sasl) already ran; its SASL identity is the user for the access policy.
    this.client = dispatcher.createClient({
      addr: 'beep',
      authenticated: true,
      ...(hooks.identity !== undefined ? { user: hooks.identity } : {}),
      onPush: (r) => hooks.onPush(encodeReply(r, this.client.resp)),
    });
  }

  get subscriptionCount(): number {
    return this.client.subscriptionCount;
  }

  async exec(argv: Buffer[]): Promise<RespResult> {
    const name = argv[0]?.toString('latin1').toLowerCase() ?? '';
    const r = (await this.dispatcher.dispatch(this.client, argv)) as Reply;
    const push = PUBSUB_COMMANDS.has(name) && !(r instanceof ErrorReply);
    const replies: Reply[] = r instanceof MultiReply ? r.replies : [r];
    // Encoded after the command ran, so HELLO's own reply already uses the protocol it chose (as Redis does).
    return { parts: replies.map((x) => ({ bytes: encodeReply(x, this.client.resp), push })) };
  }

  close(): void {
    this.dispatcher.release(this.client);
  }
}

export class EmbeddedBackend implements Backend {
  readonly kind = 'embedded' as const;
  readonly server: BeamServer;
  readonly engine: JobEngine;
  private readonly dispatcher: Dispatcher;
  private readonly idle: DispatchClient[] = [];
  /** Clients of BEEP job channels: the access policy was applied before they ran anything. */
  private readonly trusted: WeakSet<DispatchClient>;
  private closing = false;

  private constructor(server: BeamServer, engine: JobEngine, trusted: WeakSet<DispatchClient>, private readonly policy: { access: AccessConfig | undefined }) {
    this.server = server;
    this.engine = engine;
    this.dispatcher = server.dispatcher!;
    this.trusted = trusted;
  }

  /** Rejects with a GatewayStartError when the context cannot be set up or its RESP port cannot be opened. */
  static async create(opts: EmbeddedOptions = {}): Promise<EmbeddedBackend> {
    let engine: JobEngine | undefined;
    let server: BeamServer;
    const trusted = new WeakSet<DispatchClient>();
    const policy = { access: opts.access };
    try {
      server = createServer({
        ...(opts.resp ? { host: opts.resp.host, port: opts.resp.port } : {}),
        ...(opts.respTls ? { tls: opts.respTls } : {}),
        ...(opts.users && opts.users.length > 0 ? { users: opts.users } : {}),
        ...(opts.requireAuth ? { requireAuth: true } : {}),
        ...(opts.authThrottle !== undefined ? { authThrottle: opts.authThrottle } : {}),
        setup: (dispatcher, context) => {
          // Before the job engine's filter, which claims a start as soon as it accepts it.
          dispatcher.addFilter(accessFilter(dispatcher, policy, trusted));
          engine = attachJobs(context, { dispatcher, exec: opts.exec ?? [], handlers: opts.handlers ?? {}, ...(opts.jobLimits ? { limits: opts.jobLimits } : {}) });
        },
      });
    } catch (e) {
      throw new GatewayStartError(`cannot set up the embedded context: ${(e as Error).message}`, { cause: e });
    }
    // The server re-emits listener errors; unheard, an 'error' event would throw (e.g. EADDRINUSE during listen()).
    server.on('error', (e: Error) => debug('embedded RESP listener: %s', e.message));
    if (!engine || !server.dispatcher) {
      await server.close().catch(() => {});
      throw new GatewayStartError('the embedded context did not start its job engine');
    }
    if (opts.resp) {
      try {
        await server.listen();
      } catch (e) {
        await engine.close().catch(() => {});
        await server.close().catch(() => {});
        throw new GatewayStartError(`cannot open the RESP listener on ${formatAddress(opts.resp)}: ${(e as Error).message}`, { cause: e });
      }
    }
    const backend = new EmbeddedBackend(server, engine, trusted, policy);
    backend.secure(opts);
    return backend;
  }

  /** New access rules for jobs created or started over RESP from now on (SIGHUP). */
  reloadAccess(access: AccessConfig | undefined): void {
    this.policy.access = access;
  }

  /** SHUTDOWN refused; AUTH failures and protected-mode refusals reported. */
  private secure(opts: EmbeddedOptions): void {
    const shutdown = this.dispatcher.lookup('shutdown');
    if (shutdown) this.server.register([{ ...shutdown, handler: () => E_SHUTDOWN }]);
    if (opts.onAuthFailure) this.server.on('authFailure', opts.onAuthFailure);
    if (opts.onDenied) this.server.on('denied', opts.onDenied);
  }

  /** The plain RESP listener's address, when there is one. */
  respAddress(): AddressInfo | null {
    const a = this.server.address();
    return a && typeof a === 'object' ? a : null;
  }

  async openClient(): Promise<CommandClient> {
    let c = this.idle.pop();
    // An idle client may have been killed meanwhile (CLIENT KILL): it is not reused.
    while (c !== undefined && c.closed) {
      this.dispatcher.release(c);
      c = this.idle.pop();
    }
    if (c === undefined) {
      c = this.dispatcher.createClient({ addr: 'gateway', authenticated: true });
      this.trusted.add(c);
    }
    return new EmbeddedClient(this.dispatcher, c, (dc, reusable) => {
      if (reusable && !this.closing && this.idle.length < POOL_MAX && !dc.closed) this.idle.push(dc);
      else this.dispatcher.release(dc);
    });
  }

  check(name: string, args: readonly string[], _client?: CommandClient): HandlerCheck {
    return this.engine.check(name, args);
  }

  async openResp(hooks: RespSessionHooks): Promise<RespSession> {
    return new EmbeddedResp(this.dispatcher, hooks);
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const c of this.idle.splice(0)) this.dispatcher.release(c);
    await this.engine.close();
    await this.server.close();
  }
}
