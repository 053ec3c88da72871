import type { CommandSpec } from '../../context/api.js';
import { ConfigError } from '../../context/config.js';
import { allowProtected } from '../../context/dispatch.js';
import { ErrorReply, OK, RespMap, type Reply } from '../../wire/reply.js';
import type { CommandScope } from './env.js';
import { clientOf, container, E_SYNTAX, helpReply, spec } from './spec.js';

const PROTECTED = new Set(['dir', 'dbfilename']);

export function configCommands(scope: CommandScope): CommandSpec[] {
  const cfg = scope.env.config;
  return [
    spec('config', -2, ['admin', 'noscript', 'loading', 'stale'], container('config', {
      get: {
        arity: -3,
        run: (inv) => {
          const pairs = cfg.match(inv.argv.slice(2).map((b) => b.toString()));
          if (clientOf(inv).resp === 3) return new RespMap(pairs);
          return pairs.flat() as Reply[];
        },
      },
      set: {
        arity: -4,
        run: (inv) => {
          const a = inv.argv;
          if ((a.length - 2) % 2 !== 0) return E_SYNTAX;
          // Validate everything first so that a bad pair changes nothing (Redis 7 sets atomically).
          const pairs: Array<[string, string]> = [];
          for (let i = 2; i < a.length; i += 2) pairs.push([a[i]!.toString(), a[i + 1]!.toString()]);
          const names = new Set<string>();
          for (const [k] of pairs) {
            if (names.has(k.toLowerCase())) return new ErrorReply(`ERR CONFIG SET failed (possibly related to argument '${k}') - duplicate parameter`);
            names.add(k.toLowerCase());
          }
          // Where SAVE writes (Redis 7's protected configs) changes only as enable-protected-configs allows.
          const prot = allowProtected(cfg.get('enable-protected-configs'), clientOf(inv).local) ? undefined : pairs.find(([k]) => PROTECTED.has(k.toLowerCase()));
          if (prot) return new ErrorReply(`ERR CONFIG SET failed (possibly related to argument '${prot[0]}') - can't set protected config`);
          const before = pairs.map(([k]) => cfg.get(k));
          try {
            for (const [k, v] of pairs) cfg.set(k, v);
          } catch (e) {
            pairs.forEach(([k], i) => {
              const old = before[i];
              if (old !== undefined && cfg.get(k) !== old) {
                try {
                  cfg.set(k, old);
                } catch {
                  /* the old value was valid */
                }
              }
            });
            if (e instanceof ConfigError) return new ErrorReply(`ERR ${e.message}`);
            throw e;
          }
          return OK;
        },
      },
      resetstat: {
        arity: 2,
        run: () => {
          scope.env.registry.resetStats();
          return OK;
        },
      },
      rewrite: { arity: 2, run: () => new ErrorReply('ERR The server is running without a config file') },
      help: {
        arity: 2,
        run: () => helpReply([
          'CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
          'GET <pattern>', '    Return parameters matching the glob-like <pattern> and their values.',
          'SET <directive> <value>', '    Set the configuration <directive> to <value>.',
          'RESETSTAT', '    Reset statistics reported by the INFO command.',
          'REWRITE', '    Rewrite the configuration file.',
          'HELP', '    Prints this help.',
        ]),
      },
    })),
  ];
}
