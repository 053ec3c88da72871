import type { CommandSpec } from '../../context/api.js';
import { ErrorReply, OK, RespVerbatim, SimpleString, type Reply } from '../../wire/reply.js';
import { saveRdb, saveState } from '../persistence.js';
import type { CommandScope } from './env.js';
import { scriptEngineOf } from './scripting.js';
import { clientOf, container, E_NOT_INT, E_SYNTAX, helpReply, parseIntArg, spec } from './spec.js';

/**
 * Server administration commands real tools call: MONITOR, SAVE/BGSAVE/LASTSAVE, SHUTDOWN, and minimal
 * SLOWLOG/LATENCY (nothing is recorded: empty answers in Redis' shapes) and DEBUG SLEEP.
 */
export function adminCommands(scope: CommandScope): CommandSpec[] {
  const { env, context } = scope;

  const save = async (): Promise<Reply> => {
    if (!context) return new ErrorReply('ERR no keyspace to save');
    try {
      await saveRdb(context, env.config);
      return OK;
    } catch (e) {
      const m = e instanceof Error ? e.message : String(e);
      return new ErrorReply(m.startsWith('Background save') ? `ERR ${m}` : `ERR saving failed: ${m}`);
    }
  };

  return [
    spec('monitor', 1, ['admin', 'noscript', 'loading', 'stale'], (inv) => {
      const c = clientOf(inv);
      // Inside EXEC Redis refuses it the same way (the client expects one reply per command).
      if (c.inExec) return new ErrorReply("ERR MONITOR isn't allowed for DENY BLOCKING client");
      if (c.monitor) return OK;
      env.monitors.add(c);
      return OK;
    }),

    spec('save', 1, ['admin', 'noscript', 'no_async_loading', 'no_multi'], () => save()),

    spec('bgsave', -1, ['admin', 'noscript', 'no_async_loading'], (inv) => {
      if (inv.argv.length > 2 || (inv.argv.length === 2 && inv.argv[1]!.toString().toLowerCase() !== 'schedule')) return E_SYNTAX;
      if (!context) return new ErrorReply('ERR no keyspace to save');
      if (saveState(context).inProgress) return new ErrorReply('ERR Background save already in progress');
      saveRdb(context, env.config).catch(() => undefined);
      return new SimpleString('Background saving started');
    }),

    spec('lastsave', 1, ['loading', 'stale', 'fast'], () => (context ? saveState(context).lastSave : Math.floor(env.registry.startedAt / 1000))),

    spec('shutdown', -1, ['admin', 'noscript', 'loading', 'stale', 'no_multi', 'allow_busy'], (inv) => {
      let mode: 'save' | 'nosave' | null = null;
      let abort = false;
      for (const a of inv.argv.slice(1)) {
        const o = a.toString('latin1').toLowerCase();
        if ((o === 'save' || o === 'nosave') && mode === null) mode = o;
        else if (o === 'now' || o === 'force') continue;
        else if (o === 'abort') abort = true;
        else return E_SYNTAX;
      }
      if (abort) return inv.argv.length === 2 ? new ErrorReply('ERR No shutdown in progress.') : E_SYNTAX;
      // During a busy script only SHUTDOWN NOSAVE goes through, and it stops the script.
      const engine = scriptEngineOf(scope.dispatcher);
      const busy = engine?.busy ?? null;
      if (busy !== null) {
        if (mode !== 'nosave') return busy;
        engine!.abortForShutdown();
      }
      const wantSave = mode === 'save' || (mode === null && (env.config.get('save') ?? '') !== '');
      const finish = (): null => {
        env.shutdown();
        // Redis answers nothing: the connection just closes.
        clientOf(inv).onKill?.();
        return null;
      };
      // Synchronous unless it saves: during a busy script no promise could settle.
      if (!wantSave) return finish();
      return save().then((r) => {
        if (r instanceof ErrorReply && !inv.argv.some((a) => a.toString().toLowerCase() === 'force')) {
          return new ErrorReply('ERR Errors trying to SHUTDOWN. Check logs.');
        }
        return finish();
      });
    }),

    spec('slowlog', -2, ['admin', 'loading', 'stale'], container('slowlog', {
      get: {
        arity: -2,
        run: (inv) => {
          if (inv.argv.length > 3) return E_SYNTAX;
          if (inv.argv.length === 3) {
            const n = parseIntArg(inv.argv[2]!);
            if (n === null || n < -1) return new ErrorReply('ERR count should be greater than or equal to -1');
          }
          return [];
        },
      },
      len: { arity: 2, run: () => 0 },
      reset: { arity: 2, run: () => OK },
      help: {
        arity: 2,
        run: () => helpReply([
          'SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
          'GET [<count>]', '    Return top <count> entries from the slowlog (default: 10, -1 mean all).',
          'LEN', '    Return the length of the slowlog.',
          'RESET', '    Reset the slowlog.',
          'HELP', '    Prints this help.',
        ]),
      },
    })),

    spec('latency', -2, ['admin', 'noscript', 'loading', 'stale'], container('latency', {
      latest: { arity: 2, run: () => [] },
      history: { arity: 3, run: () => [] },
      reset: { arity: -2, run: () => 0 },
      doctor: {
        arity: 2,
        run: (inv) => {
          const text = 'Latency monitoring is not available in this server (nothing is recorded).\n';
          return clientOf(inv).resp === 3 ? new RespVerbatim('txt', text) : text;
        },
      },
      help: {
        arity: 2,
        run: () => helpReply([
          'LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
          'DOCTOR', '    Return a human readable latency analysis report.',
          'HISTORY <event>', '    Return time-latency samples for the <event> class.',
          'LATEST', '    Return the latest latency samples for all events.',
          'RESET [<event> ...]', '    Reset latency data of one or more <event> classes.',
          'HELP', '    Prints this help.',
        ]),
      },
    })),

    // Cluster mode is not offered: CLUSTER answers as a redis-server with cluster-enabled no (and, as CLUSTER RESET
    // there, may not run from scripts).
    spec('cluster', -2, ['noscript', 'loading', 'stale'], () => new ErrorReply('ERR This instance has cluster support disabled')),

    spec('debug', -2, ['admin', 'noscript', 'loading', 'stale'], container('debug', {
      sleep: {
        arity: 3,
        run: async (inv) => {
          const s = Number(inv.argv[2]!.toString());
          if (!Number.isFinite(s) || s < 0) return E_NOT_INT;
          // Redis stops the whole server; here only this client waits.
          await new Promise((r) => setTimeout(r, Math.min(s * 1000, 2 ** 31 - 1)));
          return OK;
        },
      },
      help: {
        arity: 2,
        run: () => helpReply([
          'DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
          'SLEEP <seconds>', '    Delay the reply to this client for <seconds> (Beam supports no other DEBUG subcommand).',
        ]),
      },
    })),
  ];
}
