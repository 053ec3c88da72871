/** TLS and SASL options of `beamgate run` (the `beep connect` flags) and their environment variables. Pure. */
import { SASL_MECHANISMS, type SaslMechanismName } from '@beamgate/beep';
import { ConfigError } from '../errors.js';

export const RUN_SECURITY_OPTIONS = {
  tls: { type: 'boolean' },
  ca: { type: 'string' },
  servername: { type: 'string' },
  insecure: { type: 'boolean' },
  sasl: { type: 'string' },
  mech: { type: 'string' },
} as const;

export interface RunSecurity {
  /** Negotiate the TLS profile first; `caFile` is read by the caller. */
  tls?: { caFile?: string; servername?: string; insecure?: boolean };
  sasl?: { authcid?: string; password?: string; mechanism?: SaslMechanismName };
}

interface RunSecurityValues {
  tls?: boolean;
  ca?: string;
  servername?: string;
  insecure?: boolean;
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
  const useTls = values.tls === true || envFlag(env, 'BEAMGATE_TLS');
  if (useTls) {
    const caFile = values.ca ?? (env['BEAMGATE_CA'] || undefined);
    out.tls = {
      ...(caFile !== undefined ? { caFile } : {}),
      ...(values.servername !== undefined ? { servername: values.servername } : {}),
      ...(values.insecure ? { insecure: true } : {}),
    };
  } else if (values.ca !== undefined || values.servername !== undefined || values.insecure) {
    throw new ConfigError('--ca, --servername and --insecure need --tls');
  }
  let mechanism: SaslMechanismName | undefined;
  if (values.mech !== undefined) {
    const m = values.mech.toUpperCase();
    if (!(SASL_MECHANISMS as readonly string[]).includes(m)) throw new ConfigError(`--mech: expected one of ${SASL_MECHANISMS.join(', ')}`);
    mechanism = m as SaslMechanismName;
  }
  const sasl = values.sasl ?? (env['BEAMGATE_SASL'] || undefined);
  const source = values.sasl !== undefined ? '--sasl' : 'BEAMGATE_SASL';
  if (sasl !== undefined) {
    const colon = sasl.indexOf(':');
    if (colon <= 0 || colon === sasl.length - 1) throw new ConfigError(`${source}: expected NAME:PASSWORD`);
    out.sasl = { authcid: sasl.slice(0, colon), password: sasl.slice(colon + 1), ...(mechanism ? { mechanism } : {}) };
  } else if (mechanism === 'ANONYMOUS') {
    out.sasl = { mechanism };
  } else if (mechanism !== undefined) {
    throw new ConfigError('--mech needs --sasl NAME:PASSWORD (or --mech ANONYMOUS)');
  }
  return out;
}
