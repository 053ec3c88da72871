import { Buffer } from 'node:buffer';
import {
  LUA_TBOOLEAN, LUA_TLIGHTUSERDATA, LUA_TNIL, LUA_TNUMBER, LUA_TSTRING, LUA_TTABLE, type LuaApi, type LuaState,
} from './lua-api.js';
import { formatG } from './convert.js';

/**
 * `cjson` and `cmsgpack` for scripts, with the behaviour of the lua-cjson and lua-cmsgpack builds Redis ships:
 * cjson numbers as %.14g, `/` escaped, `cjson.null` a NULL light userdata, nesting capped at 1000; cmsgpack
 * tables with keys 1..n as arrays, integral numbers as integers, nesting capped at 16 (deeper values become nil).
 */

class CodecError extends Error {}

const MAX_DEPTH = 1000;

/** cjson's per-interpreter settings (cjson.encode_max_depth & co.). */
interface JsonSettings {
  encodeMaxDepth: number;
  decodeMaxDepth: number;
  encodeInvalidNumbers: boolean;
}

/** An integral float pushed as an integer: Lua 5.1 (Redis') prints 5.0 as "5", Lua 5.4 only does for integers. */
function pushNum(api: LuaApi, L: LuaState, d: number): void {
  if (Number.isSafeInteger(d) && !Object.is(d, -0)) api.pushInteger(L, d);
  else api.m._lua_pushnumber(L, d);
}

/** Whether the table at `i` is an array in cjson's sense: returns its length, or -1 for an object. */
function arrayLength(api: LuaApi, L: LuaState, i: number): number {
  const m = api.m;
  let max = 0;
  let count = 0;
  m._lua_pushnil(L);
  while (m._lua_next(L, i) !== 0) {
    if (m._lua_type(L, -2) === LUA_TNUMBER && m._lua_isinteger(L, -2) !== 0) {
      const k = Number(m._lua_tointegerx(L, -2, 0));
      if (k >= 1) {
        if (k > max) max = k;
        count++;
        api.pop(L, 1);
        continue;
      }
    } else if (m._lua_type(L, -2) === LUA_TNUMBER) {
      const d = m._lua_tonumberx(L, -2, 0);
      if (Number.isInteger(d) && d >= 1) {
        if (d > max) max = d;
        count++;
        api.pop(L, 1);
        continue;
      }
    }
    api.pop(L, 2);
    return -1;
  }
  if (max > count * 2 && max > 10) throw new CodecError('Cannot serialise table: excessively sparse array');
  return max;
}

function jsonString(b: Buffer, out: string[]): void {
  let s = '"';
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x22) s += '\\"';
    else if (c === 0x5c) s += '\\\\';
    else if (c === 0x2f) s += '\\/';
    else if (c === 0x0a) s += '\\n';
    else if (c === 0x0d) s += '\\r';
    else if (c === 0x09) s += '\\t';
    else if (c === 0x08) s += '\\b';
    else if (c === 0x0c) s += '\\f';
    else if (c < 0x20 || c === 0x7f) s += `\\u00${c.toString(16).padStart(2, '0')}`;
    else s += String.fromCharCode(c);
  }
  out.push(`${s}"`);
}

function encodeJson(api: LuaApi, L: LuaState, i: number, depth: number, out: string[], cfg: JsonSettings): void {
  const m = api.m;
  switch (m._lua_type(L, i)) {
    case LUA_TNIL:
      out.push('null');
      return;
    case LUA_TBOOLEAN:
      out.push(m._lua_toboolean(L, i) !== 0 ? 'true' : 'false');
      return;
    case LUA_TNUMBER: {
      if (m._lua_isinteger(L, i) !== 0) {
        out.push(m._lua_tointegerx(L, i, 0).toString());
        return;
      }
      const d = m._lua_tonumberx(L, i, 0);
      if (!Number.isFinite(d)) {
        if (!cfg.encodeInvalidNumbers) throw new CodecError('Cannot serialise number: must not be NaN or Inf');
        out.push(Number.isNaN(d) ? 'nan' : d > 0 ? 'inf' : '-inf');
        return;
      }
      out.push(formatG(d, 14));
      return;
    }
    case LUA_TSTRING:
      jsonString(api.toBytes(L, i)!, out);
      return;
    case LUA_TLIGHTUSERDATA:
      if (m._lua_touserdata(L, i) === 0) {
        out.push('null');
        return;
      }
      throw new CodecError('Cannot serialise userdata: type not supported');
    case LUA_TTABLE: {
      if (depth + 1 > cfg.encodeMaxDepth) throw new CodecError(`Cannot serialise, excessive nesting (${depth + 1})`);
      m._lua_checkstack(L, 4);
      const n = arrayLength(api, L, i);
      if (n > 0) {
        out.push('[');
        for (let k = 1; k <= n; k++) {
          if (k > 1) out.push(',');
          m._lua_rawgeti(L, i, BigInt(k));
          encodeJson(api, L, m._lua_gettop(L), depth + 1, out, cfg);
          api.pop(L, 1);
        }
        out.push(']');
        return;
      }
      out.push('{');
      let first = true;
      m._lua_pushnil(L);
      while (m._lua_next(L, i) !== 0) {
        const v = m._lua_gettop(L);
        if (!first) out.push(',');
        first = false;
        const kt = m._lua_type(L, v - 1);
        if (kt === LUA_TSTRING) {
          jsonString(api.toBytes(L, v - 1)!, out);
        } else if (kt === LUA_TNUMBER) {
          m._lua_pushvalue(L, v - 1);
          jsonString(api.toBytes(L, -1)!, out);
          api.pop(L, 1);
        } else {
          throw new CodecError('Cannot serialise table: table key must be a number or string');
        }
        out.push(':');
        encodeJson(api, L, v, depth + 1, out, cfg);
        api.pop(L, 1);
      }
      out.push('}');
      return;
    }
    default:
      throw new CodecError(`Cannot serialise ${api.m._lua_type(L, i) === 6 ? 'function' : 'userdata'}: type not supported`);
  }
}

/** A JSON reader over bytes that pushes Lua values directly (strings stay binary; \u escapes become UTF-8). */
class JsonReader {
  pos = 0;
  constructor(private readonly api: LuaApi, private readonly L: LuaState, private readonly b: Buffer, private readonly maxDepth: number) {}

  fail(what: string): never {
    throw new CodecError(`Expected ${what} but found invalid token at character ${this.pos + 1}`);
  }

  ws(): void {
    const b = this.b;
    while (this.pos < b.length && (b[this.pos] === 0x20 || b[this.pos] === 0x09 || b[this.pos] === 0x0a || b[this.pos] === 0x0d)) this.pos++;
  }

  value(depth: number): void {
    const { api, L, b } = this;
    const m = api.m;
    this.ws();
    const c = b[this.pos];
    if (c === undefined) this.fail('value');
    if (c === 0x7b || c === 0x5b) {
      if (depth + 1 > this.maxDepth) throw new CodecError(`Found too many nested data structures (${depth + 1}) at character ${this.pos + 1}`);
      m._lua_checkstack(L, 4);
    }
    if (c === 0x7b) {
      this.pos++;
      m._lua_createtable(L, 0, 0);
      this.ws();
      if (b[this.pos] === 0x7d) {
        this.pos++;
        return;
      }
      for (;;) {
        this.ws();
        if (b[this.pos] !== 0x22) this.fail('object key string');
        this.string();
        this.ws();
        if (b[this.pos] !== 0x3a) this.fail('colon');
        this.pos++;
        this.value(depth + 1);
        m._lua_rawset(L, -3);
        this.ws();
        if (b[this.pos] === 0x2c) {
          this.pos++;
          continue;
        }
        if (b[this.pos] === 0x7d) {
          this.pos++;
          return;
        }
        this.fail('comma or object end');
      }
    }
    if (c === 0x5b) {
      this.pos++;
      m._lua_createtable(L, 0, 0);
      this.ws();
      if (b[this.pos] === 0x5d) {
        this.pos++;
        return;
      }
      for (let n = 1; ; n++) {
        this.value(depth + 1);
        m._lua_rawseti(L, -2, BigInt(n));
        this.ws();
        if (b[this.pos] === 0x2c) {
          this.pos++;
          continue;
        }
        if (b[this.pos] === 0x5d) {
          this.pos++;
          return;
        }
        this.fail('comma or array end');
      }
    }
    if (c === 0x22) {
      this.string();
      return;
    }
    if (this.word('true')) return m._lua_pushboolean(L, 1);
    if (this.word('false')) return m._lua_pushboolean(L, 0);
    if (this.word('null')) return m._lua_pushlightuserdata(L, 0);
    const rest = b.subarray(this.pos, Math.min(b.length, this.pos + 400)).toString('latin1');
    const num = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(rest) ?? /^-?(?:0x[0-9a-fA-F]+|inf|nan|infinity)/i.exec(rest);
    if (num === null) this.fail('value');
    this.pos += num[0].length;
    const text = num[0];
    pushNum(api, L, /^-?0x/i.test(text) ? Number.parseInt(text, 16) : Number(text.replace(/infinity|inf/i, 'Infinity').replace(/nan/i, 'NaN')));
  }

  word(w: string): boolean {
    if (this.b.toString('latin1', this.pos, this.pos + w.length) !== w) return false;
    this.pos += w.length;
    return true;
  }

  string(): void {
    const b = this.b;
    this.pos++;
    const parts: Buffer[] = [];
    let start = this.pos;
    for (;;) {
      if (this.pos >= b.length) this.fail('string end');
      const c = b[this.pos]!;
      if (c === 0x22) break;
      if (c === 0x5c) {
        parts.push(b.subarray(start, this.pos));
        const e = b[this.pos + 1];
        this.pos += 2;
        const simple: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 8, 0x66: 12, 0x6e: 10, 0x72: 13, 0x74: 9 };
        if (e !== undefined && simple[e] !== undefined) {
          parts.push(Buffer.from([simple[e]!]));
        } else if (e === 0x75) {
          let cp = Number.parseInt(b.toString('latin1', this.pos, this.pos + 4), 16);
          if (Number.isNaN(cp)) this.fail('unicode escape');
          this.pos += 4;
          if (cp >= 0xd800 && cp < 0xdc00 && b[this.pos] === 0x5c && b[this.pos + 1] === 0x75) {
            const lo = Number.parseInt(b.toString('latin1', this.pos + 2, this.pos + 6), 16);
            if (lo >= 0xdc00 && lo < 0xe000) {
              cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
              this.pos += 6;
            }
          }
          parts.push(Buffer.from(String.fromCodePoint(cp), 'utf8'));
        } else {
          this.fail('escape');
        }
        start = this.pos;
        continue;
      }
      this.pos++;
    }
    parts.push(b.subarray(start, this.pos));
    this.pos++;
    this.api.pushBytes(this.L, Buffer.concat(parts));
  }
}

/** Runs `fn`, turning a CodecError into a Lua error (raised after JS frames are left clean). */
function guarded(api: LuaApi, L: LuaState, fn: () => number): number {
  let msg: string;
  const top = api.top(L);
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
    msg = e.message;
  }
  api.setTop(L, top);
  return api.raise(L, msg);
}

// ---- MessagePack ----------------------------------------------------------------------------------

class Out {
  parts: Buffer[] = [];
  push(b: Buffer): void {
    this.parts.push(b);
  }
  byte(...v: number[]): void {
    this.parts.push(Buffer.from(v));
  }
}

function mpInt(o: Out, v: bigint): void {
  if (v >= 0n) {
    if (v < 128n) o.byte(Number(v));
    else if (v < 256n) o.byte(0xcc, Number(v));
    else if (v < 65536n) { const b = Buffer.alloc(3); b[0] = 0xcd; b.writeUInt16BE(Number(v), 1); o.push(b); }
    else if (v < 4294967296n) { const b = Buffer.alloc(5); b[0] = 0xce; b.writeUInt32BE(Number(v), 1); o.push(b); }
    else { const b = Buffer.alloc(9); b[0] = 0xcf; b.writeBigUInt64BE(v, 1); o.push(b); }
  } else if (v >= -32n) o.byte(Number(v) & 0xff);
  else if (v >= -128n) { const b = Buffer.alloc(2); b[0] = 0xd0; b.writeInt8(Number(v), 1); o.push(b); }
  else if (v >= -32768n) { const b = Buffer.alloc(3); b[0] = 0xd1; b.writeInt16BE(Number(v), 1); o.push(b); }
  else if (v >= -2147483648n) { const b = Buffer.alloc(5); b[0] = 0xd2; b.writeInt32BE(Number(v), 1); o.push(b); }
  else { const b = Buffer.alloc(9); b[0] = 0xd3; b.writeBigInt64BE(v, 1); o.push(b); }
}

function mpLen(o: Out, n: number, fix: number, fixMax: number, c16: number, c32: number, c8?: number): void {
  if (n <= fixMax) o.byte(fix | n);
  else if (c8 !== undefined && n < 256) o.byte(c8, n);
  else if (n < 65536) { const b = Buffer.alloc(3); b[0] = c16; b.writeUInt16BE(n, 1); o.push(b); }
  else { const b = Buffer.alloc(5); b[0] = c32; b.writeUInt32BE(n, 1); o.push(b); }
}

function packValue(api: LuaApi, L: LuaState, i: number, level: number, o: Out): void {
  const m = api.m;
  switch (m._lua_type(L, i)) {
    case LUA_TBOOLEAN:
      o.byte(m._lua_toboolean(L, i) !== 0 ? 0xc3 : 0xc2);
      return;
    case LUA_TNUMBER: {
      if (m._lua_isinteger(L, i) !== 0) {
        mpInt(o, m._lua_tointegerx(L, i, 0));
        return;
      }
      const d = m._lua_tonumberx(L, i, 0);
      if (Number.isInteger(d) && Math.abs(d) < 2 ** 63) {
        mpInt(o, BigInt(d));
      } else if (Math.fround(d) === d || Number.isNaN(d)) {
        const b = Buffer.alloc(5); b[0] = 0xca; b.writeFloatBE(d, 1); o.push(b);
      } else {
        const b = Buffer.alloc(9); b[0] = 0xcb; b.writeDoubleBE(d, 1); o.push(b);
      }
      return;
    }
    case LUA_TSTRING: {
      const s = api.toBytes(L, i)!;
      mpLen(o, s.length, 0xa0, 31, 0xda, 0xdb, 0xd9);
      o.push(s);
      return;
    }
    case LUA_TTABLE: {
      if (level >= 16) {
        o.byte(0xc0);
        return;
      }
      m._lua_checkstack(L, 4);
      let n = 0;
      let count = 0;
      let isArray = true;
      m._lua_pushnil(L);
      while (m._lua_next(L, i) !== 0) {
        count++;
        if (isArray && m._lua_type(L, -2) === LUA_TNUMBER) {
          const k = m._lua_tonumberx(L, -2, 0);
          if (Number.isInteger(k) && k >= 1) n = Math.max(n, k);
          else isArray = false;
        } else {
          isArray = false;
        }
        api.pop(L, 1);
      }
      if (isArray && n === count) {
        mpLen(o, n, 0x90, 15, 0xdc, 0xdd);
        for (let k = 1; k <= n; k++) {
          m._lua_rawgeti(L, i, BigInt(k));
          packValue(api, L, m._lua_gettop(L), level + 1, o);
          api.pop(L, 1);
        }
        return;
      }
      mpLen(o, count, 0x80, 15, 0xde, 0xdf);
      m._lua_pushnil(L);
      while (m._lua_next(L, i) !== 0) {
        const v = m._lua_gettop(L);
        packValue(api, L, v - 1, level + 1, o);
        packValue(api, L, v, level + 1, o);
        api.pop(L, 1);
      }
      return;
    }
    default:
      o.byte(0xc0);
  }
}

class MpReader {
  pos = 0;
  constructor(private readonly api: LuaApi, private readonly L: LuaState, private readonly b: Buffer) {}

  need(n: number): void {
    if (this.pos + n > this.b.length) throw new CodecError('Missing bytes in input.');
  }

  value(): void {
    const { api, L, b } = this;
    const m = api.m;
    this.need(1);
    const c = b[this.pos++]!;
    m._lua_checkstack(L, 4);
    if (c <= 0x7f) return api.pushInteger(L, c);
    if (c >= 0xe0) return api.pushInteger(L, c - 256);
    if ((c & 0xe0) === 0xa0) return this.str(c & 0x1f);
    if ((c & 0xf0) === 0x90) return this.array(c & 0x0f);
    if ((c & 0xf0) === 0x80) return this.map(c & 0x0f);
    switch (c) {
      case 0xc0: return m._lua_pushnil(L);
      case 0xc2: return m._lua_pushboolean(L, 0);
      case 0xc3: return m._lua_pushboolean(L, 1);
      case 0xcc: this.need(1); return api.pushInteger(L, b[this.pos++]!);
      case 0xcd: this.need(2); this.pos += 2; return api.pushInteger(L, b.readUInt16BE(this.pos - 2));
      case 0xce: this.need(4); this.pos += 4; return api.pushInteger(L, b.readUInt32BE(this.pos - 4));
      case 0xcf: this.need(8); this.pos += 8; return api.pushInteger(L, BigInt.asIntN(64, b.readBigUInt64BE(this.pos - 8)));
      case 0xd0: this.need(1); this.pos += 1; return api.pushInteger(L, b.readInt8(this.pos - 1));
      case 0xd1: this.need(2); this.pos += 2; return api.pushInteger(L, b.readInt16BE(this.pos - 2));
      case 0xd2: this.need(4); this.pos += 4; return api.pushInteger(L, b.readInt32BE(this.pos - 4));
      case 0xd3: this.need(8); this.pos += 8; return api.pushInteger(L, b.readBigInt64BE(this.pos - 8));
      case 0xca: this.need(4); this.pos += 4; return pushNum(api, L, b.readFloatBE(this.pos - 4));
      case 0xcb: this.need(8); this.pos += 8; return pushNum(api, L, b.readDoubleBE(this.pos - 8));
      case 0xd9: case 0xc4: this.need(1); return this.str(b[this.pos++]!);
      case 0xda: case 0xc5: this.need(2); this.pos += 2; return this.str(b.readUInt16BE(this.pos - 2));
      case 0xdb: case 0xc6: this.need(4); this.pos += 4; return this.str(b.readUInt32BE(this.pos - 4));
      case 0xdc: this.need(2); this.pos += 2; return this.array(b.readUInt16BE(this.pos - 2));
      case 0xdd: this.need(4); this.pos += 4; return this.array(b.readUInt32BE(this.pos - 4));
      case 0xde: this.need(2); this.pos += 2; return this.map(b.readUInt16BE(this.pos - 2));
      case 0xdf: this.need(4); this.pos += 4; return this.map(b.readUInt32BE(this.pos - 4));
      default: throw new CodecError('Bad data format in input.');
    }
  }

  str(n: number): void {
    this.need(n);
    this.api.pushBytes(this.L, this.b.subarray(this.pos, this.pos + n));
    this.pos += n;
  }

  array(n: number): void {
    const m = this.api.m;
    m._lua_createtable(this.L, Math.min(n, 1024), 0);
    for (let k = 1; k <= n; k++) {
      this.value();
      m._lua_rawseti(this.L, -2, BigInt(k));
    }
  }

  map(n: number): void {
    const m = this.api.m;
    m._lua_createtable(this.L, 0, Math.min(n, 1024));
    for (let k = 0; k < n; k++) {
      this.value();
      this.value();
      if (m._lua_type(this.L, -2) === LUA_TNIL) api2pop(this.api, this.L);
      else m._lua_rawset(this.L, -3);
    }
  }
}

function api2pop(api: LuaApi, L: LuaState): void {
  api.pop(L, 2);
}

/** Creates the `cjson` and `cmsgpack` global tables in a fresh interpreter. Returns the function pointers made. */
export function installCodecs(api: LuaApi, L: LuaState): number[] {
  const fns: number[] = [];
  const reg = (name: string, fn: (L: LuaState) => number): void => {
    const p = api.func(fn);
    fns.push(p);
    api.pushFunction(L, p);
    api.setField(L, -2, name);
  };
  const cfg: JsonSettings = { encodeMaxDepth: MAX_DEPTH, decodeMaxDepth: MAX_DEPTH, encodeInvalidNumbers: false };
  api.m._lua_createtable(L, 0, 4);
  reg('encode', (l) => guarded(api, l, () => {
    if (api.top(l) !== 1) throw new CodecError('bad argument #1 to \'encode\' (expected 1 argument)');
    const out: string[] = [];
    encodeJson(api, l, 1, 0, out, cfg);
    api.pushBytes(l, Buffer.from(out.join(''), 'latin1'));
    return 1;
  }));
  reg('decode', (l) => guarded(api, l, () => {
    const b = api.toBytes(l, 1);
    if (b === null) throw new CodecError('bad argument #1 to \'decode\' (string expected)');
    const r = new JsonReader(api, l, b, cfg.decodeMaxDepth);
    r.value(0);
    r.ws();
    if (r.pos < b.length) r.fail('the end');
    return 1;
  }));
  const noop = () => (l: LuaState): number => {
    api.setTop(l, 0);
    return 0;
  };
  const setting = (apply: (l: LuaState) => void) => (l: LuaState): number => {
    if (api.top(l) >= 1) apply(l);
    api.setTop(l, 0);
    return 0;
  };
  const depthArg = (l: LuaState): number => {
    const n = Math.trunc(api.m._lua_tonumberx(l, 1, 0));
    return n >= 1 ? n : MAX_DEPTH;
  };
  reg('encode_keep_buffer', noop());
  reg('encode_max_depth', setting((l) => { cfg.encodeMaxDepth = depthArg(l); }));
  reg('decode_max_depth', setting((l) => { cfg.decodeMaxDepth = depthArg(l); }));
  reg('encode_invalid_numbers', setting((l) => { cfg.encodeInvalidNumbers = api.m._lua_toboolean(l, 1) !== 0; }));
  reg('decode_invalid_numbers', noop());
  api.m._lua_pushlightuserdata(L, 0);
  api.setField(L, -2, 'null');
  api.setGlobal(L, 'cjson');

  api.m._lua_createtable(L, 0, 4);
  reg('pack', (l) => guarded(api, l, () => {
    const n = api.top(l);
    if (n === 0) throw new CodecError('MessagePack pack needs input.');
    const o = new Out();
    for (let i = 1; i <= n; i++) packValue(api, l, i, 0, o);
    api.pushBytes(l, Buffer.concat(o.parts));
    return 1;
  }));
  const unpack = (l: LuaState, limit: number, offset: number): number => {
    const b = api.toBytes(l, 1);
    if (b === null) throw new CodecError('MessagePack unpack needs a string.');
    const r = new MpReader(api, l, b);
    r.pos = offset;
    api.setTop(l, 0);
    let n = 0;
    while (r.pos < b.length && (limit <= 0 || n < limit)) {
      r.value();
      n++;
    }
    if (limit > 0) {
      api.pushInteger(l, r.pos >= b.length ? -1 : r.pos);
      api.m._lua_rotate(l, 1, 1);
      return n + 1;
    }
    return n;
  };
  reg('unpack', (l) => guarded(api, l, () => unpack(l, 0, 0)));
  reg('unpack_one', (l) => guarded(api, l, () => unpack(l, 1, api.top(l) >= 2 ? Number(api.m._lua_tonumberx(l, 2, 0)) : 0)));
  reg('unpack_limit', (l) => guarded(api, l, () => unpack(l, Number(api.m._lua_tonumberx(l, 2, 0)), api.top(l) >= 3 ? Number(api.m._lua_tonumberx(l, 3, 0)) : 0)));
  api.setGlobal(L, 'cmsgpack');
  return fns;
}
