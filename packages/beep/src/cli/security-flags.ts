/**
 * TLS and SASL flags of `beep listen` and `beep connect`, and their mapping to the library's options:
 *
 *   beep listen  --tls-self-signed | --tls-cert F --tls-key F [--tls-client-ca F]   --sasl-user NAME:PASSWORD (repeatable)
 *                [--require-tls] [--require-sasl] [--allow-cleartext] [--allow-anonymous]
 *   beep connect --tls [--ca F] [--servername N] [--insecure] [--client-cert F --client-key F]
 *                --sasl NAME:PASSWORD [--mech M] [--allow-cleartext] | --mech ANONYMOUS | --mech EXTERNAL
 */
import { readFileSync } from 'node:fs';
import type { Listener } from '../api/connect.js';
import type { ConnectSecurityOptions } from '../api/session-security.js';
import type { SaslMechanismName } from '../profiles/sasl/mechanism.js';
import { SASL_MECHANISMS } from '../profiles/sasl/registry.js';
import type { ListenerSecurityOptions } from '../profiles/tuning/security-options.js';
import { IDENTITY_EVENT, sessionIdentity } from '../profiles/tuning/identity.js';
import type { Session } from '../session/session.js';
import { stringOpt, UsageError, type OptionSpec, type OptionValues } from './options.js';

export const LISTEN_SECURITY_OPTIONS: Record<string, OptionSpec> = {
  'tls-self-signed': { type: 'boolean', help: 'offer TLS with a self-signed certificate generated at start (fingerprint logged)' },
  'tls-cert': { type: 'string', arg: 'FILE', help: 'offer TLS with this PEM certificate (with --tls-key)' },
  'tls-key': { type: 'string', arg: 'FILE', help: 'PEM private key of --tls-cert' },
  'tls-client-ca': {
    type: 'string',
    arg: 'FILE',
    help: 'ask TLS clients for a certificate signed by these PEM CAs (refused otherwise); SASL EXTERNAL then authenticates its subject',
  },
  'sasl-user': { type: 'string', multiple: true, arg: 'NAME:PASSWORD', help: 'offer SASL (SCRAM-SHA-256, CRAM-MD5, PLAIN) for this user, repeatable' },
  'require-tls': { type: 'boolean', help: 'refuse the other profiles (554) until TLS is up; the first greeting hides them' },
  'require-sasl': { type: 'boolean', help: 'refuse the other profiles (530) until the peer authenticated' },
  'allow-cleartext': { type: 'boolean', help: 'offer and accept SASL PLAIN before TLS (not recommended)' },
  'allow-anonymous': { type: 'boolean', help: 'offer SASL ANONYMOUS' },
};

export const CONNECT_SECURITY_OPTIONS: Record<string, OptionSpec> = {
  tls: { type: 'boolean', help: 'negotiate TLS (the TLS profile) before anything else; the certificate is verified' },
  ca: { type: 'string', arg: 'FILE', help: 'PEM CA certificate(s) to trust, e.g. the listener\'s self-signed certificate' },
  servername: { type: 'string', arg: 'NAME', help: 'name the server certificate must match (SNI); default the host' },
  insecure: { type: 'boolean', help: 'do not verify the server certificate (tests only)' },
  sasl: { type: 'string', arg: 'NAME:PASSWORD', help: 'authenticate with SASL after TLS (if any)' },
  'client-cert': { type: 'string', arg: 'FILE', help: 'PEM client certificate to present when the listener asks (with --client-key)' },
  'client-key': { type: 'string', arg: 'FILE', help: 'PEM private key of --client-cert' },
  mech: {
    type: 'string',
    arg: 'MECH',
    help: 'SASL mechanism: SCRAM-SHA-256, CRAM-MD5, PLAIN, ANONYMOUS or EXTERNAL (default: strongest offered)',
  },
  'allow-cleartext': { type: 'boolean', help: 'let --sasl send PLAIN without TLS (tests only: the password travels in the clear)' },
  authzid: { type: 'string', arg: 'NAME', help: 'SASL authorization identity to act as (PLAIN, SCRAM-SHA-256, EXTERNAL)' },
  'anonymous-trace': { type: 'string', arg: 'TEXT', help: 'SASL ANONYMOUS trace information, e.g. an email address' },
};

function readPem(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new UsageError(`--${flag}: cannot read ${file}: ${(e as Error).message}`);
  }
}

/** `beep listen` security flags -> listen() options. */
export function listenSecurityFrom(values: OptionValues): ListenerSecurityOptions {
  const o: ListenerSecurityOptions = {};
  const cert = stringOpt(values, 'tls-cert');
  const key = stringOpt(values, 'tls-key');
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if (cert !== undefined && key !== undefined) {
    if (values['tls-self-signed'] === true) throw new UsageError('use either --tls-self-signed or --tls-cert/--tls-key');
    o.tls = { cert: readPem('tls-cert', cert), key: readPem('tls-key', key) };
  } else if (values['tls-self-signed'] === true) {
    o.tls = { selfSigned: true };
  }
  const clientCa = stringOpt(values, 'tls-client-ca');
  if (clientCa !== undefined) {
    if (o.tls === undefined) throw new UsageError('--tls-client-ca needs --tls-self-signed or --tls-cert/--tls-key');
    o.tls = { ...o.tls, ca: readPem('tls-client-ca', clientCa), requestCert: true };
  }
  const users = values['sasl-user'];
  const list = Array.isArray(users) ? (users as string[]) : [];
  for (const u of list) if (u.indexOf(':') <= 0) throw new UsageError(`--sasl-user: expected NAME:PASSWORD, got ${JSON.stringify(u.split(':')[0])}`);
  const allowAnonymous = values['allow-anonymous'] === true;
  if (list.length > 0 || allowAnonymous) {
    o.sasl = { users: list, allowCleartext: values['allow-cleartext'] === true, allowAnonymous };
  } else if (values['allow-cleartext'] === true) {
    throw new UsageError('--allow-cleartext needs --sasl-user');
  }
  const requireTls = values['require-tls'] === true;
  const requireSasl = values['require-sasl'] === true;
  if (requireTls && o.tls === undefined) throw new UsageError('--require-tls needs --tls-self-signed or --tls-cert/--tls-key');
  if (requireSasl && o.sasl === undefined && clientCa === undefined) throw new UsageError('--require-sasl needs --sasl-user or --tls-client-ca');
  if (requireTls || requireSasl) o.require = { tls: requireTls, sasl: requireSasl };
  return o;
}

/** Fields for the `listening` log line. */
export function listenerSecurityFields(listener: Listener): Record<string, unknown> {
  const sec = listener.security;
  if (sec === undefined) return {};
  return {
    tls: sec.config.tls !== undefined,
    ...(sec.fingerprint256 !== undefined ? { fingerprint256: sec.fingerprint256 } : {}),
    sasl: sec.mechanisms,
    require: sec.config.require,
  };
}

/** Log authentications and TLS on a listener session. */
export function logSessionSecurity(session: Session, id: number, log: (event: string, fields?: Record<string, unknown>) => void): void {
  session.on('greeting', () => {
    if (session.securityLayer === 'tls') log('session.tls', { session: id });
  });
  session.on(IDENTITY_EVENT, (identity: string | undefined) => {
    if (identity !== undefined) log('session.auth', { session: id, identity, mechanism: sessionIdentity(session)?.mechanism });
  });
}

/** `beep connect` security flags -> connect() options (`host` is the name the certificate is checked against). */
export function connectSecurityFrom(values: OptionValues, host: string | undefined): ConnectSecurityOptions {
  const o: ConnectSecurityOptions = {};
  const ca = stringOpt(values, 'ca');
  const servername = stringOpt(values, 'servername');
  const insecure = values['insecure'] === true;
  const clientCert = stringOpt(values, 'client-cert');
  const clientKey = stringOpt(values, 'client-key');
  if ((clientCert === undefined) !== (clientKey === undefined)) throw new UsageError('--client-cert and --client-key go together');
  if (values['tls'] === true) {
    o.tls = {
      ...(ca !== undefined ? { ca: readPem('ca', ca) } : {}),
      ...(servername !== undefined ? { servername } : {}),
      ...(host !== undefined ? { host } : {}),
      ...(insecure ? { rejectUnauthorized: false } : {}),
      ...(clientCert !== undefined && clientKey !== undefined
        ? { cert: readPem('client-cert', clientCert), key: readPem('client-key', clientKey) }
        : {}),
    };
  } else if (ca !== undefined || servername !== undefined || insecure || clientCert !== undefined) {
    throw new UsageError('--ca, --servername, --insecure and --client-cert need --tls');
  }
  const sasl = stringOpt(values, 'sasl');
  const mechArg = stringOpt(values, 'mech');
  let mechanism: SaslMechanismName | undefined;
  if (mechArg !== undefined) {
    const m = mechArg.toUpperCase();
    if (!(SASL_MECHANISMS as readonly string[]).includes(m)) throw new UsageError(`--mech: expected one of ${SASL_MECHANISMS.join(', ')}`);
    mechanism = m as SaslMechanismName;
  }
  const allowCleartext = values['allow-cleartext'] === true;
  const authzid = stringOpt(values, 'authzid');
  const trace = stringOpt(values, 'anonymous-trace');
  if (sasl !== undefined) {
    const colon = sasl.indexOf(':');
    if (colon <= 0) throw new UsageError('--sasl: expected NAME:PASSWORD');
    o.sasl = {
      authcid: sasl.slice(0, colon),
      password: sasl.slice(colon + 1),
      ...(mechanism !== undefined ? { mechanism } : {}),
      ...(allowCleartext ? { allowCleartext } : {}),
    };
  } else if (mechanism === 'ANONYMOUS' || mechanism === 'EXTERNAL') {
    o.sasl = { mechanism };
  } else if (mechanism !== undefined) {
    throw new UsageError('--mech needs --sasl NAME:PASSWORD (or --mech ANONYMOUS or EXTERNAL)');
  }
  if (allowCleartext && sasl === undefined) throw new UsageError('--allow-cleartext needs --sasl');
  if ((authzid !== undefined || trace !== undefined) && o.sasl === undefined) throw new UsageError('--authzid and --anonymous-trace need --sasl or --mech');
  if (o.sasl !== undefined) {
    if (authzid !== undefined) o.sasl.authzid = authzid;
    if (trace !== undefined) o.sasl.trace = trace;
  }
  return o;
}
