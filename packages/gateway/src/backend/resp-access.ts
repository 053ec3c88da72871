/**
 * The gateway's `access` policy for jobs created or started over RESP (the plain listener and the RESP profile):
 * a CommandFilter on the embedded context. `RPUSH /jobs NAME...` and `SET /jobs/ID ""` are checked against the
 * client's user (AUTH / HELLO AUTH on the listener, the BEEP session's SASL identity on the profile). Clients the
 * gateway runs itself (BEEP job channels, already checked) are trusted.
 */
import { ErrorReply, JOBS_DB, JOBS_KEY, parseJobKey, type CommandFilter, type DispatchClient, type Reply } from '@beamgate/beam';
import type { AccessConfig } from '../config-types.js';
import { checkAccess } from '../access.js';

export interface RespAccessHost {
  access: AccessConfig | undefined;
  /** Clients exempt from the policy. */
  trusted(c: DispatchClient): boolean;
  /** The identity a client acts as: undefined when it never authenticated. */
  identity(c: DispatchClient): string | undefined;
  /** The handler name of job `id` (LINDEX /jobs id), when known. */
  jobName(id: number): string | undefined;
}

function refusal(e: unknown): ErrorReply {
  return new ErrorReply(`NOPERM ${e instanceof Error ? e.message : String(e)}`);
}

function check(host: RespAccessHost, c: DispatchClient, name: string): ErrorReply | undefined {
  try {
    checkAccess(host.access, host.identity(c), name);
    return undefined;
  } catch (e) {
    return refusal(e);
  }
}

export function respAccessFilter(host: RespAccessHost): CommandFilter {
  const jobsKey = Buffer.from(JOBS_KEY);
  return (inv, spec): Reply | undefined => {
    const c = inv.client as DispatchClient;
    if (host.access === undefined || c.internal || c.db !== JOBS_DB || host.trusted(c)) return undefined;
    const argv = inv.argv;
    if (spec.name === 'rpush' && argv[1]?.equals(jobsKey)) {
      for (let i = 2; i < argv.length; i++) {
        const e = check(host, c, argv[i]!.toString());
        if (e) return e;
      }
      return undefined;
    }
    if (spec.name === 'set' && argv[1] !== undefined && argv[1][0] === 0x2f) {
      const k = parseJobKey(argv[1]);
      if (k?.kind !== 'start') return undefined;
      const name = host.jobName(k.id);
      return name === undefined ? undefined : check(host, c, name);
    }
    return undefined;
  };
}
