/**
 * The Lua scripts of the claim and lease protocol (docs/scale-out.md §2). Each touches one key, so each is
 * atomic on a Redis Cluster too; time comes from the server (`TIME`), never from a worker's clock.
 */
import type { RedisLike } from './target.js';

/** GET key == ARGV[1]: SET it to ARGV[2] (with PX ARGV[3] when > 0) and return 1; else 0. */
const SWAP = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local px = tonumber(ARGV[3])
if px > 0 then redis.call('SET', KEYS[1], ARGV[2], 'PX', px) else redis.call('SET', KEYS[1], ARGV[2]) end
return 1`;

/**
 * A worker's lease in the workers sorted set. ARGV: wid, leaseMs, mode. 'register' always sets the deadline to
 * now + leaseMs; 'renew' does so only while the lease has not expired (a reaper may act on an expired one), and
 * returns 0 when it had.
 */
const LEASE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[3] == 'renew' then
  local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
  if not s or tonumber(s) < now then return 0 end
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 1`;

/** Workers whose lease has expired (ARGV[1] = 'expired', at most 100) or is live ('live'). */
const WORKERS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[1] == 'expired' then return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now, 'LIMIT', 0, 100) end
return redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')`;

interface Scripted {
  beamSwap(key: string, from: string, to: string, px: number): Promise<number>;
  beamLease(key: string, wid: string, leaseMs: number, mode: 'register' | 'renew'): Promise<number>;
  beamWorkers(key: string, which: 'expired' | 'live'): Promise<string[]>;
}

const DEFINED = new WeakSet<object>();

/** The client with the scripts defined (EVALSHA, falling back to EVAL once per server). */
export function scripts(r: RedisLike): Scripted {
  if (!DEFINED.has(r)) {
    r.defineCommand('beamSwap', { numberOfKeys: 1, lua: SWAP });
    r.defineCommand('beamLease', { numberOfKeys: 1, lua: LEASE });
    r.defineCommand('beamWorkers', { numberOfKeys: 1, lua: WORKERS });
    DEFINED.add(r);
  }
  return r as unknown as Scripted;
}
