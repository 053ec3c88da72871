import type { Buffer } from 'node:buffer';
import type { CommandSpec } from '../context/api.js';
import { ErrorReply, OK, type Reply } from '../wire/reply.js';
import type { RunState } from './script-meta.js';

/**
 * A script past busy-reply-threshold, as Redis 7.0 handles it (script.c scriptInterrupt, processEventsWhileBlocked):
 * Lua still holds the event loop, but its count hook now serves the other clients (see ScriptEngineOptions.whileBusy)
 * and the dispatcher answers them BUSY except for the commands flagged allow-busy (SCRIPT KILL, FUNCTION KILL,
 * SHUTDOWN NOSAVE, AUTH, MULTI...). SCRIPT KILL / FUNCTION KILL mark the run killed; the hook then raises.
 */

export const E_BUSY_EVAL = new ErrorReply('BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.');
export const E_BUSY_FUNCTION = new ErrorReply('BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.');
const E_NOTBUSY = new ErrorReply('NOTBUSY No scripts in execution right now.');
const E_UNKILLABLE = new ErrorReply('UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the '
  + 'script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.');

/** The error a killed script raises (and re-raises on every line, so pcall cannot swallow it). */
export const KILLED_MESSAGE = 'Script killed by user with SCRIPT KILL...';

/** Subcommands Redis flags allow-busy whose parent command is not. */
const ALLOW_BUSY_SUBCOMMANDS = new Set(['script|kill', 'function|kill', 'function|stats']);

/** Whether a command may run while a script is busy (CMD_ALLOW_BUSY). */
export function allowedWhileBusy(spec: CommandSpec, argv: Buffer[]): boolean {
  if (spec.flags.includes('allow_busy')) return true;
  return argv.length >= 2 && ALLOW_BUSY_SUBCOMMANDS.has(`${spec.name}|${argv[1]!.toString('latin1').toLowerCase()}`);
}

/** scriptKill: SCRIPT KILL (eval) or FUNCTION KILL (function) of the running script. */
export function killScript(run: RunState | null, isEval: boolean): Reply {
  if (run === null) return E_NOTBUSY;
  if (run.writeDirty) return E_UNKILLABLE;
  if (isEval && !run.evalMode) return E_BUSY_FUNCTION;
  if (!isEval && run.evalMode) return E_BUSY_EVAL;
  run.killed = true;
  return OK;
}
