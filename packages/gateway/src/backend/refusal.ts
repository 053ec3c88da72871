/**
 * What an error reply of the context to one of the gateway's own job commands means for the BEEP peer
 * (docs/gateway.md §2.9, §4): the context cannot take work now (421), or it refused this request (554, with the
 * context's error line). Anything that is not an error reply passes through unchanged.
 */
import { ContextRefusedError, ContextUnavailableError } from '../errors.js';
import { BeamCommandError } from './types.js';

/** Error prefixes that say the context is not serving (loading, busy, read-only, out of memory, no access). */
const UNAVAILABLE = new Set(['LOADING', 'BUSY', 'MASTERDOWN', 'TRYAGAIN', 'READONLY', 'OOM', 'NOAUTH', 'NOPERM', 'CLUSTERDOWN', 'NOREPLICAS']);

/** The error prefix of a RESP error line (`ERR`, `WRONGTYPE`, `LOADING`...). */
export function errorPrefix(line: string): string {
  return /^([A-Z][A-Z0-9_-]*)(?:\s|$)/.exec(line)?.[1] ?? 'ERR';
}

/** Converts a BeamCommandError into the typed error to report; `what` says what failed (`job 3 cannot start`). */
export function contextRefusal(e: unknown, what: string): unknown {
  if (!(e instanceof BeamCommandError)) return e;
  const line = e.message;
  if (UNAVAILABLE.has(errorPrefix(line))) return new ContextUnavailableError(`${what}: the context is not available: ${line}`, { cause: e });
  return new ContextRefusedError(`${what}: ${line}`, { cause: e });
}

/** Runs one of the gateway's commands, converting an error reply with `contextRefusal`. */
export async function refusing<T>(what: string, command: Promise<T>): Promise<T> {
  try {
    return await command;
  } catch (e) {
    throw contextRefusal(e, what);
  }
}
