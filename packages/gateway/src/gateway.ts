/**
 * The gateway: a BEEP listener offering the job and RESP profiles over an embedded or remote Beam context, the
 * `beep` job handler on that context, metrics, and a graceful drain.
 */
import type { AddressInfo } from 'node:net';
import { listen, listenOn, parseUserPassword, type Listener, type ListenOptions, type SaslThrottleOptions, type Session } from '@beamgate/beep';
import type { AuthThrottleOptions, JobHandler, JobLimits } from '@beamgate/beam';
import { EmbeddedBackend } from './backend/embedded.js';
import { RedisBackend } from './backend/redis.js';
import type { Backend } from './backend/types.js';
import { DEFAULT_LIMITS, formatAddress, type AccessConfig, type Address, type ContextConfig, type GatewayLimits, type SecurityConfig } from './config-types.js';
import { jobProfile, sessionId } from './job/job-profile.js';
import type { JobHub } from './job/job-channel.js';
import { silentLogger, type Logger } from './log.js';
import { GatewayMetrics, startMetricsServer, type MetricsServer } from './metrics.js';
import { respProfile, type RespHub } from './resp/resp-profile.js';
import { beepHandler } from './reverse/beep-handler.js';
import { ConfigError, GatewayStartError } from './errors.js';
import { redisTarget } from './scale-config.js';
import { loadTlsMaterial, type TlsMaterial } from './tls-material.js';
import { JobQuotas } from './job/quotas.js';

export interface GatewayOptions {
  /** BEEP listen address; default 127.0.0.1:10288 (port 0 picks one). */
  beep?: Address;
  /** Plain RESP listener on the embedded context; default none. */
  resp?: Address | null;
  /** Default embedded. */
  context?: ContextConfig;
  /** Programs the embedded `exec` handler may run. */
  exec?: readonly string[];
  /** Prometheus endpoint; default none. */
  metrics?: Address | null;
  limits?: Partial<GatewayLimits>;
  /** TLS and SASL tuning on the BEEP listener. */
  security?: SecurityConfig;
  /** Which identities may run which jobs. */
  access?: AccessConfig;
  /** Extra job handlers for the embedded context (`beep` is always there). */
  handlers?: Record<string, JobHandler>;
  /** Job engine limits of the embedded context. */
  jobLimits?: Partial<JobLimits>;
  logger?: Logger;
  /** Serve the RESP listener over TLS with the BEEP listener's certificate (needs `security.tls`). */
  respTls?: boolean;
  /** BEEP peers the `beep` job handler may reach (`HOST:PORT`, or `*`); default none. */
  allowBeepTargets?: readonly string[];
  /** Lockouts after repeated authentication failures (BEEP SASL and RESP AUTH alike); false: off. */
  authThrottle?: AuthThrottleOptions | false;
  /** With a Redis context: also run a Beam worker in this process (exec, handlers and jobLimits apply to it). */
  worker?: boolean;
}

/** What SIGHUP (`Gateway.reloadSecurity`) needs to build the BEEP listener again with new material. */
interface Rebuild {
  listenOptions(security: SecurityConfig | undefined, material: TlsMaterial | undefined): ListenOptions;
  hook(listener: Listener): void;
  respTls: boolean;
}

export class Gateway {
  private drained: Promise<void> | undefined;
  /** The certificate of the TLS profile (and of a TLS RESP listener), when `security.tls` is set. */
  certificate: TlsMaterial | undefined;
  /** Set once a reload routes the server's connections itself (to the newest Listener). */
  private routed = false;
  /** @internal */
  rebuild: Rebuild | undefined;

  constructor(
    private current: Listener,
    readonly backend: Backend,
    readonly metrics: GatewayMetrics,
    private readonly jobHub: JobHub,
    private readonly respHub: RespHub,
    private readonly metricsServer: MetricsServer | undefined,
    private readonly log: Logger,
  ) {}

  /** The BEEP listener taking new sessions (a reload replaces it; it also holds the sessions opened before). */
  get listener(): Listener {
    return this.current;
  }

  /**
   * New certificate, SASL users and access rules (SIGHUP): sessions already open keep what they negotiated,
   * sessions opened from now on get the new material. Also applies the users (and the certificate, with respTls)
   * to the embedded RESP listener. Throws (and changes nothing) when the new material cannot be loaded.
   */
  reloadSecurity(security: SecurityConfig | undefined, access: AccessConfig | undefined): void {
    if (!this.rebuild) throw new ConfigError('this gateway cannot reload its security');
    const material = security?.tls ? loadTlsMaterial(security.tls) : undefined;
    const prev = this.current;
    const next = listenOn(prev.server, { ...this.rebuild.listenOptions(security, material), sendBudget: prev.sendBudget }, 'beamgate:routed');
    // The sessions of the old Listener count against the limits and are drained by close(), through the new one.
    for (const s of prev.sessions) {
      next.sessions.add(s);
      s.once('close', () => next.sessions.delete(s));
    }
    this.rebuild.hook(next);
    if (!this.routed) {
      this.routed = true;
      prev.server.removeAllListeners('connection');
      prev.server.on('connection', (sock) => this.current.accept(sock));
    }
    this.current = next;
    this.jobHub.access = access;
    if (this.backend instanceof EmbeddedBackend) {
      const users = (security?.sasl?.users ?? []).map((u): [string, string] => {
        const { user, password } = parseUserPassword(u);
        return [user, password];
      });
      this.backend.server.reloadSecurity({ users, ...(this.rebuild.respTls && material ? { tls: { key: material.key, cert: material.cert } } : {}) });
      this.backend.reloadAccess(access);
    }
    this.certificate = material;
    this.log.info('reloaded', { sessions: next.sessions.size, tls: material !== undefined, sasl: (security?.sasl?.users ?? []).map((u) => parseUserPassword(u).user) });
  }

  /** The bound BEEP address. */
  get beepAddress(): AddressInfo {
    return this.listener.address() as AddressInfo;
  }

  /** The plain RESP listener's address (embedded context only). */
  get respAddress(): AddressInfo | null {
    return this.backend instanceof EmbeddedBackend ? this.backend.respAddress() : null;
  }

  get metricsAddress(): AddressInfo | null {
    return this.metricsServer?.address ?? null;
  }

  get draining(): boolean {
    return this.jobHub.draining;
  }

  /**
   * Graceful shutdown: refuse new sessions and starts (421), let running jobs finish for `timeoutMs`, then stop
   * the rest, release every session and close the context.
   */
  close(timeoutMs = 10_000): Promise<void> {
    return (this.drained ??= this.drain(timeoutMs));
  }

  private async drain(timeoutMs: number): Promise<void> {
    this.jobHub.draining = true;
    this.respHub.draining = true;
    this.log.info('draining', { channels: this.jobHub.channels.size, timeoutMs });
    this.listener.server.close();
    const deadline = Date.now() + timeoutMs;
    // Channels whose job is created but not yet run are waited for too: their <run/> may be on its way.
    while (Date.now() < deadline && [...this.jobHub.channels].some((c) => c.state !== 'exited')) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const left = [...this.jobHub.channels].filter((c) => c.state !== 'exited');
    if (left.length > 0) this.log.warn('stopping jobs still running', { jobs: left.map((c) => c.id) });
    for (const c of left) c.onCloseRequest();
    await this.listener.close(Math.max(1000, Math.min(5000, deadline - Date.now())));
    await this.backend.close().catch((e: unknown) => this.log.warn('context close failed', { err: e }));
    await this.metricsServer?.close();
    this.log.info('stopped');
  }
}

/** Sessions the BEEP layer drops to bound memory or idle peers: an operator wants to see these. */
const DROPPED = new Set(['BEEP_SLOW_READER', 'BEEP_SEND_BUDGET', 'BEEP_IDLE_TIMEOUT']);

function hookSessions(listener: Listener, metrics: GatewayMetrics, log: Logger): void {
  listener.on('session', (s: Session) => {
    const id = sessionId(s);
    metrics.sessions.inc();
    metrics.sessionsTotal.inc();
    const endSession = metrics.sessionSeconds.startTimer();
    log.debug('session opened', { session: id });
    s.once('close', (reason?: Error) => {
      metrics.sessions.dec();
      endSession();
      const code = (reason as { code?: string } | undefined)?.code;
      if (code !== undefined && DROPPED.has(code)) log.warn('session dropped', { session: id, code, reason: reason?.message });
      else log.debug('session closed', { session: id, reason: reason?.message });
    });
  });
  listener.on('error', (e: Error) => log.error('listener error', { err: e }));
}

/** The BEEP listener's `tls`, `sasl` and `require` options from the gateway's security configuration. */
function listenerSecurity(
  sec: SecurityConfig | undefined,
  tls: TlsMaterial | undefined,
  sasl: { throttle?: SaslThrottleOptions | false; onAuthFailure: NonNullable<ListenOptions['sasl']>['onAuthFailure'] },
): Pick<ListenOptions, 'tls' | 'sasl' | 'require'> {
  if (!sec) return {};
  const out: Pick<ListenOptions, 'tls' | 'sasl' | 'require'> = {};
  if (tls) {
    out.tls = {
      key: tls.key, cert: tls.cert,
      ...(tls.handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs: tls.handshakeTimeoutMs }),
      // Client certificates: verified against this CA; SASL EXTERNAL then offers the subject as the identity.
      ...(tls.clientCa === undefined ? {} : { ca: tls.clientCa, requestCert: true }),
    };
  }
  if (sec.sasl) {
    out.sasl = {
      users: sec.sasl.users,
      ...(sec.sasl.allowCleartext !== undefined ? { allowCleartext: sec.sasl.allowCleartext } : {}),
      ...(sec.sasl.allowAnonymous !== undefined ? { allowAnonymous: sec.sasl.allowAnonymous } : {}),
      ...(sasl.throttle !== undefined ? { throttle: sasl.throttle } : {}),
      ...(sasl.onAuthFailure ? { onAuthFailure: sasl.onAuthFailure } : {}),
    };
  }
  if (sec.require) out.require = sec.require;
  return out;
}

export async function startGateway(opts: GatewayOptions = {}): Promise<Gateway> {
  const log = opts.logger ?? silentLogger;
  const limits: GatewayLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const metrics = new GatewayMetrics({ defaults: opts.metrics !== undefined });
  const context = opts.context ?? { kind: 'embedded' };
  const tlsMaterial = opts.security?.tls ? loadTlsMaterial(opts.security.tls) : undefined;
  if (opts.respTls && !tlsMaterial) throw new ConfigError('respTls needs security.tls (a certificate)');
  if (opts.respTls && (context.kind !== 'embedded' || !opts.resp)) throw new ConfigError('respTls needs the RESP listener of the embedded context');
  const authLog = log.child({ component: 'auth' });
  let backend: Backend;
  if (context.kind === 'embedded') {
    // The RESP listener knows the SASL users and refuses everything before AUTH when SASL users exist or are required.
    const users = (opts.security?.sasl?.users ?? []).map((u): [string, string] => {
      const { user, password } = parseUserPassword(u);
      return [user, password];
    });
    backend = await EmbeddedBackend.create({
      ...(opts.respTls && tlsMaterial ? { respTls: { key: tlsMaterial.key, cert: tlsMaterial.cert } } : {}),
      users,
      requireAuth: users.length > 0 || opts.security?.require?.sasl === true,
      ...(opts.authThrottle !== undefined ? { authThrottle: opts.authThrottle } : {}),
      ...(opts.access ? { access: opts.access } : {}),
      onAuthFailure: (f) => {
        metrics.authFailures.inc({ listener: 'resp', reason: f.reason === 'locked' ? 'locked' : 'failed' });
        authLog.warn('RESP authentication failed', { address: f.address, identity: f.user, reason: f.reason, lockoutMs: f.lockoutMs });
      },
      onDenied: (address) => {
        metrics.respDenied.inc();
        authLog.warn('RESP client refused by protected mode', { address });
      },
      exec: opts.exec ?? [],
      handlers: { ...opts.handlers, beep: beepHandler({ allow: opts.allowBeepTargets ?? [] }) },
      ...(opts.jobLimits ? { jobLimits: opts.jobLimits } : {}),
      ...(opts.resp ? { resp: opts.resp } : {}),
    });
  } else {
    backend = await RedisBackend.create({
      target: redisTarget(context),
      ...(typeof context.tls === 'object' ? { tls: context.tls } : {}),
      maxRespMessage: limits.maxRespMessage,
      ...(opts.worker
        ? { worker: { exec: opts.exec ?? [], handlers: { ...opts.handlers, beep: beepHandler() }, ...(opts.jobLimits ? { limits: opts.jobLimits } : {}) } }
        : {}),
    });
  }
  const jobHub: JobHub = {
    backend, limits, metrics, log: log.child({ component: 'job' }), held: new Set(), known: new Map(), channels: new Set(), draining: false,
    access: opts.access,
    quotas: new JobQuotas(limits),
  };
  const respHub: RespHub = { backend, limits, metrics, log: log.child({ component: 'resp' }), draining: false };
  const listenOptions = (security: SecurityConfig | undefined, material: TlsMaterial | undefined): ListenOptions => ({
    profiles: [jobProfile(jobHub), respProfile(respHub)],
    sendHighWater: limits.outputHighWater,
    maxSendFrameSize: limits.maxSendFrame,
    maxChannels: limits.maxChannelsPerSession,
    ...listenerSecurity(security, material, {
      ...(opts.authThrottle !== undefined ? { throttle: opts.authThrottle } : {}),
      onAuthFailure: (f) => {
        metrics.authFailures.inc({ listener: 'beep', reason: f.reason });
        authLog.warn('SASL authentication failed', { address: f.address, identity: f.user, mechanism: f.mechanism, code: f.code, reason: f.reason, lockoutMs: f.lockoutMs });
      },
    }),
  });
  let listener: Listener;
  try {
    listener = await listen({
      host: opts.beep?.host ?? '127.0.0.1',
      port: opts.beep?.port ?? 10288,
      ...listenOptions(opts.security, tlsMaterial),
    });
  } catch (e) {
    await backend.close();
    const at = formatAddress({ host: opts.beep?.host ?? '127.0.0.1', port: opts.beep?.port ?? 10288 });
    throw new GatewayStartError(`cannot open the BEEP listener on ${at}: ${(e as Error).message}`, { cause: e });
  }
  hookSessions(listener, metrics, log.child({ component: 'beep' }));
  let metricsServer: MetricsServer | undefined;
  if (opts.metrics) {
    try {
      metricsServer = await startMetricsServer({
        host: opts.metrics.host,
        port: opts.metrics.port,
        registry: metrics.registry,
        healthy: () => !jobHub.draining,
      });
    } catch (e) {
      await listener.close(0);
      await backend.close();
      throw new GatewayStartError(`cannot open the metrics listener on ${formatAddress(opts.metrics)}: ${(e as Error).message}`, { cause: e });
    }
  }
  const gateway = new Gateway(listener, backend, metrics, jobHub, respHub, metricsServer, log);
  gateway.certificate = tlsMaterial;
  gateway.rebuild = { listenOptions, hook: (l) => hookSessions(l, metrics, log.child({ component: 'beep' })), respTls: opts.respTls === true };
  return gateway;
}
