import { Buffer } from 'node:buffer';
import { debuglog } from 'node:util';
import type { CommandSpec } from '../context/api.js';
import type { Context } from '../context/context.js';
import { DispatchClient, type Dispatcher } from '../context/dispatch.js';
import { ErrorReply, type Reply } from '../wire/reply.js';
import { LUA_REGISTRYINDEX, LUA_TNUMBER, LUA_TSTRING, LUA_TTABLE, LUA_MASKCOUNT, LUA_MASKLINE, type LuaApi, type LuaState } from './lua-api.js';
import { luaToReply, pushErrorTable, pushReply } from './convert.js';
import { LuaVm, type VmHost } from './lua-vm.js';
import { allowedWhileBusy, E_BUSY_EVAL, E_BUSY_FUNCTION, KILLED_MESSAGE, killScript } from './busy.js';
import {
  parseLibraryMeta, parseNumKeys, parseShebang, sha1hex, type CachedScript, type Library, type LibraryFunction, type RunState, type ScriptFlags,
} from './script-meta.js';

const E_MASTERDOWN = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";
const E_NOREPLICAS = 'NOREPLICAS Not enough good replicas to write.';


const log = debuglog('beamgate:scripting');

export interface ScriptEngineOptions {
  dispatcher: Dispatcher;
  context: Context | undefined;
  version: string;
  /** busy-reply-threshold in ms, read at every script start. */
  busyThreshold: () => number;
  /**
   * Called from the script's hook (about every millisecond) once it has run past busy-reply-threshold: serve the
   * other clients now (Redis' processEventsWhileBlocked); the dispatcher answers them BUSY meanwhile.
   */
  whileBusy?: (caller: DispatchClient) => void;
  /** Where redis.log() lines go (default: debuglog 'beamgate:scripting'). */
  log?: (level: string, msg: string) => void;
}

/**
 * EVAL/EVALSHA/FCALL and their caches for one dispatcher. Scripts run synchronously on the event loop, so no
 * other client's command can run in between (Redis' atomicity comes for free); the commands a script calls go
 * through the dispatcher with a client of the script's own, and replicas get them wrapped in MULTI/EXEC
 * (effects replication).
 */
export class ScriptEngine implements VmHost {
  readonly dispatcher: Dispatcher;
  readonly context: Context | undefined;
  readonly version: string;
  private readonly busyThreshold: () => number;
  private readonly whileBusy: ((caller: DispatchClient) => void) | undefined;
  private readonly logFn: (level: string, msg: string) => void;
  private evalVm: LuaVm | null = null;
  private fnVm: LuaVm | null = null;
  private readonly scripts = new Map<string, CachedScript>();
  readonly libraries = new Map<string, Library>();
  readonly functions = new Map<string, LibraryFunction>();
  running: RunState | null = null;
  private replFlags = 3;
  private hookPtr = 0;

  constructor(readonly api: LuaApi, opts: ScriptEngineOptions) {
    this.dispatcher = opts.dispatcher;
    this.context = opts.context;
    this.version = opts.version;
    this.busyThreshold = opts.busyThreshold;
    this.whileBusy = opts.whileBusy;
    this.logFn = opts.log ?? ((level, msg) => log('%s %s', level, msg));
  }

  log(level: string, msg: string): void {
    this.logFn(level, msg);
  }

  get scriptCount(): number {
    return this.scripts.size;
  }

  private get vm(): LuaVm {
    this.evalVm ??= new LuaVm(this.api, this, false);
    return this.evalVm;
  }

  private get fvm(): LuaVm {
    this.fnVm ??= new LuaVm(this.api, this, true);
    return this.fnVm;
  }

  close(): void {
    this.evalVm?.close();
    this.fnVm?.close();
    this.evalVm = this.fnVm = null;
    if (this.hookPtr !== 0) this.api.m.removeFunction(this.hookPtr);
    this.hookPtr = 0;
  }

  // ---- EVAL script cache -------------------------------------------------------------------------

  /** luaCreateFunction: compiles and caches a script body; returns its sha or the error reply. */
  createScript(body: Buffer): string | ErrorReply {
    const sha = sha1hex(body);
    if (this.scripts.has(sha)) return sha;
    const sb = parseShebang(body);
    if (typeof sb === 'string') return new ErrorReply(`ERR ${sb}`);
    const vm = this.vm;
    const err = this.api.load(vm.L, body.subarray(sb.skip), '@user_script');
    if (err !== null) return new ErrorReply(`ERR Error compiling script (new function): ${err}`);
    this.setEnv(vm, 'env');
    const ref = this.api.m._luaL_ref(vm.L, LUA_REGISTRYINDEX);
    this.scripts.set(sha, { body, ref, flags: sb.flags });
    return sha;
  }

  /** Sets the _ENV (first upvalue) of the chunk on top of the stack to one of the prelude's environments. */
  private setEnv(vm: LuaVm, which: 'env' | 'fenv'): void {
    const api = this.api;
    api.m._lua_rawgeti(vm.L, LUA_REGISTRYINDEX, BigInt(vm.internals));
    api.getField(vm.L, -1, which);
    api.m._lua_setupvalue(vm.L, -3, 1);
    api.pop(vm.L, 1);
  }

  hasScript(sha: string): boolean {
    return this.scripts.has(sha.toLowerCase());
  }

  /** The flags of a cached script or of a body's shebang (for write/read-only decisions before running). */
  scriptFlags(shaOrBody: Buffer, evalsha: boolean): ScriptFlags | null {
    if (evalsha) return this.scripts.get(shaOrBody.toString('latin1').toLowerCase())?.flags ?? null;
    const cached = this.scripts.get(sha1hex(shaOrBody));
    if (cached) return cached.flags;
    const sb = parseShebang(shaOrBody);
    return typeof sb === 'string' ? null : sb.flags;
  }

  /** SCRIPT FLUSH: a new interpreter and an empty cache. */
  flushScripts(): void {
    this.evalVm?.close();
    this.evalVm = null;
    this.scripts.clear();
  }

  /** EVAL/EVALSHA(_RO). */
  eval(caller: DispatchClient, argv: Buffer[], evalsha: boolean, ro: boolean): Reply {
    if (this.running) return new ErrorReply('ERR This Redis command is not allowed from script');
    const nk = parseNumKeys(argv[2]!, false);
    if (nk instanceof ErrorReply) return nk;
    if (nk > argv.length - 3) return new ErrorReply('ERR Number of keys can\'t be greater than number of args');
    let sha: string;
    if (evalsha) {
      sha = argv[1]!.toString('latin1').toLowerCase();
      if (sha.length !== 40 || !this.scripts.has(sha)) return new ErrorReply('NOSCRIPT No matching script. Please use EVAL.');
    } else {
      const r = this.createScript(argv[1]!);
      if (r instanceof ErrorReply) return r;
      sha = r;
    }
    const script = this.scripts.get(sha)!;
    const vm = this.vm;
    const pre = this.prepare(script.flags, ro);
    if (pre) return pre;
    const api = this.api;
    const L = vm.L;
    api.m._lua_rawgeti(L, LUA_REGISTRYINDEX, BigInt(vm.errh));
    const errIdx = api.top(L);
    api.m._lua_rawgeti(L, LUA_REGISTRYINDEX, BigInt(script.ref));
    // KEYS and ARGV are globals in EVAL (set past the global protection).
    api.m._lua_rawgeti(L, LUA_REGISTRYINDEX, BigInt(vm.internals));
    api.getField(L, -1, 'set_global');
    api.pushString(L, 'KEYS');
    this.pushArray(L, argv, 3, 3 + nk);
    api.pcall(L, 2, 0, 0);
    api.getField(L, -1, 'set_global');
    api.pushString(L, 'ARGV');
    this.pushArray(L, argv, 3 + nk, argv.length);
    api.pcall(L, 2, 0, 0);
    api.pop(L, 1);
    return this.call(vm, caller, argv, sha, true, ro || (!script.flags.compat && script.flags.flags.has('no-writes')), 0, errIdx);
  }

  // ---- FUNCTION libraries ------------------------------------------------------------------------

  /** FUNCTION LOAD [REPLACE] code: returns the library name or the error. */
  loadLibrary(code: Buffer, replace: boolean): string | ErrorReply {
    const md = parseLibraryMeta(code);
    if (typeof md === 'string') return new ErrorReply(`ERR ${md}`);
    if (!/^[A-Za-z0-9_]+$/.test(md.name)) return new ErrorReply('ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long');
    if (md.engine.toLowerCase() !== 'lua') return new ErrorReply(`ERR Engine '${md.engine}' not found`);
    const old = this.libraries.get(md.name);
    if (old && !replace) return new ErrorReply(`ERR Library '${md.name}' already exists`);
    const vm = this.fvm;
    const api = this.api;
    const L = vm.L;
    const lib: Library = { name: md.name, engine: 'LUA', code, functions: new Map() };
    const dispose = (): void => {
      for (const f of lib.functions.values()) api.m._luaL_unref(L, LUA_REGISTRYINDEX, f.ref);
    };
    const err = api.load(L, code.subarray(md.skip), '@user_function');
    if (err !== null) return new ErrorReply(`ERR Error compiling function: ${err}`);
    // The chunk's _ENV is the functions environment, in loading mode while it runs.
    this.setEnv(vm, 'fenv');
    api.m._lua_rawgeti(L, LUA_REGISTRYINDEX, BigInt(vm.internals));
    api.getField(L, -1, 'set_loading');
    api.m._lua_pushboolean(L, 1);
    api.pcall(L, 1, 0, 0);
    api.pop(L, 1);
    vm.loadingLibrary = lib;
    const started = Date.now();
    this.setHook(L, () => Date.now() - started > 500 ? 'FUNCTION LOAD timeout' : null);
    const rc = api.pcall(L, 0, 0, 0);
    this.setHook(L, null);
    vm.loadingLibrary = null;
    let error: ErrorReply | null = null;
    if (rc !== 0) {
      const msg = this.errorText(L);
      error = new ErrorReply(`ERR Error registering functions: ${msg}`);
    }
    api.m._lua_rawgeti(L, LUA_REGISTRYINDEX, BigInt(vm.internals));
    api.getField(L, -1, 'set_loading');
    api.m._lua_pushboolean(L, 0);
    api.pcall(L, 1, 0, 0);
    api.setTop(L, 0);
    if (error === null && lib.functions.size === 0) error = new ErrorReply('ERR No functions registered');
    if (error === null) {
      for (const name of lib.functions.keys()) {
        const f = this.functions.get(name.toLowerCase());
        if (f && f.library !== old) {
          error = new ErrorReply(`ERR Function ${name} already exists`);
          break;
        }
      }
    }
    if (error !== null) {
      dispose();
      return error;
    }
    if (old) this.deleteLibrary(old.name);
    this.libraries.set(lib.name, lib);
    for (const f of lib.functions.values()) this.functions.set(f.name.toLowerCase(), f);
    return lib.name;
  }

  deleteLibrary(name: string): boolean {
    const lib = this.libraries.get(name);
    if (!lib) return false;
    this.libraries.delete(name);
    for (const f of lib.functions.values()) {
      this.functions.delete(f.name.toLowerCase());
      if (this.fnVm) this.api.m._luaL_unref(this.fnVm.L, LUA_REGISTRYINDEX, f.ref);
    }
    return true;
  }

  flushFunctions(): void {
    this.fnVm?.close();
    this.fnVm = null;
    this.libraries.clear();
    this.functions.clear();
  }

  /** FCALL/FCALL_RO. */
  fcall(caller: DispatchClient, argv: Buffer[], ro: boolean): Reply {
    if (this.running) return new ErrorReply('ERR This Redis command is not allowed from script');
    const f = this.functions.get(argv[1]!.toString('latin1').toLowerCase());
    if (!f) return new ErrorReply('ERR Function not found');
    const nk = parseNumKeys(argv[2]!, true);
    if (nk instanceof ErrorReply) return nk;
    if (nk > argv.length - 3) return new ErrorReply('ERR Number of keys can\'t be greater than number of args');
    const flags: ScriptFlags = { compat: false, flags: f.flags };
    const pre = this.prepare(flags, ro);
    if (pre) return pre;
    const vm = this.fvm;
    const api = this.api;
    const L = vm.L;
    api.m._lua_rawgeti(L, LUA_REGISTRYINDEX, BigInt(vm.errh));
    const errIdx = api.top(L);
    api.m._lua_rawgeti(L, LUA_REGISTRYINDEX, BigInt(f.ref));
    this.pushArray(L, argv, 3, 3 + nk);
    this.pushArray(L, argv, 3 + nk, argv.length);
    return this.call(vm, caller, argv, f.name, false, ro || f.flags.has('no-writes'), 2, errIdx);
  }

  // ---- running -----------------------------------------------------------------------------------

  /** scriptPrepareForRun's checks on flags. */
  private prepare(flags: ScriptFlags, ro: boolean): ErrorReply | null {
    const gate = this.dispatcher.replicationState?.() ?? null;
    if (flags.compat) return gate?.stale ? new ErrorReply(E_MASTERDOWN) : null;
    if (gate?.stale && !flags.flags.has('allow-stale')) {
      return new ErrorReply("MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' and 'allow-stale' flag is not set on the script.");
    }
    if (flags.flags.has('no-writes')) return null;
    if (gate?.readonlyReplica) return new ErrorReply('READONLY Can not run script with write flag on readonly replica');
    if (ro) return new ErrorReply('ERR Can not execute a script with write flag using *_ro command.');
    if (gate?.noReplicas) return new ErrorReply(E_NOREPLICAS);
    return null;
  }

  private pushArray(L: LuaState, argv: Buffer[], from: number, to: number): void {
    this.api.m._lua_createtable(L, to - from, 0);
    for (let i = from; i < to; i++) {
      this.api.pushBytes(L, argv[i]!);
      this.api.m._lua_rawseti(L, -2, BigInt(i - from + 1));
    }
  }

  /** luaCallFunction: the function and its `nargs` arguments are on the stack above the error handler at errIdx. */
  private call(vm: LuaVm, caller: DispatchClient, command: Buffer[], name: string, evalMode: boolean, readOnly: boolean, nargs: number, errIdx: number): Reply {
    const api = this.api;
    const L = vm.L;
    const lua = new DispatchClient({ internal: false, authenticated: true, resp: 2 });
    lua.db = caller.db;
    lua.user = caller.user;
    lua.inExec = true;
    lua.script = true;
    lua.name = null;
    const run: RunState = { caller, command, lua, name, evalMode, readOnly, writeDirty: false, killed: false, timedOut: false, startedAt: Date.now() };
    this.running = run;
    this.replFlags = 3;
    const ctx = this.context;
    const outer = ctx?.propagationBatching ?? true;
    if (!outer) ctx?.beginPropagationBatch();
    // Lua holds the event loop while it runs (atomicity). Past busy-reply-threshold the count hook serves the other
    // clients (BUSY to all but SCRIPT KILL & co.) and raises once the run is killed (busy.ts).
    const threshold = this.busyThreshold();
    if (threshold > 0) this.setHook(L, () => this.interrupt(run, threshold));
    let reply: Reply;
    try {
      const rc = api.pcall(L, nargs, 1, errIdx);
      if (rc !== 0) {
        reply = this.scriptError(L, name);
      } else {
        reply = luaToReply(api, L, api.top(L), lua.resp === 3 ? 3 : 2);
      }
    } finally {
      if (threshold > 0) this.setHook(L, null);
      if (run.timedOut) {
        this.dispatcher.busyCheck = null;
        this.log('warning', `Slow script ${name} ended after ${Date.now() - run.startedAt} milliseconds${run.killed ? ' (killed)' : ''}`);
      }
      api.setTop(L, 0);
      this.running = null;
      if (!outer) ctx?.endPropagationBatch();
    }
    return reply;
  }

  /** scriptInterrupt, from the count hook: the error text to raise, or null to go on. */
  private interrupt(run: RunState, threshold: number): string | null {
    if (run.killed) return KILLED_MESSAGE;
    const now = Date.now();
    if (now - run.startedAt < threshold) return null;
    if (!run.timedOut) {
      run.timedOut = true;
      this.log('warning', `Slow script detected: still in execution after ${now - run.startedAt} milliseconds. You can try killing `
        + `the script using the ${run.evalMode ? 'SCRIPT KILL' : 'FUNCTION KILL'} command. Script name is: ${run.name}.`);
      const busy = run.evalMode ? E_BUSY_EVAL : E_BUSY_FUNCTION;
      this.dispatcher.busyCheck = (spec, argv) => (allowedWhileBusy(spec, argv) ? null : busy);
    }
    this.whileBusy?.(run.caller);
    return run.killed ? KILLED_MESSAGE : null;
  }

  /** The running script has passed busy-reply-threshold (SHUTDOWN NOSAVE is then the way out). */
  get busy(): ErrorReply | null {
    const run = this.running;
    return run !== null && run.timedOut ? (run.evalMode ? E_BUSY_EVAL : E_BUSY_FUNCTION) : null;
  }

  /** SHUTDOWN NOSAVE during a busy script: it stops at its next hook, whatever it wrote. */
  abortForShutdown(): void {
    if (this.running) this.running.killed = true;
  }

  private setHook(L: LuaState, check: (() => string | null) | null): void {
    const api = this.api;
    if (check === null) {
      api.m._lua_sethook(L, 0, 0, 0);
      return;
    }
    this.hookCheck = check;
    if (this.hookPtr === 0) {
      this.hookPtr = api.m.addFunction((l: number) => {
        const msg = this.hookCheck?.() ?? null;
        if (msg !== null) {
          // From now on the hook fires on every line, so a pcall in the script cannot swallow the stop for long.
          api.m._lua_sethook(l, this.hookPtr, LUA_MASKLINE, 0);
          pushErrorTable(api, l, msg);
          api.error(l);
        }
      }, 'vii');
    }
    api.m._lua_sethook(L, this.hookPtr, LUA_MASKCOUNT, 100000);
  }

  private hookCheck: (() => string | null) | null = null;

  /** The message of the error value on top of the stack (luaExtractErrorInformation's msg). */
  private errorText(L: LuaState): string {
    const api = this.api;
    if (api.type(L, -1) === LUA_TTABLE) {
      api.getField(L, -1, 'err');
      const s = api.toStr(L, -1);
      api.pop(L, 1);
      if (s !== null) return s;
    }
    const s = api.toStr(L, -1);
    return s === null ? 'execution failure' : `ERR ${s}`;
  }

  /** The reply for a script that raised an error (luaCallFunction's error branch). */
  private scriptError(L: LuaState, name: string): ErrorReply {
    const api = this.api;
    if (api.type(L, -1) !== LUA_TTABLE) {
      const msg = api.toStr(L, -1) ?? 'execution failure';
      return new ErrorReply(`ERR Error running script ${name}, ${msg.slice(0, 100)}`);
    }
    const field = (k: string): string | null => {
      api.getField(L, -1, k);
      const s = api.type(L, -1) === LUA_TSTRING || api.type(L, -1) === LUA_TNUMBER ? api.toStr(L, -1) : null;
      api.pop(L, 1);
      return s;
    };
    let msg = lua51Wording(field('err') ?? '');
    const source = field('source');
    const line = field('line');
    if (source !== null && line !== null) msg += ` script: ${name}, on ${source}:${line}.`;
    msg = msg.replace(/[\r\n]/g, ' ');
    return new ErrorReply(msg.startsWith('-') ? msg.slice(1) : msg);
  }

  setRepl(flags: number): void {
    this.replFlags = flags;
  }

  /** Whether a script's writes go to replicas right now (redis.set_repl). */
  get replicating(): boolean {
    return (this.replFlags & 2) !== 0;
  }

  /** redis.call / redis.pcall (luaRedisGenericCommand + scriptCall). */
  redisCall(vm: LuaVm, L: LuaState, raise: boolean): number {
    const api = this.api;
    const run = this.running;
    if (run === null) return vm.raiseTable(L, 'redis.call/pcall can only be called inside a script invocation');
    const argv = vm.args(L);
    let reply: Reply;
    if (typeof argv === 'string') {
      pushErrorTable(api, L, argv);
      return raise ? api.error(L) : 1;
    }
    const spec = this.checkCommand(run, argv);
    if (typeof spec === 'string') {
      pushErrorTable(api, L, spec, true);
      return raise ? api.error(L) : 1;
    }
    try {
      const r = this.dispatcher.execute(run.lua, spec, argv);
      reply = r instanceof Promise ? new ErrorReply('ERR command would block inside a script') : r;
    } catch (e) {
      reply = new ErrorReply(`ERR ${e instanceof Error ? e.message : String(e)}`);
    }
    pushReply(api, L, reply, run.lua.resp === 3 ? 3 : 2);
    if (raise && reply instanceof ErrorReply) return api.error(L);
    return 1;
  }

  /** scriptCall's checks before a command runs; the error text or null. */
  private checkCommand(run: RunState, argv: Buffer[]): CommandSpec | string {
    const spec = this.dispatcher.lookup(argv[0]!);
    if (spec === undefined) return 'Unknown Redis command called from script';
    const n = argv.length;
    if (spec.arity >= 0 ? n !== spec.arity : n < -spec.arity) return 'Wrong number of args calling Redis command from script';
    if (spec.flags.includes('noscript')) return 'This Redis command is not allowed from script';
    const acl = this.dispatcher.aclCheck;
    if (acl !== null) {
      const denied = acl(run.lua, spec, argv, 'lua', run.caller);
      if (denied !== null) return `-${denied.message}`;
    }
    const write = spec.flags.includes('write') || spec.flags.includes('may_replicate');
    if (run.readOnly && write) return 'Write commands are not allowed from read-only scripts.';
    if (spec.flags.includes('write') && !run.writeDirty) {
      // Once the script wrote, it cannot fail on the server's state any more.
      const gate = this.dispatcher.replicationState?.() ?? null;
      if (gate?.readonlyReplica) return "-READONLY You can't write against a read only replica.";
      if (gate?.noReplicas) return `-${E_NOREPLICAS}`;
    }
    if (spec.flags.includes('write')) run.writeDirty = true;
    return spec;
  }

  /** SCRIPT KILL (isEval) / FUNCTION KILL, sent by another client while the script is busy. */
  kill(isEval: boolean): Reply {
    return killScript(this.running, isEval);
  }
}

/**
 * Lua 5.4 names the culprit after the error ("attempt to call a nil value (field 'f')"), Lua 5.1 — whose texts Redis
 * scripts and tests match — before it ("attempt to call field 'f' (a nil value)").
 */
function lua51Wording(msg: string): string {
  return msg.replace(/attempt to (\w+) an? (\w+) value \((\w+) '([^']*)'\)/g, "attempt to $1 $3 '$4' (a $2 value)");
}
