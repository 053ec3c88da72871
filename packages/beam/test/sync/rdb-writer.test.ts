import { expect } from 'chai';
import { createWriteStream, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseRdb } from '../../src/sync/rdb-reader.js';
import { YIELD_POINT, rdbChunks, rdbChunksSync, rdbReadable, writeRdbSync } from '../../src/sync/rdb-writer.js';
import { staticSnapshot } from '../../src/sync/snapshot-source.js';
import { HOUR, fixture, fixtureRows } from './fixture.js';
import { RespClient, canonOf, plain, readRedis, run, startRedis, tempDir, which, type RedisProcess } from './helpers.js';

const OPTS = { ctime: 1_700_000_000, usedMem: 1234, replId: 'f'.repeat(40), replOffset: 77 };

describe('sync/rdb-writer', function () {
  this.timeout(30000);
  const now = Date.now();
  const dbs = fixture(now);
  const expected = plain(canonOf(fixtureRows(dbs)));
  const rdb = writeRdbSync(staticSnapshot(dbs), OPTS);
  let dir = '';

  before(() => {
    dir = tempDir();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the REDIS0009 header, aux fields and a valid checksum (round trip through the reader)', () => {
    expect(rdb.subarray(0, 9).toString('latin1')).to.equal('REDIS0009');
    const file = parseRdb(rdb);
    expect(file.version).to.equal(9);
    const aux = Object.fromEntries([...file.aux].map(([k, v]) => [k, v.toString('latin1')]));
    expect(aux).to.deep.equal({
      'redis-ver': '7.0.0',
      'redis-bits': '64',
      ctime: '1700000000',
      'used-mem': '1234',
      'repl-stream-db': '0',
      'repl-id': 'f'.repeat(40),
      'repl-offset': '77',
      'aof-base': '0',
    });
    expect(file.storedChecksum).to.not.equal(0n);
    expect(plain(canonOf(file.entries))).to.deep.equal(expected);
    const ttl = file.entries.find((e) => e.key.toString() === 'ttl:string');
    expect(ttl?.expireAt).to.equal(now + HOUR);
    expect(file.entries.find((e) => e.key.toString() === 'plain')?.expireAt).to.equal(null);
  });

  it('integer-encodes exactly the canonical int32 strings, like Redis', () => {
    const one = (v: string): Buffer =>
      writeRdbSync(staticSnapshot(new Map([[0, [{ key: 'k', type: 'string', value: Buffer.from(v), expireAt: null }]]])), OPTS);
    const sizeOf = (v: string): number => one(v).length - one('').length;
    expect(sizeOf('5')).to.equal(1); // 0xC0 + 1 byte vs 0x00
    expect(sizeOf('-129')).to.equal(2); // int16
    expect(sizeOf('2147483647')).to.equal(4); // int32
    expect(sizeOf('2147483648')).to.equal(10); // raw: 10 chars
    expect(sizeOf('007')).to.equal(3); // raw
    for (const v of ['5', '-129', '2147483647', '2147483648', '007', '-0']) {
      expect(parseRdb(one(v)).entries[0]!.value.toString()).to.equal(v);
    }
  });

  it('produces the same bytes synchronously, as async chunks and as a Readable, yielding to the event loop', async () => {
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    const parts: Buffer[] = [];
    for await (const c of rdbChunks(staticSnapshot(dbs), { ...OPTS, yieldEveryKeys: 4, chunkSize: 4096 })) parts.push(c);
    clearInterval(ticker);
    expect(Buffer.concat(parts).equals(rdb)).to.equal(true);
    expect(parts.length).to.be.greaterThan(10);
    expect(turns).to.be.greaterThan(0);
    const marks = [...rdbChunksSync(staticSnapshot(dbs), { ...OPTS, yieldEveryKeys: 10 })].filter((x) => x === YIELD_POINT);
    expect(marks.length).to.be.at.least(5);
    const file = join(dir, 'stream.rdb');
    await pipeline(rdbReadable(staticSnapshot(dbs), OPTS), createWriteStream(file));
    expect(readFileSync(file).equals(rdb)).to.equal(true);
  });

  describe('with the real Redis tools', () => {
    let redis: RedisProcess | null = null;
    let client: RespClient | null = null;

    before(async function () {
      if (!(await which('redis-check-rdb')) || !(await which('redis-server'))) {
        console.warn('redis-server/redis-check-rdb not installed: skipping real-Redis RDB tests');
        this.skip();
      }
    });
    after(async () => {
      client?.close();
      await redis?.stop();
    });

    it('passes redis-check-rdb', async () => {
      const file = join(dir, 'check.rdb');
      writeFileSync(file, rdb);
      const r = await run('redis-check-rdb', [file]);
      expect(r.stdout + r.stderr).to.match(/RDB looks OK/);
      expect(r.code).to.equal(0);
      const keys = Object.values(expected).reduce((n, db) => n + Object.keys(db).length, 0);
      expect(r.stdout).to.match(new RegExp(`${keys} keys read`));
    });

    it('loads into redis-server 7 with exactly the values and TTLs', async () => {
      const d = tempDir();
      writeFileSync(join(d, 'dump.rdb'), rdb);
      redis = await startRedis(['--dbfilename', 'dump.rdb'], d);
      client = await RespClient.connect(redis.port);
      const { canon, ttl } = await readRedis(client);
      expect(plain(canon)).to.deep.equal(expected);
      for (const [db, entries] of dbs) {
        for (const e of entries) {
          if (e.type === 'list' && Array.isArray(e.value) && e.value.length === 0) continue;
          const key = Buffer.isBuffer(e.key) ? e.key : Buffer.from(e.key, 'latin1');
          const pttl = ttl.get(`${db}:${key.toString('hex')}`);
          if (e.expireAt === null) expect(pttl, key.toString()).to.equal(-1);
          else {
            expect(pttl, key.toString()).to.be.within(e.expireAt - Date.now() - 5000, e.expireAt - now);
          }
        }
      }
      expect(await client.str('OBJECT', 'ENCODING', 'list:big')).to.equal('quicklist');
    });
  });
});
