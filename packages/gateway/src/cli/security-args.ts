/** TLS and SASL options of `beamgate run` (the `beep connect` flags) and their environment variables. Pure. */
import { SASL_MECHANISMS, type SaslMechanismName } from '@beamgate/beep';
import { ConfigError } from '../errors.js';

export const RUN_SECURITY_OPTIONS = {
  tls: { type: 'boolean' },
  cacert: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  sni: { type: 'string' },
  insecure: { type: 'boolean' },
  user: { type: 'string' },
  pass: { type: 'string' },
  sasl: { type: 'string' },
  mech: { type: 'string' },
} as const;

/** Names `beamgate run` had before they were shared with beep and beam; still accepted. */
export const RUN_SECURITY_RENAMES: Record<string, string> = { ca: 'cacert', servername: 'sni' };

export interface RunSecurity {
  /** Negotiate the TLS profile first; `caFile` is read by the caller. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string; servername?: string; insecure?: boolean };
  sasl?: { authcid?: string; password?: string; mechanism?: SaslMechanismName };
}

interface RunSecurityValues {
  tls?: boolean;
  cacert?: string;
  cert?: string;
  key?: string;
  sni?: string;
  insecure?: boolean;
  user?: string;
  pass?: string;
  sasl?: string;
  mech?: string;
}

function envFlag(env: Record<string, string | undefined>, name: string): boolean {
  const v = env[name]?.trim().toLowerCase();
  if (v === undefined || v === '') return false;
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(`${name}: expected 1/true or 0/false, got '${env[name]}'`);
}

/** Flags over `BEAMGATE_TLS`, `BEAMGATE_CA`, `BEAMGATE_SASL` (NAME:PASSWORD, keeps the password out of argv). */
export function parseRunSecurity(values: RunSecurityValues, env: Record<string, string | undefined>): RunSecurity {
  const out: RunSecurity = {};
  if ((values.cert === undefined) !== (values.key === undefined)) throw new ConfigError('--cert and --key go together');
  // As in beep and beam, every TLS detail implies --tls.
  const useTls = values.tls === true || envFlag(env, 'BEAMGATE_TLS') || values.cacert !== undefined || values.cert !== undefined
    || values.sni !== undefined || values.insecure === true;
  if (useTls) {
    const caFile = values.cacert ?? (env['BEAMGATE_CA'] || undefined);
    out.tls = {
      ...(caFile !== undefined ? { caFile } : {}),
      ...(values.cert !== undefined && values.key !== undefined ? { certFile: values.cert, keyFile: values.key } : {}),
      ...(values.sni !== undefined ? { servername: values.sni } : {}),
      ...(values.insecure ? { insecure: true } : {}),
    };
  }
  let mechanism: SaslMechanismName | undefined;
  if (values.mech !== undefined) {
    const m = values.mech.toUpperCase();
    if (!(SASL_MECHANISMS as readonly string[]).includes(m)) throw new ConfigError(`--mech: expected one of ${SASL_MECHANISMS.join(', ')}`);
    mechanism = m as SaslMechanismName;
  }
  if ((values.user === undefined) !== (values.pass === undefined)) throw new ConfigError('--user and --pass go together');
  if (values.user !== undefined && values.sasl !== undefined) throw new ConfigError('use either --user/--pass or --sasl NAME:PASSWORD');
  const sasl = values.user !== undefined ? `${values.user}:${values.pass}` : values.sasl ?? (env['BEAMGATE_SASL'] || undefined);
  const source = values.user !== undefined ? '--user' : values.sasl !== undefined ? '--sasl' : 'BEAMGATE_SASL';
  if (sasl !== undefined) {
    const colon = sasl.indexOf(':');
    if (colon <= 0 || colon === sasl.length - 1) throw new ConfigError(`${source}: expected NAME:PASSWORD`);
    out.sasl = { authcid: sasl.slice(0, colon), password: sasl.slice(colon + 1), ...(mechanism ? { mechanism } : {}) };
  } else if (mechanism === 'ANONYMOUS') {
    out.sasl = { mechanism };
  } else if (mechanism !== undefined) {
    throw new ConfigError('--mech needs --user/--pass (or --mech ANONYMOUS)');
  }
  return out;
}
