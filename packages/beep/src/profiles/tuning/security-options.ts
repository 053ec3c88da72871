/**
 * Listener security options (`listen({ tls, sasl, require })`, `createSession(...)`) and their resolution: PEM
 * files read, a self-signed certificate generated, `user:password` pairs turned into a credential store.
 */
import { readFileSync } from 'node:fs';
import { BeepUsageError } from '../../errors.js';
import type { SaslCredentialStore } from '../sasl/credentials.js';
import type { SaslServerConfig } from '../sasl/profile-server.js';
import { generateSelfSigned } from '../tls/self-signed.js';
import type { SelfSignedOptions } from '../tls/self-signed.js';
import { DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS } from '../tls/upgrade.js';
import { DEFAULT_NEGOTIATION_TIMEOUT_MS } from './negotiation-timer.js';
import { createUserPasswordStore } from './user-store.js';

type Pem = string | Buffer;

interface TlsCommon {
  /** Milliseconds the TLS handshake after `<proceed/>` may take before the session is terminated. Default 10000. */
  handshakeTimeoutMs?: number;
  /** CAs trusted for client certificates (with requestCert). */
  ca?: Pem | Pem[];
  /**
   * Ask the client for a certificate; it must be trusted by `ca` or the handshake fails. The certificate's subject
   * then authenticates the session through SASL EXTERNAL (offered after TLS). Default false.
   */
  requestCert?: boolean;
  /** Milliseconds a TLS channel started without `<ready/>` may wait for it; then the session ends (BEEP_TLS_TIMEOUT). Default 30000. */
  negotiationTimeoutMs?: number;
}

/** Server TLS: PEM key and certificate (inline or files), or a self-signed certificate generated at start. */
export type ListenerTlsOptions =
  | (TlsCommon & { key: Pem; cert: Pem })
  | (TlsCommon & { keyFile: string; certFile: string })
  | (TlsCommon & { selfSigned: true | SelfSignedOptions });

export interface ListenerSaslOptions
  extends Omit<SaslServerConfig, 'credentials' | 'onAuthenticated' | 'allowCleartext' | 'allowAnonymous'> {
  /** The pluggable credential check. Exactly one of `credentials` and `users`. */
  credentials?: SaslCredentialStore;
  /** `user:password` pairs (an in-memory store; SCRAM keys derived on first use). */
  users?: readonly string[];
  /** Offer and accept PLAIN on a session without TLS. Default false (538, and not in the greeting). */
  allowCleartext?: boolean;
  /** Offer ANONYMOUS. Default false. */
  allowAnonymous?: boolean;
  /** Offer EXTERNAL after TLS. Default: true when `tls.requestCert` (verified client certificates), else false. */
  allowExternal?: boolean;
}

export interface SecurityPolicy {
  /** Hide the other profiles until TLS is up; their starts are refused with 554 before that. */
  tls?: boolean;
  /** Refuse the other profiles' starts with 530 until a SASL exchange authenticated the session. */
  sasl?: boolean;
}

/** What `listen()` / `createSession()` accept for TLS and SASL tuning. */
export interface ListenerSecurityOptions {
  tls?: ListenerTlsOptions;
  sasl?: ListenerSaslOptions;
  require?: SecurityPolicy;
}

export interface ResolvedTls {
  key: Pem;
  cert: Pem;
  ca: Pem | Pem[] | undefined;
  requestCert: boolean;
  handshakeTimeoutMs: number;
  negotiationTimeoutMs: number;
  /** SHA-256 fingerprint when the certificate was generated here. */
  fingerprint256: string | undefined;
}

export interface ResolvedSecurity {
  tls: ResolvedTls | undefined;
  sasl: SaslServerConfig | undefined;
  require: { tls: boolean; sasl: boolean };
}

function resolveTls(o: ListenerTlsOptions): ResolvedTls {
  let key: Pem;
  let cert: Pem;
  let fingerprint256: string | undefined;
  if ('selfSigned' in o) {
    const made = generateSelfSigned(o.selfSigned === true ? {} : o.selfSigned);
    key = made.key;
    cert = made.cert;
    fingerprint256 = made.fingerprint256;
  } else if ('keyFile' in o) {
    try {
      key = readFileSync(o.keyFile);
      cert = readFileSync(o.certFile);
    } catch (e) {
      throw new BeepUsageError(`cannot read the TLS key or certificate: ${(e as Error).message}`, 'BEEP_INVALID_ARGUMENT', { cause: e });
    }
  } else {
    if (o.key === undefined || o.cert === undefined) throw new BeepUsageError('tls needs key and cert, keyFile and certFile, or selfSigned');
    key = o.key;
    cert = o.cert;
  }
  const handshakeTimeoutMs = positiveMs('tls.handshakeTimeoutMs', o.handshakeTimeoutMs ?? DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS);
  const negotiationTimeoutMs = positiveMs('tls.negotiationTimeoutMs', o.negotiationTimeoutMs ?? DEFAULT_NEGOTIATION_TIMEOUT_MS);
  if (o.requestCert === true && o.ca === undefined) throw new BeepUsageError('tls.requestCert needs tls.ca (the CAs that sign client certificates)');
  return { key, cert, ca: o.ca, requestCert: o.requestCert ?? false, handshakeTimeoutMs, negotiationTimeoutMs, fingerprint256 };
}

function positiveMs(what: string, ms: number): number {
  if (!Number.isSafeInteger(ms) || ms < 1) throw new BeepUsageError(`${what} must be a positive integer`);
  return ms;
}

function resolveSasl(o: ListenerSaslOptions, requestCert: boolean): SaslServerConfig {
  const { users, credentials, ...rest } = o;
  positiveMs('sasl.negotiationTimeoutMs', rest.negotiationTimeoutMs ?? DEFAULT_NEGOTIATION_TIMEOUT_MS);
  if (users !== undefined && credentials !== undefined) throw new BeepUsageError('sasl: give either credentials or users, not both');
  let store: SaslCredentialStore;
  if (credentials !== undefined) store = credentials;
  else if (users === undefined || users.length === 0) {
    // No users: only ANONYMOUS (when allowed) can be offered.
    store = {};
  } else {
    try {
      store = createUserPasswordStore(users);
    } catch (e) {
      throw new BeepUsageError(`sasl.users: ${(e as Error).message}`, 'BEEP_INVALID_ARGUMENT', { cause: e });
    }
  }
  return { allowExternal: requestCert, ...rest, credentials: store };
}

/** Undefined when no security option was given (the profiles are then used as they are). */
export function resolveSecurity(o: ListenerSecurityOptions): ResolvedSecurity | undefined {
  if (o.tls === undefined && o.sasl === undefined && o.require === undefined) return undefined;
  const require = { tls: o.require?.tls === true, sasl: o.require?.sasl === true };
  if (require.tls && o.tls === undefined) throw new BeepUsageError('require.tls needs tls options (a key and certificate)');
  const tls = o.tls === undefined ? undefined : resolveTls(o.tls);
  const requestCert = tls?.requestCert === true;
  // Verified client certificates are an identity: offer EXTERNAL even when no SASL users are configured.
  const sasl = o.sasl !== undefined ? resolveSasl(o.sasl, requestCert) : requestCert ? { credentials: {}, allowExternal: true } : undefined;
  if (require.sasl && sasl === undefined) throw new BeepUsageError('require.sasl needs sasl options (credentials) or tls.requestCert');
  return { tls, sasl, require };
}
