/**
 * The remote context's answer to "would this job run?": the Beam job engine publishes its handler names and exec
 * allow-list as the sets `/beam/handlers` and `/beam/exec` (database 0); the verdict comes from the same
 * `checkJob` rule the embedded engine uses. A context without the catalog (an older engine, a plain Redis with
 * external workers) cannot tell: 'maybe'.
 */
import { BEAM_EXEC_KEY, BEAM_HANDLERS_KEY, checkJob } from '@beamgate/beam';
import { ContextUnavailableError } from '../errors.js';
import type { CommandClient, HandlerCheck, Value } from './types.js';

const isOne = (v: Value): boolean => v === 1 || (Buffer.isBuffer(v) && v.toString('latin1') === '1');

export async function checkPublished(client: CommandClient, name: string, args: readonly string[]): Promise<HandlerCheck> {
  const program = args[1];
  let replies: Value[];
  try {
    // Pipelined on the one connection: a single round trip.
    replies = await Promise.all([
      client.call(['EXISTS', BEAM_HANDLERS_KEY]),
      client.call(['SISMEMBER', BEAM_HANDLERS_KEY, name]),
      client.call(['SISMEMBER', BEAM_EXEC_KEY, name]),
      program === undefined ? Promise.resolve<Value>(0) : client.call(['SISMEMBER', BEAM_EXEC_KEY, program]),
    ]);
  } catch (e) {
    if (e instanceof ContextUnavailableError) throw e;
    // Keys of another type, no permission to read them...: the context cannot tell.
    return 'maybe';
  }
  const [exists, handler, nameAllowed, programAllowed] = replies.map(isOne) as [boolean, boolean, boolean, boolean];
  if (!exists) return 'maybe';
  return checkJob(
    {
      hasHandler: (n) => n === name && handler,
      // The engine registers its built-in exec under this name; the catalog cannot tell a replacement apart.
      isExecBuiltin: (n) => n === 'exec' && n === name && handler,
      execAllowed: (p) => (p === name && nameAllowed) || (p === program && programAllowed),
    },
    name,
    args,
  );
}
