import { Buffer } from 'node:buffer';
import type { CommandInvocation, CommandSpec } from '../../context/api.js';
import type { DispatchClient } from '../../context/dispatch.js';
import type { Context } from '../../context/context.js';
import type { Dispatcher } from '../../context/dispatch.js';
import { globMatch } from '../../context/glob.js';
import { ErrorReply, OK, RespMap, RespSet, SimpleString, type Reply } from '../../wire/reply.js';
import { loadLua, loadedLua } from '../../scripting/lua-api.js';
import { container } from './spec.js';
import { ScriptEngine } from '../../scripting/engine.js';
import { dumpFunctions, restoreFunctions } from '../../scripting/function-dump.js';

export interface ScriptingScope {
  dispatcher: Dispatcher;
  context: Context | undefined;
  version: string;
  /** Current busy-reply-threshold (CONFIG), ms. */
  busyThreshold: () => number;
  /** ScriptEngineOptions.whileBusy. */
  whileBusy?: (caller: DispatchClient) => void;
}

const engines = new WeakMap<Dispatcher, ScriptEngine>();

/** The script engine of a dispatcher, once the Lua module has loaded (null before). */
export function scriptEngineOf(d: Dispatcher): ScriptEngine | undefined {
  return engines.get(d);
}

const HELP_SCRIPT = [
  'SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'DEBUG (YES|SYNC|NO)',
  '    Set the debug mode for subsequent scripts executed.',
  'EXISTS <sha1> [<sha1> ...]',
  '    Return information about the existence of the scripts in the script cache.',
  'FLUSH [ASYNC|SYNC]',
  '    Flush the Lua scripts cache. Very dangerous on replicas.',
  '    When called without the optional mode argument, the behavior is determined by the',
  '    lazyfree-lazy-user-flush configuration directive. Valid modes are:',
  '    * ASYNC: Asynchronously flush the scripts cache.',
  '    * SYNC: Synchronously flush the scripts cache.',
  'KILL',
  '    Kill the currently executing Lua script.',
  'LOAD <script>',
  '    Load a script into the scripts cache without executing it.',
  'HELP',
  '    Prints this help.',
];

const HELP_FUNCTION = [
  'FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'LOAD [REPLACE] <FUNCTION CODE>',
  'DELETE <LIBRARY NAME>',
  'LIST [LIBRARYNAME PATTERN] [WITHCODE]',
  'FLUSH [ASYNC|SYNC]',
  'KILL',
  'STATS',
  'DUMP',
  'RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]',
  'HELP',
];

function lower(b: Buffer | undefined): string {
  return b === undefined ? '' : b.toString('latin1').toLowerCase();
}

/**
 * EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, FUNCTION, FCALL and FCALL_RO for one dispatcher. The Lua module loads
 * asynchronously once per process; a command that arrives before it is ready waits for it (nothing has run yet, so
 * atomicity is not affected), every later one runs synchronously.
 */
export function scriptingCommands(scope: ScriptingScope): CommandSpec[] {
  const ready = loadLua();
  const get = (): ScriptEngine | null => {
    let e = engines.get(scope.dispatcher);
    if (e) return e;
    const api = loadedLua();
    if (api === null) return null;
    e = new ScriptEngine(api, {
      dispatcher: scope.dispatcher, context: scope.context, version: scope.version, busyThreshold: scope.busyThreshold,
      ...(scope.whileBusy ? { whileBusy: scope.whileBusy } : {}),
    });
    engines.set(scope.dispatcher, e);
    // Lua states live in the WebAssembly heap, outside the JS garbage collector: free them with the dispatcher.
    const engine = e;
    scope.dispatcher.onClose.push(() => {
      engine.close();
      engines.delete(scope.dispatcher);
    });
    return e;
  };
  const withEngine = (fn: (e: ScriptEngine, inv: CommandInvocation) => Reply) => (inv: CommandInvocation): Reply | Promise<Reply> => {
    const e = get();
    if (e !== null) return fn(e, inv);
    return ready.then(() => fn(get()!, inv), (err: unknown) => new ErrorReply(`ERR Lua engine unavailable: ${String(err)}`));
  };
  const propagate = (inv: CommandInvocation): void => scope.context?.propagateNow(inv.client.db, inv.argv);
  const client = (inv: CommandInvocation): DispatchClient => inv.client as DispatchClient;

  const evalFlags = ['noscript', 'skip_monitor', 'may_replicate', 'no_mandatory_keys', 'stale', 'movablekeys'];
  const spec = (name: string, arity: number, flags: string[], handler: CommandSpec['handler']): CommandSpec =>
    ({ name, arity, flags, firstKey: 0, lastKey: 0, step: 0, handler });

  const flushMode = (inv: CommandInvocation, what: string): ErrorReply | null => {
    if (inv.argv.length > 3 || (inv.argv.length === 3 && !['sync', 'async'].includes(lower(inv.argv[2])))) {
      return new ErrorReply(`ERR ${what}`);
    }
    return null;
  };
  const script = container('script', {
    help: { arity: 2, run: () => HELP_SCRIPT.map((l) => new SimpleString(l)) },
    flush: {
      arity: -2,
      run: withEngine((e, inv) => flushMode(inv, 'SCRIPT FLUSH only support SYNC|ASYNC option') ?? (e.flushScripts(), OK)),
    },
    exists: { arity: -3, run: withEngine((e, inv) => inv.argv.slice(2).map((s) => (e.hasScript(s.toString('latin1')) ? 1 : 0))) },
    load: { arity: 3, run: withEngine((e, inv) => e.createScript(inv.argv[2]!)) },
    kill: { arity: 2, run: withEngine((e) => e.kill(true)) },
    debug: {
      arity: 3,
      run: (inv) => {
        const mode = lower(inv.argv[2]);
        if (mode === 'no') return OK;
        if (mode === 'yes' || mode === 'sync') return new ErrorReply('ERR SCRIPT DEBUG is not supported by this server');
        return new ErrorReply('ERR Use SCRIPT DEBUG YES/SYNC/NO');
      },
    },
  });

  const fn = container('function', {
    help: { arity: 2, run: () => HELP_FUNCTION.map((l) => new SimpleString(l)) },
    load: {
      arity: -3,
      run: withEngine((e, inv) => {
        const argv = inv.argv;
        let replace = false;
        let i = 2;
        for (; i < argv.length - 1; i++) {
          if (lower(argv[i]) === 'replace') replace = true;
          else return new ErrorReply(`ERR Unknown option given: ${argv[i]!.toString('latin1')}`);
        }
        const r = e.loadLibrary(argv[i]!, replace);
        if (typeof r === 'string') propagate(inv);
        return r;
      }),
    },
    delete: {
      arity: 3,
      run: withEngine((e, inv) => {
        if (!e.deleteLibrary(inv.argv[2]!.toString('latin1'))) return new ErrorReply('ERR Library not found');
        propagate(inv);
        return OK;
      }),
    },
    flush: {
      arity: -2,
      run: withEngine((e, inv) => {
        if (inv.argv.length > 3) return new ErrorReply(`ERR unknown subcommand or wrong number of arguments for '${inv.argv[1]!.toString('latin1')}'. Try FUNCTION HELP.`);
        const bad = flushMode(inv, 'FUNCTION FLUSH only supports SYNC|ASYNC option');
        if (bad) return bad;
        e.flushFunctions();
        propagate(inv);
        return OK;
      }),
    },
    kill: { arity: 2, run: withEngine((e) => e.kill(false)) },
    stats: {
      arity: 2,
      run: withEngine((e) => new RespMap([
        ['running_script', e.running === null ? null : new RespMap([
          ['name', e.running.name], ['command', e.running.command], ['duration_ms', Date.now() - e.running.startedAt],
        ])],
        ['engines', new RespMap([['LUA', new RespMap([['libraries_count', e.libraries.size], ['functions_count', e.functions.size]])]])],
      ])),
    },
    list: {
      arity: -2,
      run: withEngine((e, inv) => {
        const argv = inv.argv;
        let withCode = false;
        let pattern: Buffer | null = null;
        for (let i = 2; i < argv.length; i++) {
          const a = lower(argv[i]);
          if (!withCode && a === 'withcode') {
            withCode = true;
          } else if (pattern === null && a === 'libraryname') {
            if (i >= argv.length - 1) return new ErrorReply('ERR library name argument was not given');
            pattern = argv[++i]!;
          } else {
            return new ErrorReply(`ERR Unknown argument ${argv[i]!.toString('latin1')}`);
          }
        }
        const out: Reply[] = [];
        for (const lib of e.libraries.values()) {
          if (pattern !== null && !globMatch(pattern, Buffer.from(lib.name, 'latin1'))) continue;
          const fns = [...lib.functions.values()].map((f) => new RespMap([
            ['name', f.name],
            ['description', f.description],
            ['flags', new RespSet([...f.flags].map((x) => new SimpleString(x)))],
          ]));
          const entries: Array<[Reply, Reply]> = [['library_name', lib.name], ['engine', lib.engine], ['functions', fns]];
          if (withCode) entries.push(['library_code', lib.code]);
          out.push(new RespMap(entries));
        }
        return out;
      }),
    },
    dump: { arity: 2, run: withEngine((e) => dumpFunctions(e)) },
    restore: {
      arity: -3,
      run: withEngine((e, inv) => {
        const argv = inv.argv;
        if (argv.length > 4) return new ErrorReply(`ERR unknown subcommand or wrong number of arguments for '${argv[1]!.toString('latin1')}'. Try FUNCTION HELP.`);
        const policy = argv.length === 4 ? lower(argv[3]) : 'append';
        if (!['flush', 'append', 'replace'].includes(policy)) {
          return new ErrorReply('ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.');
        }
        const r = restoreFunctions(e, argv[2]!, policy as 'flush' | 'append' | 'replace');
        if (r === OK) propagate(inv);
        return r;
      }),
    },
  });

  return [
    spec('eval', -3, evalFlags, withEngine((e, inv) => e.eval(client(inv), inv.argv, false, false))),
    spec('evalsha', -3, evalFlags, withEngine((e, inv) => e.eval(client(inv), inv.argv, true, false))),
    spec('eval_ro', -3, ['noscript', 'skip_monitor', 'no_mandatory_keys', 'stale', 'readonly', 'movablekeys'],
      withEngine((e, inv) => e.eval(client(inv), inv.argv, false, true))),
    spec('evalsha_ro', -3, ['noscript', 'skip_monitor', 'no_mandatory_keys', 'stale', 'readonly', 'movablekeys'],
      withEngine((e, inv) => e.eval(client(inv), inv.argv, true, true))),
    spec('fcall', -3, evalFlags, withEngine((e, inv) => e.fcall(client(inv), inv.argv, false))),
    spec('fcall_ro', -3, ['noscript', 'skip_monitor', 'no_mandatory_keys', 'stale', 'readonly', 'movablekeys'],
      withEngine((e, inv) => e.fcall(client(inv), inv.argv, true))),
    spec('script', -2, ['noscript', 'may_replicate'], script),
    spec('function', -2, ['noscript', 'may_replicate'], fn),
  ];
}
