import type { CommandSpec } from '../../context/api.js';
import type { DispatchClient } from '../../context/dispatch.js';
import { ErrorReply, NULL_ARRAY, OK, type Reply } from '../../wire/reply.js';
import type { CommandScope } from './env.js';
import { clientOf, spec } from './spec.js';

function endMulti(scope: CommandScope, c: DispatchClient): void {
  c.multi = null;
  c.multiDirty = false;
  scope.dispatcher.unwatchAll(c);
}

/** MULTI / EXEC / DISCARD / WATCH / UNWATCH with Redis 7.0's replies. */
export function transactionCommands(scope: CommandScope): CommandSpec[] {
  const d = scope.dispatcher;
  const flags = ['noscript', 'loading', 'stale', 'fast', 'allow_busy'];
  return [
    spec('multi', 1, flags, (inv) => {
      const c = clientOf(inv);
      if (c.multi) return new ErrorReply('ERR MULTI calls can not be nested');
      c.multi = [];
      c.multiDirty = false;
      return OK;
    }),
    spec('discard', 1, flags, (inv) => {
      const c = clientOf(inv);
      if (!c.multi) return new ErrorReply('ERR DISCARD without MULTI');
      endMulti(scope, c);
      return OK;
    }),
    spec('watch', -2, flags, (inv) => {
      const c = clientOf(inv);
      if (c.multi) return new ErrorReply('ERR WATCH inside MULTI is not allowed');
      for (const k of inv.argv.slice(1)) d.watch(c, k);
      return OK;
    }, [1, -1, 1]),
    spec('unwatch', 1, flags, (inv) => {
      d.unwatchAll(clientOf(inv));
      return OK;
    }),
    spec('exec', 1, ['noscript', 'loading', 'stale', 'skip_slowlog'], (inv) => {
      const c = clientOf(inv);
      const queued = c.multi;
      if (!queued) return new ErrorReply('ERR EXEC without MULTI');
      if (c.multiDirty) {
        endMulti(scope, c);
        return new ErrorReply('EXECABORT Transaction discarded because of previous errors.');
      }
      if (c.watchDirty) {
        endMulti(scope, c);
        return NULL_ARRAY;
      }
      endMulti(scope, c);
      return runQueued(scope, c, queued);
    }),
  ];
}

/** Runs queued commands back to back; only a command that really returns a Promise makes EXEC async. */
function runQueued(scope: CommandScope, c: DispatchClient, queued: Buffer[][]): Reply | Promise<Reply> {
  const d = scope.dispatcher;
  const out: Reply[] = [];
  c.inExec = true;
  let i = 0;
  // Replicas get the transaction's writes wrapped in MULTI/EXEC (each synchronous run of it, should a command
  // really wait: other clients' writes may come in between then).
  const ctx = scope.context;
  const step = (): Reply | Promise<Reply> => {
    ctx?.beginPropagationBatch();
    try {
      for (; i < queued.length; i++) {
        const argv = queued[i]!;
        const s = d.lookup(argv[0]!)!;
        // ACL rules may have changed since the command was queued (execCommand checks again).
        const denied = d.aclCheck !== null && !c.internal ? d.aclCheck(c, s, argv, 'exec') : null;
        const r = denied ?? d.execute(c, s, argv);
        if (r instanceof Promise) {
          i++;
          return r.then((v) => {
            out.push(v);
            c.inExec = true;
            return step();
          });
        }
        out.push(r);
      }
    } finally {
      c.inExec = false;
      ctx?.endPropagationBatch();
    }
    return out;
  };
  return step();
}
