import { Buffer } from 'node:buffer';
import { LUA_REGISTRYINDEX, LUA_TFUNCTION, LUA_TNUMBER, LUA_TSTRING, LUA_TTABLE, type LuaApi, type LuaState } from './lua-api.js';
import { formatG, pushErrorTable } from './convert.js';
import { installCodecs } from './lua-codecs.js';
import { PRELUDE } from './prelude.js';
import { SCRIPT_FLAGS, sha1hex, type Library, type RunState } from './script-meta.js';
import type { Dispatcher } from '../context/dispatch.js';

/** What the redis.* API of a LuaVm needs from the engine that runs it (ScriptEngine). */
export interface VmHost {
  readonly version: string;
  readonly dispatcher: Dispatcher;
  readonly running: RunState | null;
  redisCall(vm: LuaVm, L: LuaState, raise: boolean): number;
  setRepl(flags: number): void;
  log(level: string, msg: string): void;
}

const LOG_LEVELS = ['debug', 'verbose', 'notice', 'warning'];

/**
 * One Lua interpreter with Redis' API: the EVAL interpreter and the FUNCTION interpreter are two of these, as in
 * Redis (SCRIPT FLUSH replaces the first, FUNCTION FLUSH leaves it alone).
 */
export class LuaVm {
  readonly L: LuaState;
  private readonly fns: number[] = [];
  /** Registry refs of the prelude's internals. */
  readonly errh: number;
  readonly internals: number;
  loadingLibrary: Library | null = null;

  constructor(readonly api: LuaApi, private readonly engine: VmHost, readonly functionsMode: boolean) {
    const m = api.m;
    const L = (this.L = m._luaL_newstate());
    m._luaL_openlibs(L);
    const reg = (name: string, fn: (L: LuaState) => number): void => {
      const p = api.func(fn);
      this.fns.push(p);
      api.pushFunction(L, p);
      api.setField(L, -2, name);
    };
    const consts = (t: Record<string, number | string>): void => {
      for (const [k, v] of Object.entries(t)) {
        if (typeof v === 'number') api.pushInteger(L, v);
        else api.pushString(L, v);
        api.setField(L, -2, k);
      }
    };
    const versionConsts = (): void => {
      const [a = 0, b = 0, c = 0] = engine.version.split('.').map(Number);
      consts({ REDIS_VERSION: engine.version, REDIS_VERSION_NUM: (a << 16) | (b << 8) | c });
    };
    const logConsts = (): void => consts({ LOG_DEBUG: 0, LOG_VERBOSE: 1, LOG_NOTICE: 2, LOG_WARNING: 3 });

    this.fns.push(...installCodecs(api, L));
    m._lua_createtable(L, 0, 32);
    reg('call', (l) => engine.redisCall(this, l, true));
    reg('pcall', (l) => engine.redisCall(this, l, false));
    reg('sha1hex', (l) => {
      if (api.top(l) !== 1) return this.raiseTable(l, 'wrong number of arguments');
      api.pushString(l, sha1hex(api.toBytes(l, 1) ?? Buffer.alloc(0)));
      return 1;
    });
    reg('error_reply', (l) => {
      if (api.top(l) !== 1 || api.type(l, -1) !== LUA_TSTRING) {
        pushErrorTable(api, l, 'wrong number or type of arguments');
        return 1;
      }
      const e = api.toStr(l, -1)!;
      pushErrorTable(api, l, e.startsWith('-') ? e : `-${e}`);
      return 1;
    });
    reg('status_reply', (l) => {
      if (api.top(l) !== 1 || api.type(l, -1) !== LUA_TSTRING) {
        pushErrorTable(api, l, 'wrong number or type of arguments');
        return 1;
      }
      m._lua_createtable(l, 0, 1);
      m._lua_pushvalue(l, -2);
      api.setField(l, -2, 'ok');
      return 1;
    });
    reg('log', (l) => this.log(l));
    reg('setresp', (l) => {
      const run = engine.running;
      if (!run) return this.raiseTable(l, 'redis.setresp can only be called inside a script invocation');
      if (api.top(l) !== 1) return this.raiseTable(l, 'redis.setresp() requires one argument.');
      const v = m._lua_tonumberx(l, 1, 0);
      if (v !== 2 && v !== 3) return this.raiseTable(l, 'RESP version must be 2 or 3.');
      run.lua.resp = v;
      return 0;
    });
    reg('set_repl', (l) => {
      const run = engine.running;
      if (!run) return this.raiseTable(l, 'redis.set_repl can only be called inside a script invocation');
      if (api.top(l) !== 1) return this.raiseTable(l, 'redis.set_repl() requires two arguments.');
      const v = m._lua_tonumberx(l, 1, 0);
      if (!Number.isInteger(v) || (v & ~3) !== 0) return this.raiseTable(l, 'Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.');
      engine.setRepl(v);
      return 0;
    });
    reg('replicate_commands', (l) => {
      m._lua_pushboolean(l, 1);
      return 1;
    });
    reg('breakpoint', (l) => {
      m._lua_pushboolean(l, 0);
      return 1;
    });
    reg('debug', () => 0);
    reg('acl_check_cmd', (l) => {
      if (!engine.running) return this.raiseTable(l, 'redis.acl_check_cmd can only be called inside a script invocation');
      const argv = this.args(l);
      if (typeof argv === 'string') return this.raiseTable(l, argv);
      const spec = engine.dispatcher.lookup(argv[0]!);
      if (spec === undefined) return this.raiseTable(l, 'Invalid command passed to redis.acl_check_cmd()');
      const check = engine.dispatcher.aclCheck;
      m._lua_pushboolean(l, check === null || check(engine.running.caller, spec, argv, 'check') === null ? 1 : 0);
      return 1;
    });
    logConsts();
    versionConsts();
    consts({ REPL_NONE: 0, REPL_AOF: 1, REPL_SLAVE: 2, REPL_REPLICA: 2, REPL_ALL: 3 });
    api.setGlobal(L, 'redis');

    const err = api.load(L, Buffer.from(PRELUDE), '@prelude');
    if (err !== null || api.pcall(L, 0, 1, 0) !== 0) throw new Error(`Lua prelude failed: ${err ?? api.toStr(L, -1)}`);
    this.internals = m._luaL_ref(L, LUA_REGISTRYINDEX);
    m._lua_rawgeti(L, LUA_REGISTRYINDEX, BigInt(this.internals));
    api.getField(L, -1, 'errh');
    this.errh = m._luaL_ref(L, LUA_REGISTRYINDEX);
    // The library-loading `redis` table: register_function, log and the version fields only.
    api.getField(L, -1, 'finish');
    m._lua_createtable(L, 0, 8);
    reg('register_function', (l) => this.registerFunction(l));
    reg('log', (l) => this.log(l));
    logConsts();
    versionConsts();
    if (api.pcall(L, 1, 0, 0) !== 0) throw new Error(`Lua prelude failed: ${api.toStr(L, -1)}`);
    api.setTop(L, 0);
  }

  close(): void {
    this.api.m._lua_close(this.L);
    // addFunction returns the same slot for a function object added twice: free each slot once.
    for (const p of new Set(this.fns)) this.api.m.removeFunction(p);
  }

  /** Raises Redis' error table (luaPushError + luaError). */
  raiseTable(L: LuaState, msg: string): number {
    pushErrorTable(this.api, L, msg);
    return this.api.error(L);
  }

  /** The arguments of redis.call & co. as argv (luaArgsToRedisArgv), or Redis' error text. */
  args(L: LuaState): Buffer[] | string {
    const api = this.api;
    const n = api.top(L);
    if (n === 0) return 'Please specify at least one argument for this redis lib call';
    const argv: Buffer[] = [];
    for (let i = 1; i <= n; i++) {
      const t = api.type(L, i);
      if (t === LUA_TNUMBER) {
        if (api.m._lua_isinteger(L, i) !== 0) argv.push(Buffer.from(api.m._lua_tointegerx(L, i, 0).toString()));
        else argv.push(Buffer.from(formatG(api.m._lua_tonumberx(L, i, 0), 17)));
      } else if (t === LUA_TSTRING) {
        argv.push(api.toBytes(L, i)!);
      } else {
        api.setTop(L, 0);
        return 'Lua redis lib command arguments must be strings or integers';
      }
    }
    api.setTop(L, 0);
    return argv;
  }

  private log(L: LuaState): number {
    const api = this.api;
    const n = api.top(L);
    if (n < 2) return this.raiseTable(L, 'redis.log() requires two arguments or more.');
    if (api.type(L, 1) !== LUA_TNUMBER) return this.raiseTable(L, 'First argument must be a number (log level).');
    const level = api.m._lua_tonumberx(L, 1, 0);
    if (!(level >= 0 && level <= 3)) return this.raiseTable(L, 'Invalid debug level.');
    const parts: string[] = [];
    for (let i = 2; i <= n; i++) {
      const s = api.toStr(L, i);
      if (s !== null) parts.push(s);
    }
    this.engine.log(LOG_LEVELS[Math.trunc(level)]!, parts.join(' '));
    return 0;
  }

  private registerFunction(L: LuaState): number {
    const api = this.api;
    const m = api.m;
    const lib = this.loadingLibrary;
    if (lib === null) return this.raiseTable(L, 'redis.register_function can only be called on FUNCTION LOAD command');
    const n = api.top(L);
    if (n < 1 || n > 2) return this.raiseTable(L, 'wrong number of arguments to redis.register_function');
    let name: string | null = null;
    let desc: string | null = null;
    let ref = -1;
    const flags = new Set<string>();
    const fail = (msg: string): number => {
      if (ref >= 0) m._luaL_unref(L, LUA_REGISTRYINDEX, ref);
      return this.raiseTable(L, msg);
    };
    if (n === 2) {
      if (api.type(L, 1) !== LUA_TSTRING && api.type(L, 1) !== LUA_TNUMBER) return fail('first argument to redis.register_function must be a string');
      name = api.toStr(L, 1);
      if (api.type(L, 2) !== LUA_TFUNCTION) return fail('second argument to redis.register_function must be a function');
      m._lua_pushvalue(L, 2);
      ref = m._luaL_ref(L, LUA_REGISTRYINDEX);
    } else {
      if (api.type(L, 1) !== LUA_TTABLE) return fail('calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).');
      m._lua_pushnil(L);
      while (m._lua_next(L, 1) !== 0) {
        if (api.type(L, -2) !== LUA_TSTRING) return fail('named argument key given to redis.register_function is not a string');
        const key = api.toStr(L, -2)!.toLowerCase();
        const vt = api.type(L, -1);
        if (key === 'function_name') {
          if (vt !== LUA_TSTRING && vt !== LUA_TNUMBER) return fail('function_name argument given to redis.register_function must be a string');
          name = api.toStr(L, -1);
        } else if (key === 'description') {
          if (vt !== LUA_TSTRING && vt !== LUA_TNUMBER) return fail('description argument given to redis.register_function must be a string');
          desc = api.toStr(L, -1);
        } else if (key === 'callback') {
          if (vt !== LUA_TFUNCTION) return fail('callback argument given to redis.register_function must be a function');
          m._lua_pushvalue(L, -1);
          if (ref >= 0) m._luaL_unref(L, LUA_REGISTRYINDEX, ref);
          ref = m._luaL_ref(L, LUA_REGISTRYINDEX);
        } else if (key === 'flags') {
          if (vt !== LUA_TTABLE) return fail('flags argument to redis.register_function must be a table representing function flags');
          const t = api.top(L);
          for (let j = 1; ; j++) {
            if (m._lua_rawgeti(L, t, BigInt(j)) === 0) break;
            const f = api.type(L, -1) === LUA_TSTRING ? api.toStr(L, -1)! : '';
            api.pop(L, 1);
            if (!(SCRIPT_FLAGS as readonly string[]).includes(f)) return fail('unknown flag given');
            flags.add(f);
          }
          api.setTop(L, t);
        } else {
          return fail('unknown argument given to redis.register_function');
        }
        api.pop(L, 1);
      }
      if (name === null) return fail('redis.register_function must get a function name argument');
      if (ref < 0) return fail('redis.register_function must get a callback argument');
    }
    if (!/^[A-Za-z0-9_]+$/.test(name ?? '')) return fail('Library names can only contain letters, numbers, or underscores(_) and must be at least one character long');
    if (lib.functions.has(name!)) return fail('Function already exists in the library');
    lib.functions.set(name!, { name: name!, description: desc, flags, ref, library: lib });
    return 0;
  }
}
