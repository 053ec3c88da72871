import type { CommandHandler, CommandInvocation, CommandSpec } from '../../context/api.js';
import { arityError, type DispatchClient } from '../../context/dispatch.js';
import { ErrorReply, SimpleString, type Reply } from '../../wire/reply.js';

/** Shorthand for a CommandSpec. */
export function spec(
  name: string, arity: number, flags: string[], handler: CommandHandler, keys: [number, number, number] = [0, 0, 0],
): CommandSpec {
  return { name, arity, flags, firstKey: keys[0], lastKey: keys[1], step: keys[2], handler };
}

/** The connection's own client object (connections always run through a Dispatcher). */
export function clientOf(inv: CommandInvocation): DispatchClient {
  return inv.client as DispatchClient;
}

export interface Subcommand {
  arity: number;
  run: (inv: CommandInvocation) => Reply | Promise<Reply>;
}

/**
 * A container command (CONFIG, CLIENT, COMMAND, PUBSUB...): looks up argv[1] case-insensitively and
 * checks its arity with Redis' `'config|get'` naming; unknown ones get `unknown subcommand ... Try X HELP.`
 */
export function container(name: string, subs: Record<string, Subcommand>): CommandHandler {
  const handler: CommandHandler = (inv) => {
    const sub = inv.argv[1]!.toString('latin1');
    const key = sub.toLowerCase();
    const s = Object.hasOwn(subs, key) ? subs[key] : undefined;
    if (!s) {
      return new ErrorReply(`ERR unknown subcommand '${sub.slice(0, 128)}'. Try ${name.toUpperCase()} HELP.`);
    }
    const n = inv.argv.length;
    if (s.arity >= 0 ? n !== s.arity : n < -s.arity) return arityError(`${name}|${key}`);
    // CLIENT LIST shows `cmd=config|get` for subcommands.
    (inv.client as Partial<DispatchClient>).lastCommand = `${name}|${key}`;
    return s.run(inv);
  };
  SUBCOMMANDS.set(handler, Object.keys(subs));
  return handler;
}

const SUBCOMMANDS = new WeakMap<CommandHandler, string[]>();

/** The subcommand names of a container command (COMMAND LIST shows them as `config|get`); [] for others. */
export function subcommandsOf(s: CommandSpec): string[] {
  return SUBCOMMANDS.get(s.handler) ?? [];
}

/** Parses a Redis integer argument (strict, 64-bit range), or returns null. */
export function parseIntArg(b: Buffer): number | null {
  const s = b.toString('latin1');
  if (!/^-?(0|[1-9]\d{0,18})$/.test(s)) return null;
  const v = Number(s);
  return Number.isSafeInteger(v) ? v : null;
}

export const E_NOT_INT = new ErrorReply('ERR value is not an integer or out of range');
export const E_SYNTAX = new ErrorReply('ERR syntax error');

/** Redis HELP output: simple strings. */
export function helpReply(lines: string[]): Reply {
  return lines.map((l) => new SimpleString(l));
}
