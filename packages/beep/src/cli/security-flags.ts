/**
 * TLS and SASL flags of `beep listen` and `beep connect`, and their mapping to the library's options:
 *
 *   beep listen  --tls | --cert F --key F [--cacert F]   --user NAME:PASSWORD (repeatable)
 *                [--require-tls] [--require-sasl] [--allow-cleartext] [--allow-anonymous]
 *   beep connect --tls [--cacert F] [--sni N] [--insecure] [--cert F --key F]
 *                --user NAME --pass PW (or --sasl NAME:PASSWORD) [--mech M] [--allow-cleartext] | --mech ANONYMOUS | --mech EXTERNAL
 *
 * The names are those of beam and beamgate (@beamgate/base CLIENT_TLS_FLAGS / SERVER_TLS_FLAGS); the older ones
 * (--tls-self-signed, --tls-cert, --ca, --servername, ...) are still accepted through the *_RENAMES maps.
 */
import { CLIENT_AUTH_FLAGS, CLIENT_TLS_FLAGS, clientTlsFrom, readUsersFile, SERVER_TLS_FLAGS, serverTlsFrom } from '@beamgate/base';
import type { Listener } from '../api/connect.js';
import type { ConnectSecurityOptions } from '../api/session-security.js';
import { log } from './log.js';
import type { SaslMechanismName } from '../profiles/sasl/mechanism.js';
import { SASL_MECHANISMS } from '../profiles/sasl/registry.js';
import type { ListenerSecurityOptions } from '../profiles/tuning/security-options.js';
import { IDENTITY_EVENT, sessionIdentity } from '../profiles/tuning/identity.js';
import type { Session } from '../session/session.js';
import { stringOpt, UsageError, type OptionSpec, type OptionValues } from './options.js';

export const LISTEN_SECURITY_OPTIONS: Record<string, OptionSpec> = {
  ...SERVER_TLS_FLAGS,
  user: { type: 'string', multiple: true, arg: 'NAME:PASSWORD', help: 'offer SASL (SCRAM-SHA-256, CRAM-MD5, PLAIN) for this user, repeatable' },
  'users-file': { type: 'string', arg: 'FILE', help: 'more users, one NAME:PASSWORD per line; read again on SIGHUP' },
  'require-tls': { type: 'boolean', help: 'refuse the other profiles (554) until TLS is up; the first greeting hides them' },
  'require-sasl': { type: 'boolean', help: 'refuse the other profiles (530) until the peer authenticated' },
  'allow-cleartext': { type: 'boolean', help: 'offer and accept SASL PLAIN before TLS (not recommended)' },
  'allow-anonymous': { type: 'boolean', help: 'offer SASL ANONYMOUS' },
};

/** Names of `beep listen` before the flags were shared with beam and beamgate; still accepted. */
export const LISTEN_SECURITY_RENAMES: Record<string, string> = {
  'tls-self-signed': 'tls', 'tls-cert': 'cert', 'tls-key': 'key', 'tls-client-ca': 'cacert', 'sasl-user': 'user',
};

export const CONNECT_SECURITY_OPTIONS: Record<string, OptionSpec> = {
  ...CLIENT_TLS_FLAGS,
  ...CLIENT_AUTH_FLAGS,
  sasl: { type: 'string', arg: 'NAME:PASSWORD', help: 'shorthand of --user NAME --pass PASSWORD' },
  mech: {
    type: 'string',
    arg: 'MECH',
    help: 'SASL mechanism: SCRAM-SHA-256, CRAM-MD5, PLAIN, ANONYMOUS or EXTERNAL (default: strongest offered)',
  },
  'allow-cleartext': { type: 'boolean', help: 'let --user send PLAIN without TLS (tests only: the password travels in the clear)' },
  authzid: { type: 'string', arg: 'NAME', help: 'SASL authorization identity to act as (PLAIN, SCRAM-SHA-256, EXTERNAL)' },
  'anonymous-trace': { type: 'string', arg: 'TEXT', help: 'SASL ANONYMOUS trace information, e.g. an email address' },
};

/** Names of `beep connect` before the flags were shared with beam and beamgate; still accepted. */
export const CONNECT_SECURITY_RENAMES: Record<string, string> = { ca: 'cacert', servername: 'sni', 'client-cert': 'cert', 'client-key': 'key' };

/** `beep listen` security flags -> listen() options. Called again on SIGHUP to reload files and users. */
export function listenSecurityFrom(values: OptionValues): ListenerSecurityOptions {
  const o: ListenerSecurityOptions = {};
  const tls = serverTlsFrom({ tls: values['tls'] === true, cert: stringOpt(values, 'cert'), key: stringOpt(values, 'key'), cacert: stringOpt(values, 'cacert') });
  if (tls?.kind === 'files') o.tls = { cert: tls.cert, key: tls.key };
  else if (tls?.kind === 'self-signed') o.tls = { selfSigned: true };
  if (tls?.ca !== undefined && o.tls !== undefined) o.tls = { ...o.tls, ca: tls.ca, requestCert: true };
  const users = values['user'];
  const list = Array.isArray(users) ? [...(users as string[])] : [];
  const usersFile = stringOpt(values, 'users-file');
  if (usersFile !== undefined) for (const [n, p] of readUsersFile('users-file', usersFile)) list.push(`${n}:${p}`);
  for (const u of list) if (u.indexOf(':') <= 0) throw new UsageError(`--user: expected NAME:PASSWORD, got ${JSON.stringify(u.split(':')[0])}`);
  const allowAnonymous = values['allow-anonymous'] === true;
  if (list.length > 0 || allowAnonymous) {
    o.sasl = {
      users: list, allowCleartext: values['allow-cleartext'] === true, allowAnonymous,
      onAuthFailure: (f) => log('sasl.failure', { ...f }, 'warn'),
    };
  } else if (values['allow-cleartext'] === true) {
    throw new UsageError('--allow-cleartext needs --user or --users-file');
  }
  const requireTls = values['require-tls'] === true;
  const requireSasl = values['require-sasl'] === true;
  if (requireTls && o.tls === undefined) throw new UsageError('--require-tls needs TLS', { hint: 'add --tls or --cert/--key' });
  if (requireSasl && o.sasl === undefined && tls?.ca === undefined) throw new UsageError('--require-sasl needs --user or --cacert');
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
  const tls = clientTlsFrom({
    tls: values['tls'] === true, cacert: stringOpt(values, 'cacert'), cert: stringOpt(values, 'cert'), key: stringOpt(values, 'key'),
    sni: stringOpt(values, 'sni'), insecure: values['insecure'] === true,
  });
  if (tls !== undefined) o.tls = { ...tls, ...(host !== undefined ? { host } : {}) };
  const user = stringOpt(values, 'user');
  const pass = stringOpt(values, 'pass');
  if (user !== undefined && values['sasl'] !== undefined) throw new UsageError('use either --sasl NAME:PASSWORD or --user/--pass');
  if ((user === undefined) !== (pass === undefined)) throw new UsageError('--user and --pass go together');
  const sasl = user !== undefined ? `${user}:${pass}` : stringOpt(values, 'sasl');
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
    if (colon <= 0) throw new UsageError('--sasl: expected NAME:PASSWORD', { hint: 'or give --user NAME --pass PASSWORD' });
    o.sasl = {
      authcid: sasl.slice(0, colon),
      password: sasl.slice(colon + 1),
      ...(mechanism !== undefined ? { mechanism } : {}),
      ...(allowCleartext ? { allowCleartext } : {}),
    };
  } else if (mechanism === 'ANONYMOUS' || mechanism === 'EXTERNAL') {
    o.sasl = { mechanism };
  } else if (mechanism !== undefined) {
    throw new UsageError('--mech needs --user/--pass (or --mech ANONYMOUS or EXTERNAL)');
  }
  if (allowCleartext && sasl === undefined) throw new UsageError('--allow-cleartext needs --user/--pass');
  if ((authzid !== undefined || trace !== undefined) && o.sasl === undefined) throw new UsageError('--authzid and --anonymous-trace need --user/--pass or --mech');
  if (o.sasl !== undefined) {
    if (authzid !== undefined) o.sasl.authzid = authzid;
    if (trace !== undefined) o.sasl.trace = trace;
  }
  return o;
}
