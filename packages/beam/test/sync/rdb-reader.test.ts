import { expect } from 'chai';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RdbError } from '../../src/sync/errors.js';
import { lzfDecompress } from '../../src/sync/lzf.js';
import { decodeIntset, decodeListpack, decodeZiplist } from '../../src/sync/rdb-encodings.js';
import { RdbParser, parseRdb } from '../../src/sync/rdb-reader.js';
import { RdbType } from '../../src/sync/rdb-format.js';
import { writeRdbSync } from '../../src/sync/rdb-writer.js';
import { staticSnapshot } from '../../src/sync/snapshot-source.js';
import { bytes, fixture, fixtureRows } from './fixture.js';
import { RespClient, canonOf, plain, readRedis, run, startRedis, tempDir, which, type RedisProcess } from './helpers.js';

const strs = (list: Buffer[]): string[] => list.map((b) => b.toString('latin1'));

describe('sync/rdb-reader', function () {
  this.timeout(30000);

  it('decodes a hand-built ziplist with every entry encoding', () => {
    const entries: Buffer[] = [
      Buffer.from([0x03, ...Buffer.from('abc')]), // 6-bit string
      Buffer.from([0x40, 0x41, ...Buffer.alloc(65, 0x7a)]), // 14-bit string (65 bytes)
      Buffer.from([0xfe, 0x85]), // int8 -123
      Buffer.from([0xc0, 0x39, 0x30]), // int16 12345
      Buffer.from([0xf0, 0x40, 0x42, 0x0f]), // int24 1000000
      Buffer.from([0xd0, 0xff, 0xff, 0xff, 0x7f]), // int32 2147483647
      Buffer.from([0xe0, 0, 0, 0, 0, 0, 0, 0, 0x80]), // int64 min
      Buffer.from([0xf1]), // immediate 0
      Buffer.from([0xfd]), // immediate 12
    ];
    const body: Buffer[] = [];
    let prev = 0;
    for (const e of entries) {
      body.push(Buffer.from([prev]), e);
      prev = e.length + 1;
    }
    // A 300-byte string: 32-bit length encoding, after a prevlen that still fits one byte.
    body.push(Buffer.from([prev]), Buffer.from([0x80, 0, 0, 0x01, 0x2c]), Buffer.alloc(300, 0x41));
    prev = 1 + 5 + 300;
    body.push(Buffer.from([0xfe, prev & 0xff, prev >> 8, 0, 0]), Buffer.from([0x01, 0x21])); // 5-byte prevlen
    const content = Buffer.concat(body);
    const zl = Buffer.alloc(10 + content.length + 1);
    zl.writeUInt32LE(zl.length, 0);
    zl.writeUInt16LE(entries.length + 2, 8);
    content.copy(zl, 10);
    zl[zl.length - 1] = 0xff;
    expect(strs(decodeZiplist(zl))).to.deep.equal([
      'abc', 'z'.repeat(65), '-123', '12345', '1000000', '2147483647', '-9223372036854775808', '0', '12', 'A'.repeat(300), '!',
    ]);
    expect(() => decodeZiplist(zl.subarray(0, zl.length - 3))).to.throw(RdbError);
  });

  it('decodes a hand-built listpack and intsets, and refuses corrupt ones', () => {
    const withBacklen = (e: number[]): number[] => [...e, e.length]; // all entries here are < 128 bytes
    const entries = [
      withBacklen([0x05]), // 7-bit uint 5
      withBacklen([0x83, 0x61, 0x62, 0x63]), // 6-bit str "abc"
      withBacklen([0xdf, 0xff]), // 13-bit int -1
      withBacklen([0xe0, 0x02, 0x68, 0x69]), // 12-bit str "hi"
      withBacklen([0xf1, 0x00, 0x80]), // int16 -32768
      withBacklen([0xf2, 0xff, 0xff, 0x7f]), // int24 8388607
      withBacklen([0xf3, 0x00, 0x00, 0x00, 0x80]), // int32 min
      withBacklen([0xf4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), // int64 max
    ].flat();
    const lp = Buffer.from([0, 0, 0, 0, 8, 0, ...entries, 0xff]);
    lp.writeUInt32LE(lp.length, 0);
    expect(strs(decodeListpack(lp))).to.deep.equal(['5', 'abc', '-1', 'hi', '-32768', '8388607', '-2147483648', '9223372036854775807']);
    const broken = Buffer.from(lp);
    broken[6] = 0xf9; // undefined encoding
    expect(() => decodeListpack(broken)).to.throw(RdbError);

    const is = Buffer.alloc(8 + 3 * 8);
    is.writeUInt32LE(8, 0);
    is.writeUInt32LE(3, 4);
    is.writeBigInt64LE(-5n, 8);
    is.writeBigInt64LE(7n, 16);
    is.writeBigInt64LE(1n << 40n, 24);
    expect(strs(decodeIntset(is))).to.deep.equal(['-5', '7', String(2 ** 40)]);
    expect(() => decodeIntset(is.subarray(0, 20))).to.throw(RdbError);
  });

  it('decompresses LZF literals and back references, refusing corrupt input', () => {
    // literal "abc", then a back reference of length 7 at distance 3: "abcabcabca"
    const data = Buffer.from([0x02, 0x61, 0x62, 0x63, (5 << 5) | 0, 0x02]);
    expect(lzfDecompress(data, 10).toString()).to.equal('abcabcabca');
    expect(() => lzfDecompress(data, 11)).to.throw(RdbError);
    expect(() => lzfDecompress(Buffer.from([0x20, 0x10]), 3)).to.throw(RdbError); // reference before start
  });

  it('parses incrementally, one byte at a time, and reports the bytes after the trailer', () => {
    const rdb = writeRdbSync(staticSnapshot(fixture()), { ctime: 1 });
    const p = new RdbParser();
    const got = [];
    for (let i = 0; i < rdb.length; i += 997) got.push(...p.push(rdb.subarray(i, i + 997)));
    expect(p.done).to.equal(true);
    expect(plain(canonOf(got))).to.deep.equal(plain(canonOf(parseRdb(rdb).entries)));
    const small = writeRdbSync(staticSnapshot(new Map([[3, [{ key: 'k', type: 'set', value: ['a'], expireAt: 5 }]]])));
    const q = new RdbParser();
    const got2 = [];
    for (const byte of Buffer.concat([small, Buffer.from('*1\r\n')])) got2.push(...q.push(Buffer.from([byte])));
    expect(got2).to.have.length(1);
    expect(got2[0]).to.include({ db: 3, type: 'set', expireAt: 5, encoding: RdbType.SET });
    expect(q.remainder().toString()).to.equal('*1\r\n');
  });

  it('refuses bad magic, versions, checksums, truncation, oversize strings and unknown types with RdbError', () => {
    const rdb = writeRdbSync(staticSnapshot(new Map([[0, [{ key: 'k', type: 'string', value: Buffer.from('vvvv'), expireAt: null }]]])));
    const code = (buf: Buffer, opts = {}): string => {
      try {
        parseRdb(buf, opts);
        return 'ok';
      } catch (e) {
        expect(e).to.be.instanceOf(RdbError);
        return (e as RdbError).code;
      }
    };
    expect(code(rdb)).to.equal('ok');
    expect(code(Buffer.concat([Buffer.from('REDIX'), rdb.subarray(5)]))).to.equal('RDB_BAD_MAGIC');
    expect(code(Buffer.concat([Buffer.from('REDIS0099'), rdb.subarray(9)]))).to.equal('RDB_BAD_VERSION');
    const flipped = Buffer.from(rdb);
    flipped[rdb.length - 12]! ^= 1; // inside the value
    expect(code(flipped)).to.equal('RDB_BAD_CHECKSUM');
    expect(code(flipped, { verifyChecksum: false })).to.equal('ok');
    expect(code(rdb.subarray(0, rdb.length - 1))).to.equal('RDB_TRUNCATED');
    expect(code(Buffer.concat([rdb, Buffer.from('x')]))).to.equal('RDB_TRAILING_DATA');
    expect(code(rdb, { maxBulk: 3 })).to.equal('RDB_LIMIT');
    const moduleValue = Buffer.from(rdb);
    const at = moduleValue.indexOf(Buffer.from([0x00, 0x01, 0x6b])); // type STRING, key "k"
    moduleValue[at] = RdbType.MODULE_2; // module values are not supported
    expect(code(moduleValue, { verifyChecksum: false })).to.equal('RDB_UNSUPPORTED_TYPE');
  });

  describe('on a dump made by a real redis-server', () => {
    let redis: RedisProcess | null = null;
    let client: RespClient | null = null;
    let dir = '';

    before(async function () {
      if (!(await which('redis-server')) || !(await which('redis-cli'))) {
        console.warn('redis-server/redis-cli not installed: skipping real-dump reader tests');
        this.skip();
      }
      dir = tempDir();
      redis = await startRedis(['--repl-diskless-sync-delay', '0']);
      client = await RespClient.connect(redis.port);
    });
    after(async () => {
      client?.close();
      await redis?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('reads strings (int, raw, LZF), listpack/quicklist lists, listpack/hashtable hashes, intset/hashtable sets, zsets', async () => {
      const c = client!;
      const limit = async (name: string): Promise<number> => Number(((await c.call('CONFIG', 'GET', name)) as Buffer[])[1]!.toString());
      const hashMax = await limit('hash-max-listpack-entries');
      const setMax = await limit('set-max-intset-entries');
      const zsetMax = await limit('zset-max-listpack-entries');
      await c.call('SET', 'int', '12345');
      await c.call('SET', 'neg', '-9000000000');
      await c.call('SET', 'raw', 'hello');
      await c.call('SET', 'lzf', 'abcdefgh'.repeat(500));
      await c.call('SET', Buffer.from([0xff, 0, 1]), bytes(200_000, 5));
      await c.call('SET', 'ttl', 'x', 'PX', 500_000);
      await c.call('RPUSH', 'list:small', 'a', '1', '-70000', '123456789012', 'x'.repeat(100));
      const bigList = Array.from({ length: 3000 }, (_, i) => `element-${i}-${'p'.repeat(i % 50)}`);
      await c.call('RPUSH', 'list:big', ...bigList);
      await c.call('RPUSH', 'list:huge', bytes(50_000, 11), 'tail');
      await c.call('HSET', 'hash:small', 'f', 'v', 'n', '42', 'neg', '-1');
      const bigHash: string[] = [];
      for (let i = 0; i <= hashMax; i++) bigHash.push(`f${i}`, `v${i}`);
      await c.call('HSET', 'hash:big', ...bigHash);
      await c.call('SADD', 'set:ints', '1', '2', '-3', '100000', '5000000000');
      await c.call('SADD', 'set:strs', 'a', 'b', 'c');
      await c.call('SADD', 'set:big', ...Array.from({ length: setMax + 1 }, (_, i) => String(i)));
      await c.call('ZADD', 'zset:small', '1.5', 'a', '-2', 'b', '3', 'c');
      await c.call('ZADD', 'zset:big', ...Array.from({ length: zsetMax + 1 }, (_, i) => [String(i / 4), `m${i}`]).flat());
      await c.call('SELECT', 7);
      await c.call('SET', 'in7', 'seven');
      await c.call('SELECT', 0);

      const file = join(dir, 'real.rdb');
      const r = await run('redis-cli', ['-p', String(redis!.port), '--rdb', file]);
      expect(r.code, r.stderr).to.equal(0);
      const parsed = parseRdb(readFileSync(file));
      expect(parsed.version).to.equal(10);
      expect(parsed.aux.get('redis-ver')?.toString()).to.match(/^7\./);

      const byKey = new Map(parsed.entries.map((e) => [e.key.toString('latin1'), e]));
      const enc = (k: string): number | undefined => byKey.get(k)?.encoding;
      expect(enc('list:small')).to.equal(RdbType.LIST_QUICKLIST_2);
      expect(enc('hash:small')).to.equal(RdbType.HASH_LISTPACK);
      expect(enc('hash:big')).to.equal(RdbType.HASH);
      expect(enc('set:ints')).to.equal(RdbType.SET_INTSET);
      expect(enc('set:big')).to.equal(RdbType.SET);
      expect(enc('zset:small')).to.equal(RdbType.ZSET_LISTPACK);
      expect(enc('zset:big')).to.equal(RdbType.ZSET_2);
      expect(byKey.get('ttl')?.expireAt).to.be.within(Date.now(), Date.now() + 500_000);
      expect(byKey.get('in7')?.db).to.equal(7);
      // LZF really was used: the repetitive value does not appear in clear in the file.
      expect(readFileSync(file).includes(Buffer.from('abcdefgh'.repeat(20)))).to.equal(false);
      expect(byKey.get('lzf')?.value.toString()).to.equal('abcdefgh'.repeat(500));

      const zs = byKey.get('zset:small');
      expect(zs?.type === 'zset' ? zs.value.map(([m, s]) => `${m.toString()}=${s}`) : null).to.deep.equal(['b=-2', 'a=1.5', 'c=3']);
      const zb = byKey.get('zset:big');
      expect(zb?.type === 'zset' ? zb.value.length : 0).to.equal(zsetMax + 1);

      const fromServer = await readRedis(c);
      const mine = canonOf(parsed.entries.filter((e) => e.type !== 'zset'));
      for (const m of fromServer.canon.values()) {
        for (const [k, v] of m) if (v.startsWith('zset:')) m.delete(k);
      }
      expect(plain(mine)).to.deep.equal(plain(fromServer.canon));
    });

    it('reads our own writer output back after redis-server loaded and re-dumped it', async () => {
      const d = tempDir();
      const rdb = writeRdbSync(staticSnapshot(fixture()));
      const { writeFileSync } = await import('node:fs');
      writeFileSync(join(d, 'dump.rdb'), rdb);
      const loaded = await startRedis(['--dbfilename', 'dump.rdb', '--repl-diskless-sync-delay', '0'], d);
      try {
        const out = join(dir, 'again.rdb');
        const r = await run('redis-cli', ['-p', String(loaded.port), '--rdb', out]);
        expect(r.code, r.stderr).to.equal(0);
        expect(plain(canonOf(parseRdb(readFileSync(out)).entries))).to.deep.equal(plain(canonOf(fixtureRows(fixture()))));
      } finally {
        await loaded.stop();
      }
    });
  });
});
