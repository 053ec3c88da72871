import { expect } from 'chai';
import { Context } from '../../src/context/context.js';
import { ReplicationMaster } from '../../src/server/replication.js';
import { parseRdb } from '../../src/sync/rdb-reader.js';
import { rdbChunks } from '../../src/sync/rdb-writer.js';
import { canonOf, plain } from './helpers.js';
import { canonOfContext } from './server-helpers.js';

const B = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('sync: copy-on-write snapshots of the real Context', () => {
  let ctx: Context;
  beforeEach(() => {
    ctx = new Context({ activeExpireInterval: 0 });
  });
  afterEach(() => ctx.close());

  it('the RDB equals the keyspace at capture while commands change containers in place', async () => {
    const c = ctx.createInternalClient();
    const call = (...a: string[]): unknown => ctx.call(c, a.map(B));
    for (let i = 0; i < 300; i++) {
      c.db = i % 3;
      call('RPUSH', `l${i}`, 'a', 'b', 'c');
      call('HSET', `h${i}`, 'f', String(i));
      call('SADD', `s${i}`, 'x', 'y');
      call('SET', `k${i}`, `v${i}`);
    }
    c.db = 0;
    call('PEXPIREAT', 'l0', String(Date.now() + 3_600_000));
    // A client blocked on an empty list, served (an in-place LMOVE) while the snapshot is written.
    const waiter = ctx.createInternalClient();
    const blocked = ctx.call(waiter, ['BLMOVE', 'empty', 'l3', 'LEFT', 'LEFT', '0'].map(B));
    expect(blocked).to.be.instanceOf(Promise);

    const before = plain(canonOfContext(ctx));
    const master = new ReplicationMaster(ctx);
    const snap = master.snapshot();
    expect(snap.mode).to.equal('cow');
    const parts: Buffer[] = [];
    let step = 0;
    for await (const chunk of rdbChunks(snap, { yieldEveryKeys: 5, chunkSize: 512 })) {
      parts.push(chunk);
      // Keys before and after the writer's position: in-place pushes/pops/sets, deletes, renames, new keys.
      for (const i of [step % 300, 299 - (step % 300), (step * 7) % 300]) {
        c.db = i % 3;
        call('RPUSH', `l${i}`, `new${step}`);
        call('LPOP', `l${i}`);
        call('HSET', `h${i}`, 'f', `changed${step}`, `g${step}`, 'x');
        call('SADD', `s${i}`, `z${step}`);
        call('SREM', `s${i}`, 'x');
        call('APPEND', `k${i}`, '+');
        call('SETRANGE', `k${i}`, '0', 'Z');
      }
      c.db = step % 3;
      call('DEL', `k${(step * 11) % 300}`);
      call('RENAME', `h${(step * 13) % 300}`, `renamed${step}`);
      call('SET', `fresh${step}`, 'new');
      if (step === 3) {
        c.db = 0;
        call('RPUSH', 'empty', 'served');
      }
      step++;
    }
    snap.release();
    expect(step).to.be.greaterThan(20);
    expect(await blocked).to.deep.equal(B('served'));
    const got = plain(canonOf(parseRdb(Buffer.concat(parts)).entries));
    expect(got).to.deep.equal(before);
    expect(plain(canonOfContext(ctx))).to.not.deep.equal(before);
  });

  it('drops its mutation hook once every captured container was written', async () => {
    const c = ctx.createInternalClient();
    ctx.call(c, ['RPUSH', 'l', 'a'].map(B));
    const master = new ReplicationMaster(ctx);
    const snap = master.snapshot();
    let preserved = 0;
    const orig = snap.beforeMutate.bind(snap);
    snap.beforeMutate = (x: object) => {
      preserved++;
      orig(x);
    };
    for await (const _ of rdbChunks(snap)) void _;
    ctx.call(c, ['RPUSH', 'l', 'b'].map(B));
    expect(preserved).to.equal(0);
    snap.release();
  });
});
