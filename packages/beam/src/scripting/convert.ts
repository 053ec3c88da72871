import { Buffer } from 'node:buffer';
import {
  ErrorReply, MultiReply, NULL_ARRAY, RespDouble, RespMap, RespPush, RespSet, RespVerbatim, SimpleString, type Reply,
} from '../wire/reply.js';
import { formatDouble, stripZeros } from '../wire/double-format.js';
import {
  LUA_TBOOLEAN, LUA_TNUMBER, LUA_TSTRING, LUA_TTABLE, type LuaApi, type LuaState,
} from './lua-api.js';
import { BeamError } from '../errors.js';

/**
 * Redis 7.0's conversions between command replies and Lua values (script_lua.c), both directions, for RESP2 and
 * RESP3 (redis.setresp). Replies arrive here as the in-memory Reply objects the dispatcher returns, so "RESP2"
 * means: the shapes a RESP2 client would see (maps flattened, doubles as bulk strings, booleans as 1/0).
 */

/** Pushes Redis' error table `{err = 'CODE message'}` (luaPushErrorBuff: `-CODE msg` or `msg` get a code). */
export function pushErrorTable(api: LuaApi, L: LuaState, text: string, ignoreStats = false): void {
  let msg: string;
  if (text.startsWith('-')) {
    const sp = text.indexOf(' ');
    msg = sp < 0 ? `ERR ${text.slice(1)}` : `${text.slice(1, sp)} ${text.slice(sp + 1)}`;
  } else {
    msg = `ERR ${text}`;
  }
  msg = msg.replace(/[\r\n]+$/, '');
  api.m._lua_createtable(L, 0, 2);
  api.pushString(L, msg);
  api.setField(L, -2, 'err');
  if (ignoreStats) {
    api.m._lua_pushboolean(L, 1);
    api.setField(L, -2, 'ignore_error_stats_update');
  }
}

/** Pushes a command's reply as redis.call returns it; `resp` is the script's protocol (redis.setresp). */
export function pushReply(api: LuaApi, L: LuaState, r: Reply, resp: 2 | 3): void {
  if (api.m._lua_checkstack(L, 4) === 0) throw new BeamError('BEAM_SCRIPT_STACK', 'lua stack limit reached');
  const m = api.m;
  if (r === null || r === NULL_ARRAY) {
    if (resp === 3) m._lua_pushnil(L);
    else m._lua_pushboolean(L, 0);
  } else if (Buffer.isBuffer(r)) {
    api.pushBytes(L, r);
  } else if (typeof r === 'string') {
    api.pushString(L, r);
  } else if (typeof r === 'number') {
    if (Number.isInteger(r)) api.pushInteger(L, r);
    else m._lua_pushnumber(L, r);
  } else if (typeof r === 'bigint') {
    api.pushInteger(L, r);
  } else if (typeof r === 'boolean') {
    if (resp === 3) m._lua_pushboolean(L, r ? 1 : 0);
    else api.pushInteger(L, r ? 1 : 0);
  } else if (Array.isArray(r)) {
    pushArray(api, L, r, resp);
  } else if (r instanceof SimpleString) {
    m._lua_createtable(L, 0, 1);
    api.pushString(L, r.value);
    api.setField(L, -2, 'ok');
  } else if (r instanceof ErrorReply) {
    pushErrorTable(api, L, `-${r.message}`, true);
  } else if (r instanceof RespMap) {
    if (resp === 2) {
      const flat: Reply[] = [];
      for (const [k, v] of r.entries) flat.push(k, v);
      pushArray(api, L, flat, resp);
      return;
    }
    m._lua_createtable(L, 0, 1);
    m._lua_createtable(L, 0, r.entries.length);
    for (const [k, v] of r.entries) {
      pushReply(api, L, k, resp);
      pushReply(api, L, v, resp);
      m._lua_rawset(L, -3);
    }
    api.setField(L, -2, 'map');
  } else if (r instanceof RespSet) {
    if (resp === 2) {
      pushArray(api, L, r.items, resp);
      return;
    }
    m._lua_createtable(L, 0, 1);
    m._lua_createtable(L, 0, r.items.length);
    for (const item of r.items) {
      pushReply(api, L, item, resp);
      m._lua_pushboolean(L, 1);
      m._lua_rawset(L, -3);
    }
    api.setField(L, -2, 'set');
  } else if (r instanceof RespDouble) {
    if (resp === 2) {
      api.pushString(L, formatDouble(r.value));
      return;
    }
    m._lua_createtable(L, 0, 1);
    m._lua_pushnumber(L, r.value);
    api.setField(L, -2, 'double');
  } else if (r instanceof RespVerbatim) {
    if (resp === 2) {
      api.pushString(L, r.text);
      return;
    }
    m._lua_createtable(L, 0, 1);
    m._lua_createtable(L, 0, 2);
    api.pushString(L, r.text);
    api.setField(L, -2, 'string');
    api.pushString(L, r.format);
    api.setField(L, -2, 'format');
    api.setField(L, -2, 'verbatim_string');
  } else if (r instanceof RespPush) {
    pushArray(api, L, r.items, resp);
  } else if (r instanceof MultiReply) {
    pushReply(api, L, r.replies[r.replies.length - 1] ?? null, resp);
  } else {
    m._lua_pushboolean(L, 0);
  }
}

function pushArray(api: LuaApi, L: LuaState, items: Reply[], resp: 2 | 3): void {
  api.m._lua_createtable(L, items.length, 0);
  for (let i = 0; i < items.length; i++) {
    pushReply(api, L, items[i]!, resp);
    api.m._lua_rawseti(L, -2, BigInt(i + 1));
  }
}

/** A Lua number as Redis replies it: `(long long)lua_tonumber()`, i.e. truncated toward zero. */
export function luaNumberToInt(api: LuaApi, L: LuaState, i: number): number | bigint {
  if (api.m._lua_isinteger(L, i) !== 0) {
    const v = api.m._lua_tointegerx(L, i, 0);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  const d = api.m._lua_tonumberx(L, i, 0);
  if (!Number.isFinite(d)) return Number.isNaN(d) ? -9223372036854775808n : d > 0 ? 9223372036854775807n : -9223372036854775808n;
  const t = Math.trunc(d);
  if (Number.isSafeInteger(t)) return t === 0 ? 0 : t;
  if (t >= 9.223372036854775807e18) return -9223372036854775808n; // C's overflowing cast on x86
  if (t < -9.223372036854775807e18) return -9223372036854775808n;
  return BigInt(t);
}

/**
 * Converts the value at stack index `i` (absolute) to a reply (luaReplyToRedisReply). `scriptResp` is the protocol the
 * script selected (booleans: RESP2 1/null, RESP3 true/false).
 */
export function luaToReply(api: LuaApi, L: LuaState, i: number, scriptResp: 2 | 3, depth = 0): Reply {
  const m = api.m;
  if (depth > 1000 || m._lua_checkstack(L, 4) === 0) return new ErrorReply('ERR reached lua stack limit');
  switch (m._lua_type(L, i)) {
    case LUA_TSTRING:
      return api.toBytes(L, i);
    case LUA_TBOOLEAN:
      if (scriptResp === 2) return m._lua_toboolean(L, i) !== 0 ? 1 : null;
      return m._lua_toboolean(L, i) !== 0;
    case LUA_TNUMBER:
      return luaNumberToInt(api, L, i);
    case LUA_TTABLE:
      return tableToReply(api, L, i, scriptResp, depth);
    default:
      return null;
  }
}

function rawField(api: LuaApi, L: LuaState, i: number, k: string): number {
  api.pushString(L, k);
  return api.m._lua_rawget(L, i);
}

function tableToReply(api: LuaApi, L: LuaState, i: number, resp: 2 | 3, depth: number): Reply {
  const m = api.m;
  const top = m._lua_gettop(L);
  try {
    if (rawField(api, L, i, 'err') === LUA_TSTRING) {
      const msg = api.toStr(L, -1)!;
      return new ErrorReply(msg.startsWith('-') ? msg.slice(1) : msg);
    }
    m._lua_settop(L, top);
    if (rawField(api, L, i, 'ok') === LUA_TSTRING) return new SimpleString(api.toStr(L, -1)!.replace(/[\r\n]/g, ' '));
    m._lua_settop(L, top);
    if (rawField(api, L, i, 'double') === LUA_TNUMBER) return new RespDouble(m._lua_tonumberx(L, -1, 0));
    m._lua_settop(L, top);
    if (rawField(api, L, i, 'big_number') === LUA_TSTRING) return api.toBytes(L, -1)!.toString('latin1').replace(/[\r\n]/g, ' ');
    m._lua_settop(L, top);
    if (rawField(api, L, i, 'verbatim_string') === LUA_TTABLE) {
      const t = m._lua_gettop(L);
      if (rawField(api, L, t, 'format') === LUA_TSTRING) {
        const format = api.toStr(L, -1)!;
        if (rawField(api, L, t, 'string') === LUA_TSTRING) return new RespVerbatim(format.slice(0, 3), api.toStr(L, -1)!);
      }
    }
    m._lua_settop(L, top);
    if (rawField(api, L, i, 'map') === LUA_TTABLE) {
      const t = m._lua_gettop(L);
      const entries: Array<[Reply, Reply]> = [];
      m._lua_pushnil(L);
      while (m._lua_next(L, t) !== 0) {
        const v = m._lua_gettop(L);
        entries.push([luaToReply(api, L, v - 1, resp, depth + 1), luaToReply(api, L, v, resp, depth + 1)]);
        m._lua_settop(L, v - 1);
      }
      return new RespMap(entries);
    }
    m._lua_settop(L, top);
    if (rawField(api, L, i, 'set') === LUA_TTABLE) {
      const t = m._lua_gettop(L);
      const items: Reply[] = [];
      m._lua_pushnil(L);
      while (m._lua_next(L, t) !== 0) {
        const v = m._lua_gettop(L);
        items.push(luaToReply(api, L, v - 1, resp, depth + 1));
        m._lua_settop(L, v - 1);
      }
      return new RespSet(items);
    }
    m._lua_settop(L, top);
    const out: Reply[] = [];
    for (let j = 1; ; j++) {
      if (m._lua_rawgeti(L, i, BigInt(j)) === 0) break;
      out.push(luaToReply(api, L, m._lua_gettop(L), resp, depth + 1));
      m._lua_settop(L, top);
    }
    return out;
  } finally {
    m._lua_settop(L, top);
  }
}

/** C's printf("%.<prec>g"). */
export function formatG(d: number, prec: number): string {
  if (Number.isNaN(d)) return d < 0 ? '-nan' : 'nan';
  if (d === Infinity) return 'inf';
  if (d === -Infinity) return '-inf';
  if (d === 0) return Object.is(d, -0) ? '-0' : '0';
  const exp = d.toExponential(prec - 1);
  const ePos = exp.indexOf('e');
  const x = Number(exp.slice(ePos + 1));
  if (x < -4 || x >= prec) {
    const mant = stripZeros(exp.slice(0, ePos));
    const ax = Math.abs(x);
    return `${mant}e${x < 0 ? '-' : '+'}${ax < 10 ? '0' : ''}${ax}`;
  }
  return stripZeros(d.toFixed(Math.max(0, prec - 1 - x)));
}
