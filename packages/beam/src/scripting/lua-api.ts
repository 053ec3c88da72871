import { Buffer } from 'node:buffer';
import { LuaFactory } from 'wasmoon';

/**
 * Binary-safe access to the Lua 5.4 C API of wasmoon's WebAssembly build. wasmoon's own wrappers convert strings as
 * UTF-8, which loses bytes; Redis scripts handle binary values, so strings cross here as raw bytes through the
 * module's heap. Everything is synchronous once the module is loaded (loadLua()).
 */

/** lua_State pointer. */
export type LuaState = number;

export const LUA_TNIL = 0;
export const LUA_TBOOLEAN = 1;
export const LUA_TLIGHTUSERDATA = 2;
export const LUA_TNUMBER = 3;
export const LUA_TSTRING = 4;
export const LUA_TTABLE = 5;
export const LUA_TFUNCTION = 6;
export const LUA_REGISTRYINDEX = -1001000;
export const LUA_MULTRET = -1;
export const LUA_MASKCOUNT = 8;
export const LUA_MASKLINE = 4;

/** The raw exports of wasmoon's Emscripten module this file uses. */
interface RawModule {
  HEAPU8: Uint8Array;
  HEAPU32: Uint32Array;
  _malloc(n: number): number;
  _free(p: number): void;
  addFunction(fn: (...a: number[]) => number | void, sig: string): number;
  removeFunction(p: number): void;
  _luaL_newstate(): LuaState;
  _luaL_openlibs(L: LuaState): void;
  _lua_close(L: LuaState): void;
  _lua_gettop(L: LuaState): number;
  _lua_settop(L: LuaState, i: number): void;
  _lua_pushvalue(L: LuaState, i: number): void;
  _lua_rotate(L: LuaState, i: number, n: number): void;
  _lua_type(L: LuaState, i: number): number;
  _lua_tonumberx(L: LuaState, i: number, isnum: number): number;
  _lua_tointegerx(L: LuaState, i: number, isnum: number): bigint;
  _lua_isinteger(L: LuaState, i: number): number;
  _lua_isstring(L: LuaState, i: number): number;
  _lua_toboolean(L: LuaState, i: number): number;
  _lua_tolstring(L: LuaState, i: number, len: number): number;
  _lua_rawlen(L: LuaState, i: number): number;
  _lua_touserdata(L: LuaState, i: number): number;
  _lua_pushnil(L: LuaState): void;
  _lua_pushnumber(L: LuaState, n: number): void;
  _lua_pushinteger(L: LuaState, n: bigint): void;
  _lua_pushlstring(L: LuaState, p: number, n: number): number;
  _lua_pushboolean(L: LuaState, b: number): void;
  _lua_pushcclosure(L: LuaState, fn: number, n: number): void;
  _lua_pushlightuserdata(L: LuaState, p: number): void;
  _lua_getglobal(L: LuaState, name: number): number;
  _lua_setglobal(L: LuaState, name: number): void;
  _lua_getfield(L: LuaState, i: number, k: number): number;
  _lua_setfield(L: LuaState, i: number, k: number): void;
  _lua_rawget(L: LuaState, i: number): number;
  _lua_rawset(L: LuaState, i: number): void;
  _lua_rawgeti(L: LuaState, i: number, n: bigint): number;
  _lua_rawseti(L: LuaState, i: number, n: bigint): void;
  _lua_createtable(L: LuaState, narr: number, nrec: number): void;
  _lua_next(L: LuaState, i: number): number;
  _lua_pcallk(L: LuaState, nargs: number, nres: number, errfunc: number, ctx: number, k: number): number;
  _lua_error(L: LuaState): number;
  _luaL_loadbufferx(L: LuaState, buf: number, n: number, name: number, mode: number): number;
  _luaL_ref(L: LuaState, t: number): number;
  _luaL_unref(L: LuaState, t: number, ref: number): void;
  _lua_sethook(L: LuaState, fn: number, mask: number, count: number): void;
  _lua_setupvalue(L: LuaState, f: number, n: number): number;
  _lua_checkstack(L: LuaState, n: number): number;
}

let loading: Promise<LuaApi> | null = null;
let loaded: LuaApi | null = null;

/** Loads the WebAssembly Lua module once per process. */
export function loadLua(): Promise<LuaApi> {
  loading ??= new LuaFactory().getLuaModule().then((lw) => {
    loaded = new LuaApi(lw.module as unknown as RawModule);
    return loaded;
  });
  return loading;
}

/** The module if loadLua() has finished, else null. */
export function loadedLua(): LuaApi | null {
  return loaded;
}

/** A JS function Lua can call: gets the state, returns the number of results it pushed. */
export type LuaCFunction = (L: LuaState) => number;

export class LuaApi {
  private scratch: number;
  private scratchSize = 4096;
  private readonly lenp: number;
  private readonly names = new Map<string, number>();

  constructor(readonly m: RawModule) {
    this.scratch = m._malloc(this.scratchSize);
    this.lenp = m._malloc(8);
  }

  /** A NUL-terminated copy of a short ASCII name, kept for the life of the process (field and global names). */
  cname(s: string): number {
    let p = this.names.get(s);
    if (p === undefined) {
      const b = Buffer.from(`${s}\0`, 'latin1');
      p = this.m._malloc(b.length);
      this.m.HEAPU8.set(b, p);
      this.names.set(s, p);
    }
    return p;
  }

  private stage(b: Uint8Array): number {
    if (b.length > this.scratchSize) {
      this.m._free(this.scratch);
      this.scratchSize = Math.max(b.length, this.scratchSize * 2);
      this.scratch = this.m._malloc(this.scratchSize);
    }
    this.m.HEAPU8.set(b, this.scratch);
    return this.scratch;
  }

  pushBytes(L: LuaState, b: Uint8Array): void {
    if (b.length === 0) {
      this.m._lua_pushlstring(L, this.scratch, 0);
      return;
    }
    this.m._lua_pushlstring(L, this.stage(b), b.length);
  }

  pushString(L: LuaState, s: string): void {
    this.pushBytes(L, Buffer.from(s, 'utf8'));
  }

  pushNumber(L: LuaState, n: number): void {
    this.m._lua_pushnumber(L, n);
  }

  pushInteger(L: LuaState, n: number | bigint): void {
    this.m._lua_pushinteger(L, BigInt(n));
  }

  /** The bytes of a string (or number, converted in place by Lua) at `i`; null for other types. */
  toBytes(L: LuaState, i: number): Buffer | null {
    const p = this.m._lua_tolstring(L, i, this.lenp);
    if (p === 0) return null;
    const n = this.m.HEAPU32[this.lenp >> 2]!;
    return Buffer.from(this.m.HEAPU8.subarray(p, p + n));
  }

  toStr(L: LuaState, i: number): string | null {
    const b = this.toBytes(L, i);
    return b === null ? null : b.toString('utf8');
  }

  type(L: LuaState, i: number): number {
    return this.m._lua_type(L, i);
  }

  top(L: LuaState): number {
    return this.m._lua_gettop(L);
  }

  setTop(L: LuaState, i: number): void {
    this.m._lua_settop(L, i);
  }

  pop(L: LuaState, n: number): void {
    this.m._lua_settop(L, -n - 1);
  }

  getField(L: LuaState, i: number, k: string): number {
    return this.m._lua_getfield(L, i, this.cname(k));
  }

  setField(L: LuaState, i: number, k: string): void {
    this.m._lua_setfield(L, i, this.cname(k));
  }

  getGlobal(L: LuaState, k: string): number {
    return this.m._lua_getglobal(L, this.cname(k));
  }

  setGlobal(L: LuaState, k: string): void {
    this.m._lua_setglobal(L, this.cname(k));
  }

  /** Registers a JS function as a C function pointer (lives until freeFunction). */
  func(fn: LuaCFunction): number {
    return this.m.addFunction(fn, 'ii');
  }

  pushFunction(L: LuaState, ptr: number): void {
    this.m._lua_pushcclosure(L, ptr, 0);
  }

  /** Compiles a chunk; returns null on success (function pushed) or the error text (nothing pushed). */
  load(L: LuaState, code: Uint8Array, chunkname: string): string | null {
    const buf = this.m._malloc(Math.max(1, code.length));
    this.m.HEAPU8.set(code, buf);
    const rc = this.m._luaL_loadbufferx(L, buf, code.length, this.cname(chunkname), 0);
    this.m._free(buf);
    if (rc === 0) return null;
    const msg = this.toStr(L, -1) ?? 'unknown error';
    this.pop(L, 1);
    return msg;
  }

  pcall(L: LuaState, nargs: number, nres: number, errfunc: number): number {
    return this.m._lua_pcallk(L, nargs, nres, errfunc, 0, 0);
  }

  /** Raises the value on top of the stack as a Lua error (does not return: unwinds through the caller). */
  error(L: LuaState): number {
    return this.m._lua_error(L);
  }

  /** Raises a plain string error. */
  raise(L: LuaState, msg: string): number {
    this.pushString(L, msg);
    return this.m._lua_error(L);
  }
}
