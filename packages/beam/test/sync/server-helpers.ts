import type { Context } from '../../src/context/context.js';
import { canonOf, type Canon, type RespClient } from './helpers.js';

/** Helpers for the tests that run a BeamServer as the master. */

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A Context's keyspace in canonical form, read directly. With `liveAfter`, keys expiring by then are left out:
 * two contexts read one after the other then agree on keys whose TTL ends between the two reads.
 */
export function canonOfContext(ctx: Context, liveAfter?: number): Canon {
  const all: Array<{ db: number; key: Buffer; type: string; value: unknown }> = [];
  for (let db = 0; db < ctx.dbs.length; db++) {
    for (const e of ctx.entries(db)) {
      if (liveAfter !== undefined && e.expireAt !== null && e.expireAt <= liveAfter) continue;
      const value = e.type === 'list' ? (e.value as { toArray(): Buffer[] }).toArray() : e.value;
      all.push({ db, key: e.key, type: e.type, value });
    }
  }
  return canonOf(all);
}

/** A real server's keyspace in canonical form, read with pipelined commands (fast for many keys). */
export async function readRedisFast(c: RespClient, dbs = 16): Promise<{ canon: Canon; ttl: Map<string, number> }> {
  const entries: Array<{ db: number; key: Buffer; type: string; value: unknown }> = [];
  const ttl = new Map<string, number>();
  for (let db = 0; db < dbs; db++) {
    await c.call('SELECT', db);
    const keys = (await c.call('KEYS', '*')) as Buffer[];
    const types = (await Promise.all(keys.map((k) => c.call('TYPE', k)))).map((t) => String(t));
    const values = await Promise.all(
      keys.map((k, i) => {
        switch (types[i]) {
          case 'string':
            return c.call('GET', k);
          case 'list':
            return c.call('LRANGE', k, 0, -1);
          case 'set':
            return c.call('SMEMBERS', k);
          case 'hash':
            return c.call('HGETALL', k).then((flat) => {
              const f = flat as Buffer[];
              const pairs: Array<[Buffer, Buffer]> = [];
              for (let j = 0; j < f.length; j += 2) pairs.push([f[j]!, f[j + 1]!]);
              return pairs;
            });
          default:
            return Promise.resolve(null);
        }
      }),
    );
    const ttls = await Promise.all(keys.map((k) => c.call('PTTL', k)));
    keys.forEach((key, i) => {
      // A key may vanish between KEYS and its read (expiry): skip it, the caller compares again.
      if (values[i] === null) return;
      entries.push({ db, key, type: types[i]!, value: values[i] });
      ttl.set(`${db}:${key.toString('hex')}`, Number(ttls[i]));
    });
  }
  await c.call('SELECT', 0);
  return { canon: canonOf(entries), ttl };
}

/** First difference between two canonical keyspaces (for readable failures), or null. */
export function firstDiff(a: Canon, b: Canon): string | null {
  const dbs = new Set([...a.keys(), ...b.keys()]);
  for (const db of dbs) {
    const ma = a.get(db) ?? new Map<string, string>();
    const mb = b.get(db) ?? new Map<string, string>();
    for (const [k, v] of ma) {
      if (mb.get(k) !== v) return `db${db} key ${Buffer.from(k, 'hex').toString('latin1')}: master ${v.slice(0, 120)} / replica ${mb.get(k)?.slice(0, 120)}`;
    }
    for (const k of mb.keys()) if (!ma.has(k)) return `db${db} key ${Buffer.from(k, 'hex').toString('latin1')} only on the replica`;
  }
  return null;
}

/**
 * `n` mixed write commands over strings, lists, hashes and sets in dbs 0-3: in-place changes, deletes, renames,
 * expiries (long ones, and short ones that expire during the test), non-deterministic commands (SPOP, SRANDMEMBER
 * is read-only so not used), INCRBYFLOAT, MSET, SELECT.
 */
export function mixedWrites(n: number, seed = 1): Array<Array<string>> {
  const r = prng(seed);
  const pick = (k: number): number => Math.floor(r() * k);
  const out: string[][] = [];
  let db = 0;
  while (out.length < n) {
    if (pick(200) === 0) {
      db = pick(4);
      out.push(['SELECT', String(db)]);
      continue;
    }
    const i = pick(2000);
    const v = `v${pick(1_000_000)}`;
    switch (pick(32)) {
      case 0: out.push(['SET', `s:${i}`, v]); break;
      case 1: out.push(['SET', `s:${i}`, v, 'EX', String(1000 + pick(1000))]); break;
      case 2: out.push(['APPEND', `s:${i}`, v]); break;
      case 3: out.push(['INCR', `n:${i}`]); break;
      case 4: out.push(['INCRBYFLOAT', `f:${i}`, '1.25']); break;
      case 5: out.push(['SETRANGE', `s:${i}`, String(pick(8)), 'xy']); break;
      case 6: out.push(['MSET', `s:${i}`, v, `s:${pick(2000)}`, v]); break;
      case 7: out.push(['RPUSH', `l:${i % 500}`, v, `${v}b`]); break;
      case 8: out.push(['LPUSH', `l:${i % 500}`, v]); break;
      case 9: out.push(['LPOP', `l:${i % 500}`]); break;
      case 10: out.push(['RPOP', `l:${i % 500}`]); break;
      case 11: out.push(['LSET', `l:${i % 500}`, '0', v]); break;
      case 12: out.push(['LTRIM', `l:${i % 500}`, '0', String(5 + pick(20))]); break;
      case 13: out.push(['LMOVE', `l:${i % 500}`, `l:${pick(500)}`, 'LEFT', 'RIGHT']); break;
      case 14: out.push(['LREM', `l:${i % 500}`, '1', v]); break;
      case 15: out.push(['HSET', `h:${i % 500}`, `f${pick(50)}`, v]); break;
      case 16: out.push(['HSET', `h:${i % 500}`, `f${pick(50)}`, v, `g${pick(50)}`, v]); break;
      case 17: out.push(['HDEL', `h:${i % 500}`, `f${pick(50)}`]); break;
      case 18: out.push(['HINCRBY', `h:${i % 500}`, `c${pick(5)}`, '3']); break;
      case 19: out.push(['SADD', `t:${i % 500}`, `m${pick(100)}`, `m${pick(100)}`]); break;
      case 20: out.push(['SREM', `t:${i % 500}`, `m${pick(100)}`]); break;
      case 21: out.push(['SPOP', `t:${i % 500}`]); break;
      case 22: out.push(['SMOVE', `t:${i % 500}`, `t:${pick(500)}`, `m${pick(100)}`]); break;
      case 23: out.push(['SINTERSTORE', `t:${i % 500}`, `t:${pick(500)}`, `t:${pick(500)}`]); break;
      case 24: out.push(['DEL', `s:${i}`, `l:${i % 500}`]); break;
      case 25: out.push(['EXPIRE', `h:${i % 500}`, String(500 + pick(500))]); break;
      case 26: out.push(['PEXPIRE', `s:${i}`, String(1 + pick(100))]); break; // expires during the test
      case 27: out.push(['PERSIST', `h:${i % 500}`]); break;
      case 28: out.push(['RENAME', `s:${i}`, `s:${pick(2000)}`]); break;
      case 29: out.push(['COPY', `h:${i % 500}`, `h:${pick(500)}`, 'REPLACE']); break;
      case 30: out.push(['GETDEL', `n:${i}`]); break;
      default: out.push(['SETEX', `s:${i}`, '3600', Buffer.from([pick(256), 0, pick(256)]).toString('latin1')]); break;
    }
  }
  return out;
}
