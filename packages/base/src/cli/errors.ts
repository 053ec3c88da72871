/**
 * Exit codes and errors of the beamgate programs (docs/cli.md, "Exit codes"):
 *
 *   0    success; a server stopped by SIGINT/SIGTERM after draining
 *   1    failure: an ERR reply, a failed check, a runtime error, a second signal during shutdown
 *   2    usage or configuration error, or the peer could not be reached / did not answer in --timeout
 *   N    `beam run`, `beamgate run`, `beep connect --job`: the job's own exit status (0..255)
 *   125  `beam run`: beam itself failed (connection, protocol error), as docker run
 */
import { BeamgateError, ConfigError } from '../errors.js';

export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2, RUN_FAILED: 125 } as const;

/** A bad command line or configuration: printed without a stack trace, with the fix, and exit status 2. */
export class UsageError extends BeamgateError {
  override name = 'UsageError';
  /** What to do about it, e.g. "pick another port with --port". */
  readonly hint: string | undefined;

  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super('USAGE', message, options.cause === undefined ? {} : { cause: options.cause });
    this.hint = options.hint;
  }
}

/** True for the errors exit status 2 stands for: ours, node:util parseArgs' and a config error with a stable code. */
export function isUsageError(e: unknown): boolean {
  if (e instanceof UsageError || e instanceof ConfigError) return true;
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('ERR_PARSE_ARGS') || code === 'USAGE');
}

/** Attach the fix to an error (kept on `hint`, printed after the message). */
export function withHint<E>(e: E, hint: string): E {
  if (e !== null && typeof e === 'object') (e as { hint?: string }).hint ??= hint;
  return e;
}

/**
 * A bind failure as a UsageError that names the flag that picks another address: `flag` is the option that set
 * the address (`--port`, `--listen`, `--metrics`, ...).
 */
export function bindError(e: unknown, flag: string, what = 'address'): unknown {
  const err = e as NodeJS.ErrnoException & { address?: string; port?: number };
  const where = err.address !== undefined ? `${err.address}${err.port !== undefined ? `:${err.port}` : ''}` : what;
  if (err?.code === 'EADDRINUSE') {
    return new UsageError(`${where} is already in use (another process listens there)`, { hint: `pick another with ${flag} (0 picks a free port)`, cause: e });
  }
  if (err?.code === 'EACCES' || err?.code === 'EADDRNOTAVAIL') {
    return new UsageError(`cannot listen on ${where}: ${err.code}`, { hint: `pick an address this host has, and a port above 1023, with ${flag}`, cause: e });
  }
  return e;
}

/**
 * The error as the lines a user reads: `PROGRAM: message`, then `hint: ...` when there is a fix to name, and the
 * stack only when `debug` (--log-level debug).
 */
export function formatError(program: string, e: unknown, debug: boolean): string {
  const err = e instanceof Error ? e : new Error(String(e));
  const code = (err as { code?: unknown }).code;
  const reply = (err as { replyCode?: unknown }).replyCode;
  // A usage error is the user's, not a protocol reply: no reply code in front of it.
  const prefix = typeof reply === 'number' && !isUsageError(err) && !err.message.startsWith(String(reply)) ? `${reply} ` : '';
  const tag = typeof code === 'string' && !(err instanceof UsageError) && /^E[A-Z]+$/.test(code) && !err.message.includes(code) ? ` (${code})` : '';
  const hint = (err as { hint?: unknown }).hint;
  const named = err.message.startsWith(`${program}:`) || err.message.startsWith(`${program} `);
  let out = `${named ? '' : `${program}: `}${prefix}${err.message}${tag}\n`;
  if (typeof hint === 'string') out += `${program}: hint: ${hint}\n`;
  if (debug && err.stack) out += `${err.stack}\n`;
  return out;
}
