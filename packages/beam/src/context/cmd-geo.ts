import { Buffer } from 'node:buffer';
import type { ClientState } from './api.js';
import type { Keyspace, Impl } from './keyspace.js';
import type { CommandMeta } from './command-table.js';
import { ErrorReply, NULL_ARRAY, RespDouble, type Reply } from '../wire/reply.js';
import { T_ZSET, keyString as kstr } from './store.js';
import { ZSet } from './zset.js';
import { parseInt64 } from './numbers.js';
import { E_NOT_INT, E_SYNTAX, E_WRONGTYPE } from './replies.js';

/**
 * GEO commands over sorted sets, as Redis stores them (geo.c, geohash.c): the score of a member is its 52-bit
 * interleaved geohash (26 bits of latitude in the even positions, 26 of longitude in the odd ones, latitude limited
 * to +-85.05112878 like Web Mercator). Searches check every member with Redis' distance formulas (haversine with
 * Redis' earth radius; BYBOX by latitude then longitude distance), so they find what Redis' geohash-box scan finds.
 */

export const GEO_TABLE: readonly CommandMeta[] = [
  ['geoadd', -5, ['write', 'denyoom'], 1, 1, 1, ['@write', '@geo', '@slow']],
  ['geodist', -4, ['readonly'], 1, 1, 1, ['@read', '@geo', '@slow']],
  ['geohash', -2, ['readonly'], 1, 1, 1, ['@read', '@geo', '@slow']],
  ['geopos', -2, ['readonly'], 1, 1, 1, ['@read', '@geo', '@slow']],
  ['geosearch', -7, ['readonly'], 1, 1, 1, ['@read', '@geo', '@slow']],
  ['geosearchstore', -8, ['write', 'denyoom'], 1, 2, 1, ['@write', '@geo', '@slow']],
  ['georadius', -6, ['write', 'denyoom', 'movablekeys'], 1, 1, 1, ['@write', '@geo', '@slow']],
  ['georadiusbymember', -5, ['write', 'denyoom', 'movablekeys'], 1, 1, 1, ['@write', '@geo', '@slow']],
  ['georadius_ro', -6, ['readonly'], 1, 1, 1, ['@read', '@geo', '@slow']],
  ['georadiusbymember_ro', -5, ['readonly'], 1, 1, 1, ['@read', '@geo', '@slow']],
];

const LAT_MIN = -85.05112878;
const LAT_MAX = 85.05112878;
const LON_MIN = -180;
const LON_MAX = 180;
const STEP = 26;
const EARTH_RADIUS = 6372797.560856;
const D_R = Math.PI / 180;
const ALPHABET = '0123456789bcdefghjkmnpqrstuvwxyz';

function interleave(lat: number, lon: number): number {
  let bits = 0;
  let w = 1;
  for (let i = 0; i < 32; i++) {
    if (lat & 1) bits += w;
    w *= 2;
    if (lon & 1) bits += w;
    w *= 2;
    lat >>>= 1;
    lon >>>= 1;
    if (lat === 0 && lon === 0) break;
  }
  return bits;
}

/** geohashEncode with the given ranges (uint32 truncation of the scaled offsets, as C does). */
function encode(lon: number, lat: number, latMin: number, latMax: number): number {
  const latOff = ((lat - latMin) / (latMax - latMin)) * 2 ** STEP;
  const lonOff = ((lon - LON_MIN) / (LON_MAX - LON_MIN)) * 2 ** STEP;
  return interleave(latOff >>> 0, lonOff >>> 0);
}

/** geohashDecodeToLongLatWGS84: the centre of the cell of a score. */
export function decodeScore(score: number): [number, number] {
  let bits = Math.trunc(score);
  let lat = 0;
  let lon = 0;
  for (let i = 0; i < STEP; i++) {
    const pair = bits % 4;
    bits = Math.floor(bits / 4);
    if (pair & 1) lat |= 1 << i;
    if (pair & 2) lon |= 1 << i;
  }
  const scale = 2 ** STEP;
  const latMin = LAT_MIN + (lat / scale) * (LAT_MAX - LAT_MIN);
  const latMax = LAT_MIN + ((lat + 1) / scale) * (LAT_MAX - LAT_MIN);
  const lonMin = LON_MIN + (lon / scale) * (LON_MAX - LON_MIN);
  const lonMax = LON_MIN + ((lon + 1) / scale) * (LON_MAX - LON_MIN);
  let x = (lonMin + lonMax) / 2;
  let y = (latMin + latMax) / 2;
  if (x > LON_MAX) x = LON_MAX;
  if (x < LON_MIN) x = LON_MIN;
  if (y > LAT_MAX) y = LAT_MAX;
  if (y < LAT_MIN) y = LAT_MIN;
  return [x, y];
}

function latDistance(lat1: number, lat2: number): number {
  return EARTH_RADIUS * Math.abs(lat2 * D_R - lat1 * D_R);
}

/** geohashGetDistance (Redis 7.0). */
export function distance(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const v = Math.sin((lon2 * D_R - lon1 * D_R) / 2);
  if (v === 0) return latDistance(lat1, lat2);
  const lat1r = lat1 * D_R;
  const lat2r = lat2 * D_R;
  const u = Math.sin((lat2r - lat1r) / 2);
  const a = u * u + Math.cos(lat1r) * Math.cos(lat2r) * v * v;
  return 2 * EARTH_RADIUS * Math.asin(Math.sqrt(a));
}

/** getDoubleFromObject: strtod over the whole argument, no NaN. */
function parseDouble(b: Buffer): number | null {
  const s = b.toString('latin1');
  if (s.length === 0 || /^\s/.test(s)) return null;
  let v: number;
  if (/^[+-]?(inf|infinity)$/i.test(s)) v = s.startsWith('-') ? -Infinity : Infinity;
  else if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) v = Number(s);
  else return null;
  return Number.isNaN(v) ? null : v;
}

function notFloat(custom?: string): ErrorReply {
  return new ErrorReply(`ERR ${custom ?? 'value is not a valid float'}`);
}

/** extractLongLatOrReply. */
function lonLat(a: Buffer, b: Buffer): [number, number] | ErrorReply {
  const x = parseDouble(a);
  if (x === null) return notFloat();
  const y = parseDouble(b);
  if (y === null) return notFloat();
  if (x < LON_MIN || x > LON_MAX || y < LAT_MIN || y > LAT_MAX) {
    return new ErrorReply(`ERR invalid longitude,latitude pair ${x.toFixed(6)},${y.toFixed(6)}`);
  }
  return [x, y];
}

function unit(b: Buffer): number | ErrorReply {
  switch (b.toString('latin1').toLowerCase()) {
    case 'm': return 1;
    case 'km': return 1000;
    case 'ft': return 0.3048;
    case 'mi': return 1609.34;
    default: return new ErrorReply('ERR unsupported unit provided. please use M, KM, FT, MI');
  }
}

/** fixedpoint_d2string(d, 4). */
function distText(d: number): Buffer {
  return Buffer.from(d.toFixed(4), 'latin1');
}

/** A coordinate as addReplyHumanLongDouble writes it: %.17Lf without trailing zeros (RESP3: a double). */
function coord(client: ClientState, d: number): Reply {
  if (client.resp === 3) return new RespDouble(d);
  let s = d.toFixed(17);
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return Buffer.from(s === '-0' ? '0' : s, 'latin1');
}

function zsetOf(ctx: Keyspace, client: ClientState, key: Buffer): ZSet | null | ErrorReply {
  const e = ctx.lookup(ctx.dbs[client.db]!, kstr(key));
  if (e === undefined) return null;
  if (e.t !== T_ZSET) return E_WRONGTYPE;
  return e.v as ZSet;
}

const B_ZADD = Buffer.from('ZADD');

const geoadd: Impl = (ctx, client, argv) => {
  let i = 2;
  const opts: Buffer[] = [];
  let xx = false;
  let nx = false;
  for (; i < argv.length; i++) {
    const a = argv[i]!.toString('latin1').toLowerCase();
    if (a === 'nx') nx = true;
    else if (a === 'xx') xx = true;
    else if (a === 'ch') { /* passed to ZADD */ } else break;
    opts.push(argv[i]!);
  }
  if ((argv.length - i) % 3 !== 0 || argv.length - i === 0) {
    return new ErrorReply('ERR syntax error. Try GEOADD key [x1] [y1] [name1] [x2] [y2] [name2] ... ');
  }
  if (xx && nx) return E_SYNTAX;
  const zargv: Buffer[] = [B_ZADD, argv[1]!, ...opts];
  for (; i < argv.length; i += 3) {
    const xy = lonLat(argv[i]!, argv[i + 1]!);
    if (xy instanceof ErrorReply) return xy;
    zargv.push(Buffer.from(String(encode(xy[0], xy[1], LAT_MIN, LAT_MAX))), argv[i + 2]!);
  }
  // Redis rewrites GEOADD into the ZADD it runs: replicas and keyspace events see ZADD.
  const r = ctx.call(client, zargv);
  ctx.propagateAs([]);
  return r;
};

const geodist: Impl = (ctx, client, argv) => {
  let toMeters = 1;
  if (argv.length === 5) {
    const u = unit(argv[4]!);
    if (u instanceof ErrorReply) return u;
    toMeters = u;
  } else if (argv.length > 5) {
    return E_SYNTAX;
  }
  const z = zsetOf(ctx, client, argv[1]!);
  if (z instanceof ErrorReply) return z;
  if (z === null) return null;
  const s1 = z.score(argv[2]!.toString('latin1'));
  const s2 = z.score(argv[3]!.toString('latin1'));
  if (s1 === undefined || s2 === undefined) return null;
  const a = decodeScore(s1);
  const b = decodeScore(s2);
  return distText(distance(a[0], a[1], b[0], b[1]) / toMeters);
};

const geopos: Impl = (ctx, client, argv) => {
  const z = zsetOf(ctx, client, argv[1]!);
  if (z instanceof ErrorReply) return z;
  return argv.slice(2).map((m) => {
    const s = z?.score(m.toString('latin1'));
    if (s === undefined) return NULL_ARRAY;
    const [x, y] = decodeScore(s);
    return [coord(client, x), coord(client, y)];
  });
};

const geohash: Impl = (ctx, client, argv) => {
  const z = zsetOf(ctx, client, argv[1]!);
  if (z instanceof ErrorReply) return z;
  return argv.slice(2).map((m) => {
    const s = z?.score(m.toString('latin1'));
    if (s === undefined) return null;
    const [x, y] = decodeScore(s);
    const bits = encode(x, y, -90, 90);
    let out = '';
    for (let i = 0; i < 11; i++) {
      const idx = i === 10 ? 0 : Math.floor(bits / 2 ** (52 - (i + 1) * 5)) & 0x1f;
      out += ALPHABET[idx];
    }
    return out;
  });
};

const RADIUS_COORDS = 1;
const RADIUS_MEMBER = 2;
const RADIUS_NOSTORE = 4;
const GEOSEARCH = 8;
const GEOSEARCHSTORE = 16;

interface Found {
  member: string;
  score: number;
  dist: number;
  x: number;
  y: number;
}

function radiusGeneric(srcIndex: number, flags: number): Impl {
  return (ctx, client, argv) => {
    const db = ctx.dbs[client.db]!;
    const z = zsetOf(ctx, client, argv[srcIndex]!);
    if (z instanceof ErrorReply) return z;
    let base: number;
    let center: [number, number] | null = null;
    let radius = -1;
    let width = -1;
    let height = -1;
    let conv = 1;
    let storekey: Buffer | null = null;
    let storedist = false;
    const fromMember = (m: Buffer): ErrorReply | null => {
      if (z === null) return null;
      const s = z.score(m.toString('latin1'));
      if (s === undefined) return new ErrorReply('ERR could not decode requested zset member');
      center = decodeScore(s);
      return null;
    };
    const dist = (a: Buffer, u: Buffer, what = 'need numeric radius'): ErrorReply | null => {
      const d = parseDouble(a);
      if (d === null) return notFloat(what);
      if (d < 0) return new ErrorReply('ERR radius cannot be negative');
      const c = unit(u);
      if (c instanceof ErrorReply) return c;
      radius = d;
      conv = c;
      return null;
    };
    if (flags & RADIUS_COORDS) {
      base = 6;
      const xy = lonLat(argv[2]!, argv[3]!);
      if (xy instanceof ErrorReply) return xy;
      center = xy;
      const e = dist(argv[4]!, argv[5]!);
      if (e) return e;
    } else if (flags & RADIUS_MEMBER) {
      base = 5;
      if (z !== null) {
        const e = fromMember(argv[2]!) ?? dist(argv[3]!, argv[4]!);
        if (e) return e;
      }
    } else {
      base = 2;
      if (flags & GEOSEARCHSTORE) {
        base = 3;
        storekey = argv[1]!;
      }
    }
    let withdist = false;
    let withhash = false;
    let withcoords = false;
    let frommember = false;
    let fromloc = false;
    let byradius = false;
    let bybox = false;
    let sort = 0;
    let any = false;
    let count = 0;
    const rem = argv.length - base;
    for (let i = 0; i < rem; i++) {
      const a = argv[base + i]!.toString('latin1').toLowerCase();
      const at = (k: number): Buffer => argv[base + i + k]!;
      if (a === 'withdist') withdist = true;
      else if (a === 'withhash') withhash = true;
      else if (a === 'withcoord') withcoords = true;
      else if (a === 'any') any = true;
      else if (a === 'asc') sort = 1;
      else if (a === 'desc') sort = 2;
      else if (a === 'count' && i + 1 < rem) {
        const n = parseInt64(at(1));
        if (n === null) return E_NOT_INT;
        if (n <= 0) return new ErrorReply('ERR COUNT must be > 0');
        count = Number(n);
        i++;
      } else if ((a === 'store' || a === 'storedist') && i + 1 < rem && !(flags & RADIUS_NOSTORE) && !(flags & GEOSEARCH)) {
        storekey = at(1);
        storedist = a === 'storedist';
        i++;
      } else if (a === 'storedist' && flags & GEOSEARCH && flags & GEOSEARCHSTORE) {
        storedist = true;
      } else if (a === 'frommember' && i + 1 < rem && flags & GEOSEARCH && !fromloc) {
        const e = fromMember(at(1));
        if (e) return e;
        frommember = true;
        i++;
      } else if (a === 'fromlonlat' && i + 2 < rem && flags & GEOSEARCH && !frommember) {
        const xy = lonLat(at(1), at(2));
        if (xy instanceof ErrorReply) return xy;
        center = xy;
        fromloc = true;
        i += 2;
      } else if (a === 'byradius' && i + 2 < rem && flags & GEOSEARCH && !bybox) {
        const e = dist(at(1), at(2));
        if (e) return e;
        byradius = true;
        i += 2;
      } else if (a === 'bybox' && i + 3 < rem && flags & GEOSEARCH && !byradius) {
        const w = parseDouble(at(1));
        if (w === null) return notFloat('need numeric width');
        const h = parseDouble(at(2));
        if (h === null) return notFloat('need numeric height');
        if (h < 0 || w < 0) return new ErrorReply('ERR height or width cannot be negative');
        const c = unit(at(3));
        if (c instanceof ErrorReply) return c;
        width = w;
        height = h;
        conv = c;
        bybox = true;
        i += 3;
      } else {
        return E_SYNTAX;
      }
    }
    if (storekey && (withdist || withhash || withcoords)) {
      return new ErrorReply(`ERR ${flags & GEOSEARCHSTORE ? 'GEOSEARCHSTORE' : 'STORE option in GEORADIUS'} is not compatible with WITHDIST, WITHHASH and WITHCOORD options`);
    }
    const name = argv[0]!.toString('latin1');
    if (flags & GEOSEARCH && !(frommember || fromloc)) return new ErrorReply(`ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for ${name}`);
    if (flags & GEOSEARCH && !(byradius || bybox)) return new ErrorReply(`ERR exactly one of BYRADIUS and BYBOX can be specified for ${name}`);
    if (any && !count) return new ErrorReply('ERR the ANY argument requires COUNT argument');
    if (z === null) {
      if (storekey) {
        if (ctx.deleteKey(db, kstr(storekey))) {
          ctx.notify(db.id, 'del', storekey, 'g');
          ctx.dirty++;
        }
        return 0;
      }
      return [];
    }
    if (count !== 0 && sort === 0 && !any) sort = 1;
    const [cx, cy] = center!;
    const found: Found[] = [];
    const wm = width * conv;
    const hm = height * conv;
    const rm = radius * conv;
    for (const [member, score] of z) {
      const [x, y] = decodeScore(score);
      let d: number;
      if (bybox) {
        if (latDistance(y, cy) > hm / 2) continue;
        if (distance(x, y, cx, y) > wm / 2) continue;
        d = distance(cx, cy, x, y);
      } else {
        d = distance(cx, cy, x, y);
        if (d > rm) continue;
      }
      found.push({ member, score, dist: d, x, y });
      if (any && found.length >= count) break;
    }
    if (sort === 1) found.sort((a, b) => a.dist - b.dist);
    else if (sort === 2) found.sort((a, b) => b.dist - a.dist);
    const n = count === 0 || found.length < count ? found.length : count;
    const chosen = found.slice(0, n);
    if (storekey === null) {
      const opt = (withdist ? 1 : 0) + (withhash ? 1 : 0) + (withcoords ? 1 : 0);
      return chosen.map((f) => {
        const m = Buffer.from(f.member, 'latin1');
        if (opt === 0) return m;
        const item: Reply[] = [m];
        if (withdist) item.push(distText(f.dist / conv));
        if (withhash) item.push(f.score);
        if (withcoords) item.push([coord(client, f.x), coord(client, f.y)]);
        return item;
      });
    }
    const dk = kstr(storekey);
    if (chosen.length > 0) {
      const out = new ZSet();
      for (const f of chosen) out.set(f.member, storedist ? f.dist / conv : f.score);
      ctx.addKey(db, dk, T_ZSET, out);
      ctx.notify(db.id, flags & GEOSEARCH ? 'geosearchstore' : 'georadiusstore', storekey, 'z');
      ctx.dirty += chosen.length;
    } else if (ctx.deleteKey(db, dk)) {
      ctx.notify(db.id, 'del', storekey, 'g');
      ctx.dirty++;
    }
    return chosen.length;
  };
}

export const GEO_COMMANDS: Record<string, Impl> = {
  geoadd,
  geodist,
  geopos,
  geohash,
  georadius: radiusGeneric(1, RADIUS_COORDS),
  georadiusbymember: radiusGeneric(1, RADIUS_MEMBER),
  georadius_ro: radiusGeneric(1, RADIUS_COORDS | RADIUS_NOSTORE),
  georadiusbymember_ro: radiusGeneric(1, RADIUS_MEMBER | RADIUS_NOSTORE),
  geosearch: radiusGeneric(1, GEOSEARCH),
  geosearchstore: radiusGeneric(2, GEOSEARCH | GEOSEARCHSTORE),
};
