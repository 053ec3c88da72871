/**
 * Lua source run once in every new interpreter, after the JS-backed `redis`, `cjson` and `cmsgpack` tables exist.
 * It gives Redis scripts (written for Redis' Lua 5.1) what they rely on in Lua 5.4: `unpack`, `loadstring`,
 * `table.getn`, `math.pow`/`math.mod`/`math.log10`/`math.ldexp`/`math.frexp`, `string.gfind`, `bit` (LuaBitOp
 * semantics: 32-bit signed results), `struct` (through string.pack), a 5.1-style `tostring` for integral floats, and
 * Redis 7's global protection (reading an undefined global or writing any global is an error). It returns the
 * internals the engine keeps in the registry: the error handler, and for functions the environment of library code
 * with its load/run switch.
 */
export const PRELUDE = String.raw`
local dbg = debug
local G = _G
local rawset0, setmetatable0, getmetatable0 = rawset, setmetatable, getmetatable
local type, tostring0, error, select, floor = type, tostring, error, select, math.floor
local mtype, tointeger, sformat = math.type, math.tointeger, string.format

unpack = table.unpack
-- Text chunks only: loading bytecode would bypass every check of the VM (Redis refuses it too).
local load0 = load
load = function(chunk, name, mode, env) return load0(chunk, name, 't', env) end
loadstring = function(s, name) return load0(s, name, 't') end
table.getn = function(t) return #t end
math.pow = function(x, y) return x ^ y end
math.mod = math.fmod
math.log10 = function(x) return math.log(x, 10) end
math.ldexp = function(m, e) return m * 2.0 ^ e end
math.frexp = function(x)
  if x == 0 or x ~= x or x == math.huge or x == -math.huge then return x, 0 end
  local e = floor(math.log(math.abs(x), 2)) + 1
  local m = x / 2.0 ^ e
  if math.abs(m) >= 1 then m = m / 2; e = e + 1 elseif math.abs(m) < 0.5 then m = m * 2; e = e - 1 end
  return m, e
end
string.gfind = string.gmatch
tostring = function(v)
  if mtype(v) == 'float' and v == v and v ~= math.huge and v ~= -math.huge then return sformat('%.14g', v) end
  return tostring0(v)
end

-- LuaBitOp: arguments reduced modulo 2^32, results are signed 32-bit integers.
local function u32(x)
  if type(x) ~= 'number' then x = tonumber(x) or error('bad argument (number expected)', 3) end
  local i = tointeger(x)
  if i == nil then i = tointeger(floor(x + 0.5)) or 0 end
  return i & 0xFFFFFFFF
end
local function s32(x)
  x = x & 0xFFFFFFFF
  if x >= 0x80000000 then return x - 0x100000000 end
  return x
end
bit = {
  tobit = function(x) return s32(u32(x)) end,
  bnot = function(x) return s32(~u32(x)) end,
  band = function(a, ...) local r = u32(a) for i = 1, select('#', ...) do r = r & u32((select(i, ...))) end return s32(r) end,
  bor = function(a, ...) local r = u32(a) for i = 1, select('#', ...) do r = r | u32((select(i, ...))) end return s32(r) end,
  bxor = function(a, ...) local r = u32(a) for i = 1, select('#', ...) do r = r ~ u32((select(i, ...))) end return s32(r) end,
  lshift = function(a, n) return s32(u32(a) << (u32(n) & 31)) end,
  rshift = function(a, n) return s32(u32(a) >> (u32(n) & 31)) end,
  arshift = function(a, n) return s32(s32(u32(a)) >> (u32(n) & 31) | (s32(u32(a)) < 0 and ~(0xFFFFFFFF >> (u32(n) & 31)) or 0)) end,
  rol = function(a, n) a = u32(a); n = u32(n) & 31; return s32((a << n) | (a >> (32 - n))) end,
  ror = function(a, n) a = u32(a); n = u32(n) & 31; return s32((a >> n) | (a << (32 - n))) end,
  bswap = function(a) a = u32(a); return s32(((a & 0xFF) << 24) | ((a & 0xFF00) << 8) | ((a >> 8) & 0xFF00) | (a >> 24)) end,
  tohex = function(x, n)
    n = n or 8
    local up = n < 0
    if up then n = -n end
    if n > 8 then n = 8 end
    local v = u32(x)
    local s = sformat(up and '%08X' or '%08x', v)
    return s:sub(9 - n)
  end,
}

-- struct (Roberto Ierusalimschy's library as Redis ships it), mapped onto string.pack.
local function structfmt(fmt)
  local out = {}
  local i = 1
  while i <= #fmt do
    local c = fmt:sub(i, i)
    local digits = fmt:match('^%d+', i + 1) or ''
    i = i + 1 + #digits
    if c == 'l' then out[#out + 1] = 'i8'
    elseif c == 'L' or c == 'T' then out[#out + 1] = 'I8'
    elseif c == 'i' or c == 'I' then out[#out + 1] = c .. (digits ~= '' and digits or '4')
    elseif c == 's' then out[#out + 1] = 'z'
    elseif c == 'c' then
      if digits == '' then digits = '1' end
      if digits == '0' then error('struct: c0 is not supported', 3) end
      out[#out + 1] = 'c' .. digits
    elseif c == '!' then out[#out + 1] = '!' .. digits
    elseif c == ' ' then
    else out[#out + 1] = c .. digits end
  end
  return table.concat(out)
end
struct = {
  pack = function(fmt, ...) return string.pack(structfmt(fmt), ...) end,
  unpack = function(fmt, s, pos) return string.unpack(structfmt(fmt), s, pos) end,
  size = function(fmt) return string.packsize(structfmt(fmt)) end,
}

-- Redis 7 error handler: adds the script position to errors, turns strings into {err='ERR ...'}.
local function errh(err)
  local level = 2
  local i = dbg.getinfo(level, 'nSl')
  while i and (i.what == 'C' or i.source == '@prelude') do
    level = level + 1
    i = dbg.getinfo(level, 'nSl')
  end
  if type(err) ~= 'table' then err = {err = 'ERR ' .. tostring(err)} end
  if i then
    err['source'] = i.source
    err['line'] = i.currentline
  end
  return err
end

-- Read-only tables, as Redis 7 makes the globals and its API tables.
local readonly = setmetatable0({}, {__mode = 'k'})
local function ro_error() error('Attempt to modify a readonly table', 2) end
rawset = function(t, k, v) if readonly[t] then error('Attempt to modify a readonly table', 2) end return rawset0(t, k, v) end
setmetatable = function(t, m) if readonly[t] then error('Attempt to modify a readonly table', 2) end return setmetatable0(t, m) end
local function nonexistent(_, k) error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2) end
local proxy
local function protect(t)
  readonly[t] = true
  local mt = getmetatable0(t)
  if mt == nil then
    mt = {__index = nonexistent, __newindex = ro_error}
    -- getmetatable() sees a read-only view of the metatable, so it cannot be changed either.
    mt.__metatable = proxy(mt)
    setmetatable0(t, mt)
  end
  return t
end
proxy = function(t, strict)
  local p = {}
  readonly[p] = true
  setmetatable0(p, {__index = strict and function(_, k)
    local v = t[k]
    if v == nil then error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2) end
    return v
  end or t, __newindex = ro_error, __pairs = function() return next, t, nil end, __len = function() return #t end})
  return p
end

-- Redis 7's pcall: an error raised as a Redis error table comes back as its message.
local pcall0, pack, unpack0 = pcall, table.pack, table.unpack
pcall = function(...)
  local r = pack(pcall0(...))
  if not r[1] and type(r[2]) == 'table' and type(rawget(r[2], 'err')) == 'string' then return false, rawget(r[2], 'err') end
  return unpack0(r, 1, r.n)
end

-- Library code of FUNCTION LOAD sees only redis.register_function/log/versions while loading; the functions it
-- registers run with every global. One environment serves all libraries.
local load_api = {}
local loading = false
local fenv = {}
readonly[fenv] = true
local env = {}
readonly[env] = true

local api = {}
local function finish(lib_redis)
  load_api.redis = proxy(lib_redis, true)
  local fmt = {__index = function(_, k)
    local v
    if loading then v = load_api[k] else v = rawget(G, k) end
    if v == nil then error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2) end
    return v
  end, __newindex = ro_error}
  fmt.__metatable = proxy(fmt)
  setmetatable0(fenv, fmt)
  G.redis = proxy(G.redis)
  for _, name in ipairs({'string', 'math', 'table', 'bit', 'struct', 'cjson', 'cmsgpack', 'coroutine'}) do
    if G[name] then G[name] = proxy(G[name]) end
  end
  G.debug = nil
  G.os = nil
  G.io = nil
  G.package = nil
  G.require = nil
  G.dofile = nil
  G.loadfile = nil
  G.print = nil
  G.utf8 = nil
  G.collectgarbage = collectgarbage
  protect(G)
  -- EVAL scripts run in an empty environment that reads the globals: assigning to an existing global (redis = ...,
  -- _G = ...) must fail too, which a metatable on the globals themselves cannot catch.
  local emt = {__index = function(_, k)
    local v = rawget(G, k)
    if v == nil then error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2) end
    return v
  end, __newindex = ro_error}
  emt.__metatable = proxy(emt)
  setmetatable0(env, emt)
  rawset0(G, '_G', env)
end
api.env = env
api.errh = errh
api.fenv = fenv
api.set_loading = function(b) loading = b end
api.finish = finish
api.set_global = function(k, v) rawset0(G, k, v) end
return api
`;
