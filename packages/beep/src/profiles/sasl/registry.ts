/** SASL profile URIs (RFC 3080 §4.1, §6.4) and mechanism factories by name. */
import type { SaslClientMechanism, SaslEnvironment, SaslMechanismName, SaslServerMechanism } from './mechanism.js';
import type { SaslCredentialStore } from './credentials.js';
import { createAnonymousClient, createAnonymousServer } from './anonymous.js';
import { createPlainClient, createPlainServer } from './plain.js';
import { createCramMd5Client, createCramMd5Server } from './cram-md5.js';
import { createScramSha256Client, createScramSha256Server } from './scram-sha-256.js';
import { createExternalClient, createExternalServer } from './external.js';
import { BeepUsageError } from '../../errors.js';

export const SASL_URI_PREFIX = 'http://iana.org/beep/SASL/';
/** The SASL service name for BEEP (RFC 3080 §4.1). */
export const SASL_SERVICE_NAME = 'beep';
/**
 * Strongest first: the order servers advertise and clients prefer. EXTERNAL (the TLS client certificate) is only
 * offered by a listener that verifies client certificates and only used by a client that asks for it. DIGEST-MD5
 * is not implemented: RFC 6331 moved it to Historic (weak, interoperability problems); SCRAM-SHA-256 replaces it.
 */
export const SASL_MECHANISMS: readonly SaslMechanismName[] = ['EXTERNAL', 'SCRAM-SHA-256', 'CRAM-MD5', 'PLAIN', 'ANONYMOUS'];

/** Mechanisms whose first message comes from the server (RFC 4422 §5): the listener answers an empty start with it. */
export function isServerFirst(mechanism: SaslMechanismName): boolean {
  return mechanism === 'CRAM-MD5';
}

export function saslProfileUri(mechanism: SaslMechanismName): string {
  return SASL_URI_PREFIX + mechanism;
}

/** The mechanism a profile URI names, if it is one we implement (the mechanism part is case-insensitive). */
export function mechanismFromUri(uri: string): SaslMechanismName | undefined {
  if (uri.length <= SASL_URI_PREFIX.length || uri.slice(0, SASL_URI_PREFIX.length).toLowerCase() !== SASL_URI_PREFIX.toLowerCase()) {
    return undefined;
  }
  const name = uri.slice(SASL_URI_PREFIX.length).toUpperCase();
  return (SASL_MECHANISMS as readonly string[]).includes(name) ? (name as SaslMechanismName) : undefined;
}

/** Mechanisms that reveal the password to anyone who can read the connection. */
export function sendsCleartextPassword(mechanism: SaslMechanismName): boolean {
  return mechanism === 'PLAIN';
}

/** Which mechanisms a credential store can serve. */
export function mechanismsSupportedBy(store: SaslCredentialStore): SaslMechanismName[] {
  const out: SaslMechanismName[] = [];
  if (store.getScramCredentials) out.push('SCRAM-SHA-256');
  if (store.getPassword) out.push('CRAM-MD5');
  if (store.verifyPlain || store.getPassword || store.getScramCredentials) out.push('PLAIN');
  return out;
}

export interface SaslServerMechanismOptions {
  credentials: SaslCredentialStore;
  env?: SaslEnvironment;
  /** CRAM-MD5 challenge host name. */
  hostname?: string;
  /** SCRAM server nonce source (tests). */
  scramServerNonce?: () => string;
  /** PLAIN field limit, default 255 octets. */
  plainMaxFieldOctets?: number;
  /** EXTERNAL: the verified TLS client certificate's identity, if any. */
  externalIdentity?: string | undefined;
}

export function createServerMechanism(name: SaslMechanismName, options: SaslServerMechanismOptions): SaslServerMechanism {
  switch (name) {
    case 'EXTERNAL':
      return createExternalServer({ credentials: options.credentials, externalIdentity: options.externalIdentity });
    case 'ANONYMOUS':
      return createAnonymousServer();
    case 'PLAIN':
      return createPlainServer({ credentials: options.credentials, ...(options.plainMaxFieldOctets ? { maxFieldOctets: options.plainMaxFieldOctets } : {}) });
    case 'CRAM-MD5':
      return createCramMd5Server({
        credentials: options.credentials,
        ...(options.hostname !== undefined ? { hostname: options.hostname } : {}),
        ...(options.env ? { env: options.env } : {}),
      });
    case 'SCRAM-SHA-256':
      return createScramSha256Server({
        credentials: options.credentials,
        ...(options.env ? { env: options.env } : {}),
        ...(options.scramServerNonce ? { serverNonce: options.scramServerNonce } : {}),
      });
  }
}

export interface SaslClientCredentials {
  /** Authentication identity (user name). Not needed for ANONYMOUS. */
  authcid?: string;
  password?: string;
  /** Authorization identity to act as, if different from authcid (PLAIN, SCRAM). */
  authzid?: string;
  /** ANONYMOUS trace information (RFC 4505), e.g. an email address. */
  trace?: string;
  env?: SaslEnvironment;
  /** SCRAM client nonce source (tests). */
  nonce?: () => string;
}

export function createClientMechanism(name: SaslMechanismName, creds: SaslClientCredentials): SaslClientMechanism {
  if (name === 'ANONYMOUS') return createAnonymousClient(creds.trace === undefined ? {} : { trace: creds.trace });
  if (name === 'EXTERNAL') return createExternalClient({ authzid: creds.authzid });
  if (creds.authcid === undefined || creds.password === undefined) {
    throw new BeepUsageError(`SASL ${name} needs authcid and password`);
  }
  switch (name) {
    case 'PLAIN':
      return createPlainClient({ authcid: creds.authcid, password: creds.password, authzid: creds.authzid });
    case 'CRAM-MD5':
      return createCramMd5Client({ authcid: creds.authcid, password: creds.password });
    case 'SCRAM-SHA-256':
      return createScramSha256Client({
        authcid: creds.authcid,
        password: creds.password,
        authzid: creds.authzid,
        ...(creds.env ? { env: creds.env } : {}),
        ...(creds.nonce ? { nonce: creds.nonce } : {}),
      });
  }
}
