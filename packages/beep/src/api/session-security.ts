/**
 * Security glue of the public API: `session.startTls()` / `session.authenticate()` methods (declared on Session
 * here, so session/ stays free of TLS and SASL), and the split of listener options into session options plus the
 * ListenerSecurity that wraps the offered profiles.
 */
import { Session } from '../session/session.js';
import type { GreetingInfo } from '../session/types.js';
import { authenticate, startTls } from '../profiles/tuning/client-tuning.js';
import type { AuthenticateOptions, StartTlsOptions } from '../profiles/tuning/client-tuning.js';
import { ListenerSecurity } from '../profiles/tuning/listener-security.js';
import { resolveSecurity } from '../profiles/tuning/security-options.js';
import type { ListenerSecurityOptions } from '../profiles/tuning/security-options.js';
import type { SessionOptions } from '../session/options.js';

declare module '../session/session.js' {
  interface Session {
    /** Negotiate TLS (RFC 3080 §3.1); resolves with the listener's new greeting. See profiles/tuning/client-tuning. */
    startTls(opts?: StartTlsOptions): Promise<GreetingInfo>;
    /** One SASL exchange (RFC 3080 §4.1); resolves with the identity now in effect. */
    authenticate(opts?: AuthenticateOptions): Promise<string>;
  }
}

Session.prototype.startTls = function startTlsMethod(this: Session, opts?: StartTlsOptions): Promise<GreetingInfo> {
  return startTls(this, opts);
};
Session.prototype.authenticate = function authenticateMethod(this: Session, opts?: AuthenticateOptions): Promise<string> {
  return authenticate(this, opts);
};

/** Client-side security of `connect()`: TLS first (when given), then SASL. */
export interface ConnectSecurityOptions {
  /** Negotiate TLS before resolving (`true`: verify against Node's root store). */
  tls?: StartTlsOptions | true;
  /** Authenticate before resolving (after TLS when both are given). */
  sasl?: AuthenticateOptions;
}

/** Strip the listener security options, wrapping `profiles` when any was given. */
export function applyListenerSecurity<T extends Partial<SessionOptions> & ListenerSecurityOptions>(
  opts: T,
): { options: Omit<T, 'tls' | 'sasl' | 'require'>; security: ListenerSecurity | undefined } {
  const { tls, sasl, require, ...options } = opts;
  const resolved = resolveSecurity({
    ...(tls !== undefined ? { tls } : {}),
    ...(sasl !== undefined ? { sasl } : {}),
    ...(require !== undefined ? { require } : {}),
  });
  if (resolved === undefined) return { options, security: undefined };
  const security = new ListenerSecurity(resolved, options.profiles ?? []);
  return { options: { ...options, profiles: security.profilesFor(false) }, security };
}

/** Run the client-side tuning of `connect()`: TLS, then SASL. */
export async function secureConnected(
  session: Session,
  o: ConnectSecurityOptions & { host?: string | undefined; signal?: AbortSignal | undefined },
): Promise<void> {
  if (o.tls !== undefined) {
    const tlsOpts: StartTlsOptions = o.tls === true ? {} : { ...o.tls };
    if (tlsOpts.host === undefined && o.host !== undefined) tlsOpts.host = o.host;
    if (tlsOpts.signal === undefined && o.signal !== undefined) tlsOpts.signal = o.signal;
    await startTls(session, tlsOpts);
  }
  if (o.sasl !== undefined) {
    await authenticate(session, o.sasl.signal === undefined && o.signal !== undefined ? { ...o.sasl, signal: o.signal } : o.sasl);
  }
}
