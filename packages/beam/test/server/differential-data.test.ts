import { expect } from 'chai';
import { words, type Parsed } from '../context/helpers.js';
import { differentialPair } from './helpers.js';

/**
 * `beam serve` and a real redis-server 7 get the same command lines over RESP and must answer the same: scripting,
 * functions, bit operations, SORT, HyperLogLog and GEO. Prefixes: `~` compare sorted, `!` run only. Then DUMP
 * payloads go both ways between the two servers (RESTORE of the other's DUMP).
 */
const SEQUENCES: string[][] = [
  // ---- scripting
  ['EVAL "return 1" 0', 'EVAL "return {1,2,3,\'x\',{4,5}}" 0', 'EVAL "return redis.call(\'set\',KEYS[1],ARGV[1])" 1 k v', 'GET k',
    'EVAL "return redis.call(\'get\',KEYS[1])" 1 k', 'EVAL "return redis.call(\'get\',\'nope\')" 0', 'EVAL "return {1,nil,3}" 0',
    'EVAL "return 3.99" 0', 'EVAL "return -3.99" 0', 'EVAL "return true" 0', 'EVAL "return false" 0', 'EVAL "return nil" 0'],
  ['EVAL "return {err=\'My Error\'}" 0', 'EVAL "return redis.error_reply(\'MYERR boom\')" 0', 'EVAL "return redis.status_reply(\'FINE\')" 0',
    'EVAL "return {ok=\'x\'}" 0', 'EVAL "return redis.pcall(\'incr\',\'nonint\')" 0', 'SET s abc', 'EVAL "return redis.pcall(\'incr\',\'s\')" 0',
    'EVAL "return redis.call(\'incr\',\'s\')" 0', 'EVAL "return redis.call(\'nosuchcommand\')" 0', 'EVAL "return redis.call()" 0',
    'EVAL "return redis.call(\'get\', {})" 0', 'EVAL "error(\'x\')" 0', 'EVAL "return a" 0', 'EVAL "a = 1" 0', '!EVAL "this is not lua" 0'],
  ['EVAL "return redis.sha1hex(\'\')" 0', 'EVAL "return redis.sha1hex(\'Pizza & Mandolino\')" 0', 'SCRIPT LOAD "return 42"',
    'EVALSHA 1fa00e76656cc152ad327c13fe365858fd7be306 0', 'EVALSHA 1FA00E76656CC152AD327C13FE365858FD7BE306 0',
    'SCRIPT EXISTS 1fa00e76656cc152ad327c13fe365858fd7be306 ffffffffffffffffffffffffffffffffffffffff', 'EVALSHA ffffffffffffffffffffffffffffffffffffffff 0',
    'EVALSHA abc 0', 'SCRIPT FLUSH', 'SCRIPT EXISTS 1fa00e76656cc152ad327c13fe365858fd7be306', 'SCRIPT FLUSH ASYNC', 'SCRIPT FLUSH FOO', 'SCRIPT FOO'],
  ['EVAL "return #KEYS + #ARGV" 2 a b c', 'EVAL "return 1" -1', 'EVAL "return 1" 3 a', 'EVAL "return 1" x', 'EVAL_RO "return redis.call(\'get\',\'k\')" 1 k',
    'EVAL_RO "return redis.call(\'set\',\'k\',\'v\')" 1 k', 'EVAL "#!lua flags=no-writes\\nreturn redis.call(\'set\',\'k\',\'v\')" 0',
    'EVAL "#!lua\\nreturn 1" 0', 'EVAL "#!lua flags=nonsense\\nreturn 1" 0', 'EVAL "#!python\\nreturn 1" 0', 'EVAL "#!lua foo=bar\\nreturn 1" 0',
    'EVAL "#!lua flags=no-writes\\nreturn 1" 0', 'EVAL_RO "#!lua\\nreturn 1" 0'],
  ['EVAL "return cjson.encode({1,2,3,{a=1}})" 0', 'EVAL "return cjson.decode(\'[1,2,{\\"a\\":[true,false]}]\')[3].a[1]" 0',
    'EVAL "return table.concat(cjson.decode(\'[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10]\'), \' \')" 0', 'EVAL "return cjson.encode(cjson.decode(\'{\\"x\\":null}\'))" 0',
    'EVAL "return cmsgpack.unpack(cmsgpack.pack({1,2,\'x\',{3}}))" 0', 'EVAL "return cmsgpack.pack(1, -1, 300, -300, 70000, 1.5, \'ab\', true, false)" 0',
    'EVAL "return {bit.band(0xff, 0x0f), bit.bor(1, 2), bit.bxor(3, 1), bit.bnot(0), bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.tohex(255)}" 0',
    'EVAL "return struct.pack(\'>I2\', 258)" 0', 'EVAL "return {struct.unpack(\'>I2\', \'\\\\1\\\\2\')}" 0', 'EVAL "return {unpack({1,2,3})}" 0',
    'EVAL "return tostring(10/2)" 0', 'EVAL "return string.format(\'%d\', 3)" 0', 'EVAL "return redis.REDIS_VERSION" 0'],
  ['EVAL "redis.setresp(3); return redis.call(\'hgetall\', \'nope\')" 0', 'HSET h a 1', 'EVAL "redis.setresp(3); return redis.call(\'hgetall\', \'h\')" 0',
    'EVAL "return redis.call(\'hgetall\', \'h\')" 0', 'EVAL "redis.setresp(3); return redis.call(\'get\', \'nope\')" 0', 'EVAL "redis.setresp(4)" 0',
    'EVAL "redis.setresp(3); return {double=3.5}" 0', 'EVAL "return {map={a=1}}" 0', 'EVAL "return {set={a=true}}" 0', 'EVAL "return redis.call(\'ping\')" 0',
    'EVAL "return redis.call(\'select\', 1)" 0', 'EVAL "return redis.call(\'blpop\', \'l\', 0)" 0', 'EVAL "return redis.call(\'subscribe\', \'c\')" 0'],
  ['SADD s c a b', 'EVAL "return redis.call(\'sort\', \'s\', \'by\', \'nosort\')" 0', 'EVAL "redis.log(redis.LOG_WARNING, \'hi\'); return 1" 0',
    'EVAL "redis.log(99, \'hi\')" 0', 'EVAL "return pcall(function() error({err=\'X\'}) end)" 0', 'EVAL "return {pcall(error, \'x\')}" 0'],
  // ---- functions
  ['FUNCTION LOAD "#!lua name=lib1\\nredis.register_function(\'f1\', function(keys, args) return {keys[1], args[1]} end)"', 'FCALL f1 1 k a', 'FCALL F1 1 k a',
    'FCALL nope 0', 'FCALL f1 x', 'FCALL f1 2 k', 'FUNCTION LOAD "#!lua name=lib1\\nredis.register_function(\'f1\', function() return 1 end)"',
    'FUNCTION LOAD REPLACE "#!lua name=lib1\\nredis.register_function(\'f2\', function() return 2 end)"', 'FCALL f2 0', 'FCALL f1 0',
    'FUNCTION LIST', 'FUNCTION LIST WITHCODE LIBRARYNAME lib*', 'FUNCTION LIST LIBRARYNAME x*', 'FUNCTION DELETE lib1', 'FUNCTION DELETE lib1', 'FUNCTION LIST'],
  ['FUNCTION LOAD "return 1"', 'FUNCTION LOAD "#!lua\\nreturn 1"', 'FUNCTION LOAD "#!lua name=a-b\\nreturn 1"', 'FUNCTION LOAD "#!nolua name=x\\nreturn 1"',
    'FUNCTION LOAD "#!lua name=x\\nreturn 1"', 'FUNCTION LOAD "#!lua name=x\\nredis.call(\'ping\')"', 'FUNCTION LOAD "#!lua name=x\\nredis.register_function(\'a\', 1)"',
    'FUNCTION LOAD "#!lua name=x\\nredis.register_function{function_name=\'ro\', callback=function() return redis.call(\'set\',\'k\',\'v\') end, flags={\'no-writes\'}}"',
    'FCALL ro 0', 'FCALL_RO ro 0', 'FUNCTION LOAD "#!lua name=y\\nredis.register_function(\'w\', function() return 1 end)"', 'FCALL_RO w 0',
    'FUNCTION LOAD "#!lua name=z\\nredis.register_function(\'ro\', function() return 1 end)"', 'FUNCTION FLUSH', 'FUNCTION LIST', 'FUNCTION STATS'],
  // ---- bit operations
  ['SETBIT b 7 1', 'GETBIT b 7', 'GETBIT b 100', 'GET b', 'SETBIT b 100 1', 'STRLEN b', 'SETBIT b 7 0', 'SETBIT b -1 1', 'SETBIT b 1 2', 'SETBIT b 4294967296 1', 'GETBIT b x'],
  ['SET s foobar', 'BITCOUNT s', 'BITCOUNT s 0 0', 'BITCOUNT s 1 1', 'BITCOUNT s 1 1 BYTE', 'BITCOUNT s 5 30 BIT', 'BITCOUNT s -2 -1', 'BITCOUNT s 3 1',
    'BITCOUNT s 0', 'BITCOUNT s 0 1 FOO', 'BITCOUNT nope', 'BITCOUNT s a b', 'BITCOUNT s -1 -2 BIT'],
  ['SET s "\\xff\\xf0\\x00"', 'BITPOS s 0', 'BITPOS s 1', 'BITPOS s 0 2', 'BITPOS s 1 2', 'BITPOS s 0 0 -1', 'BITPOS s 1 7 15 BIT', 'BITPOS s 0 7 15 BIT',
    'SET t "\\xff\\xff"', 'BITPOS t 0', 'BITPOS t 0 0 -1', 'BITPOS nope 0', 'BITPOS nope 1', 'BITPOS s 2', 'BITPOS s 1 0 1 FOO'],
  ['SET a "\\x0f\\xf0"', 'SET b "\\xff"', 'BITOP AND d a b', 'GET d', 'BITOP OR d a b', 'GET d', 'BITOP XOR d a b', 'GET d', 'BITOP NOT d a', 'GET d',
    'BITOP NOT d a b', 'BITOP FOO d a', 'BITOP AND d nope1 nope2', 'EXISTS d', 'LPUSH l x', 'BITOP AND d a l'],
  ['BITFIELD bf SET u8 0 255 GET u8 0', 'BITFIELD bf INCRBY u8 0 10', 'BITFIELD bf OVERFLOW SAT INCRBY u8 0 300', 'BITFIELD bf OVERFLOW FAIL INCRBY u8 0 1',
    'BITFIELD bf SET i8 8 -100 GET i8 8 INCRBY i8 8 -100', 'BITFIELD bf OVERFLOW SAT INCRBY i8 8 -200', 'BITFIELD bf SET u3 #2 5 GET u3 #2',
    'BITFIELD bf GET i64 0 GET u63 1', 'BITFIELD bf GET u64 0', 'BITFIELD bf GET x8 0', 'BITFIELD bf SET u8 0', 'BITFIELD bf OVERFLOW NOPE',
    'BITFIELD_RO bf GET u8 0', 'BITFIELD_RO bf SET u8 0 1', 'BITFIELD nope GET u8 0', 'BITFIELD bf', 'GET bf'],
  // ---- SORT
  ['RPUSH l 3 1 2 10', 'SORT l', 'SORT l DESC', 'SORT l ALPHA', 'SORT l LIMIT 1 2', 'SORT l LIMIT 0 -1', 'SORT l LIMIT -5 2', 'SORT l BY nosort',
    'RPUSH m a 1', 'SORT m', 'SORT m ALPHA', 'SORT nope', 'SET s x', 'SORT s', 'SORT l FOO', 'SORT l LIMIT 1'],
  ['RPUSH l a b c', 'MSET w_a 3 w_b 1 w_c 2 o_a A o_b B', 'HSET h_a f 30 h_b f 10 h_c f 20', 'SORT l BY w_*', 'SORT l BY w_* GET o_* GET #', 'SORT l BY h_*->f DESC',
    'SORT l BY w_* GET h_*->f', 'SORT l BY nosort GET o_*', 'SORT l BY w_* STORE dst', 'LRANGE dst 0 -1', 'SORT l BY w_* GET o_* STORE dst2', 'LRANGE dst2 0 -1',
    'SORT nope STORE dst', 'EXISTS dst', 'SORT_RO l BY w_*', 'SORT_RO l STORE x', 'SORT l BY missing_* ALPHA'],
  ['ZADD z 3 c 1 a 2 b', 'SORT z BY nosort', 'SORT z BY nosort DESC', 'SORT z BY nosort LIMIT 1 1', 'SORT z ALPHA DESC', 'SADD s 3 1 2', 'SORT s', 'SORT s BY nosort STORE d', 'LRANGE d 0 -1'],
  // ---- HyperLogLog
  ['PFADD h a b c d e', 'PFADD h a', 'PFCOUNT h', 'GET h', 'PFADD h2 c d e f g', 'PFCOUNT h h2', 'PFMERGE m h h2', 'PFCOUNT m', 'GET m', 'PFADD empty', 'PFCOUNT empty',
    'SET notahll foo', 'PFADD notahll a', 'PFCOUNT notahll', 'LPUSH l x', 'PFADD l a', 'PFCOUNT nope', 'PFMERGE m nope', 'PFCOUNT m'],
  // ---- GEO
  ['GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania', 'GEODIST Sicily Palermo Catania', 'GEODIST Sicily Palermo Catania km',
    'GEODIST Sicily Palermo nope', 'GEOPOS Sicily Palermo nope', 'GEOHASH Sicily Palermo Catania nope', 'ZRANGE Sicily 0 -1 WITHSCORES',
    'GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD ASC', 'GEORADIUS Sicily 15 37 200 km COUNT 1 WITHHASH', 'GEORADIUSBYMEMBER Sicily Palermo 200 km DESC',
    'GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC WITHDIST', 'GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 100 km',
    'GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST', 'ZRANGE dst 0 -1 WITHSCORES', 'GEORADIUS Sicily 15 37 200 km STORE dst2', 'ZRANGE dst2 0 -1 WITHSCORES'],
  ['GEOADD g 200 100 x', 'GEOADD g 1 2', 'GEOADD g NX XX 1 2 x', 'GEOADD g 1 2 x', 'GEOADD g XX CH 3 4 x', 'GEOADD g NX 5 6 x', 'GEOSEARCH g FROMLONLAT 1 2 BYRADIUS 1 km FROMMEMBER x',
    'GEOSEARCH g BYRADIUS 1 km', 'GEOSEARCH g FROMLONLAT 1 2', 'GEOSEARCH g FROMLONLAT 1 2 BYRADIUS 1 parsecs', 'GEOSEARCH g FROMLONLAT 1 2 BYRADIUS -1 km',
    'GEOSEARCH g FROMMEMBER nope BYRADIUS 1 km', 'GEOSEARCH g FROMLONLAT 1 2 BYRADIUS 1000 km ANY', 'GEOSEARCH g FROMLONLAT 1 2 BYRADIUS 1000 km COUNT 0',
    'GEORADIUS g 1 2 1000 km STORE x WITHDIST', 'GEORADIUS nope 1 2 10 km', 'GEORADIUS_RO g 1 2 10 km STORE x', 'SET s v', 'GEOPOS s x'],
];

function sortDeep(p: Parsed): Parsed {
  return Array.isArray(p) ? [...p.map(sortDeep)].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) : p;
}

/** Script error texts embed the script's sha and line: identical on both. Nothing to normalize but the wording. */
describe('server differential vs real redis-server: scripting, functions, bits, SORT, HLL, GEO, DUMP', function () {
  this.timeout(60000);
  const pair = differentialPair();

  SEQUENCES.forEach((seq, n) => {
    it(`sequence ${n}: ${seq[0]!.slice(0, 60)} ...`, async () => {
      for (const c of [pair.theirs, pair.ours]) {
        await c.send(words('FLUSHALL'));
        await c.send(words('SCRIPT FLUSH'));
        await c.send(words('FUNCTION FLUSH'));
      }
      for (const raw of seq) {
        const mode = raw[0] === '~' || raw[0] === '!' ? raw[0] : '';
        const line = mode ? raw.slice(1) : raw;
        const argv = words(line);
        const a = await pair.theirs.send(argv);
        const b = await pair.ours.send(argv);
        if (mode === '!') continue;
        if (mode === '~') expect(sortDeep(b), line).to.deep.equal(sortDeep(a));
        else expect(b, line).to.deep.equal(a);
      }
    });
  });

  const VALUES: Array<[string, string[], string]> = [
    ['string', ['SET k hello'], 'GET k'],
    ['int string', ['SET k 12345'], 'GET k'],
    ['big string', [`SET k ${'x'.repeat(5000)}`], 'GET k'],
    ['list', ['RPUSH k a b c 1 2'], 'LRANGE k 0 -1'],
    ['big list', [`RPUSH k ${Array.from({ length: 300 }, (_, i) => `e${i}`).join(' ')}`], 'LRANGE k 0 -1'],
    ['set', ['SADD k x y z'], 'SORT k ALPHA'],
    ['int set', ['SADD k 3 1 2'], 'SORT k'],
    ['hash', ['HSET k f1 v1 f2 v2'], 'HGETALL k'],
    ['zset', ['ZADD k 1 a 2.5 b -inf c inf d'], 'ZRANGE k 0 -1 WITHSCORES'],
    ['hyperloglog', ['PFADD k a b c d e f g'], 'PFCOUNT k'],
    ['stream', ['XADD k 1-1 a 1', 'XADD k 2-1 b 2', 'XGROUP CREATE k g 0', 'XREADGROUP GROUP g c COUNT 1 STREAMS k >'], 'XRANGE k - +'],
  ];
  for (const [what, setup, check] of VALUES) {
    it(`DUMP/RESTORE round trips a ${what} both ways between Beam and redis-server`, async () => {
      for (const [src, dst] of [[pair.ours, pair.theirs], [pair.theirs, pair.ours]] as const) {
        await src.send(words('FLUSHALL'));
        await dst.send(words('FLUSHALL'));
        for (const s of setup) await src.send(words(s));
        const payload = await src.send(words('DUMP k'));
        expect(typeof payload).to.equal('string');
        const r = await dst.send([Buffer.from('RESTORE'), Buffer.from('k'), Buffer.from('0'), Buffer.from(payload as string, 'latin1')]);
        expect(r).to.deep.equal({ simple: 'OK' });
        expect(await dst.send(words(check))).to.deep.equal(await src.send(words(check)));
      }
    });
  }

  it('refuses a payload with a wrong checksum or a newer RDB version, as redis-server does', async () => {
    await pair.ours.send(words('SET k v'));
    const good = Buffer.from((await pair.ours.send(words('DUMP k'))) as string, 'latin1');
    const badCrc = Buffer.from(good);
    badCrc[badCrc.length - 1]! ^= 0xff;
    const newer = Buffer.from(good);
    newer[newer.length - 10] = 99;
    for (const p of [badCrc, newer, Buffer.from('xx')]) {
      const a = await pair.theirs.send([Buffer.from('RESTORE'), Buffer.from('k2'), Buffer.from('0'), p]);
      const b = await pair.ours.send([Buffer.from('RESTORE'), Buffer.from('k2'), Buffer.from('0'), p]);
      expect(b).to.deep.equal(a);
    }
  });
});
