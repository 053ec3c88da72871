import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { hasRedisServer, RespConn, startRedis, words, type Parsed } from '../context/helpers.js';
import { startServer } from './helpers.js';
import type { BeamServer } from '../../src/server/server.js';

const CATEGORIES = ['keyspace', 'read', 'write', 'set', 'sortedset', 'list', 'hash', 'string', 'bitmap', 'hyperloglog',
  'geo', 'stream', 'pubsub', 'admin', 'fast', 'slow', 'blocking', 'dangerous', 'connection', 'transaction', 'scripting'];

describe('server: COMMAND COUNT / LIST FILTERBY agree with the command table (and with redis-server)', function () {
  this.timeout(30000);
  let server: BeamServer | undefined;
  let ours: RespConn;
  let redis: { proc: ChildProcess; port: number } | undefined;
  let theirs: RespConn | undefined;

  before(async () => {
    let port: number;
    ({ server, port } = await startServer());
    ours = await RespConn.connect(port);
    if (hasRedisServer()) {
      redis = await startRedis();
      theirs = await RespConn.connect(redis.port);
    }
  });
  after(async () => {
    ours.close();
    theirs?.close();
    redis?.proc.kill();
    await server?.close();
  });

  const list = async (c: RespConn, line: string): Promise<string[]> => ((await c.send(words(line))) as Parsed[]).map(String).sort();

  it('COMMAND COUNT is the number of COMMAND entries and of top-level COMMAND LIST names; FILTERBY PATTERN * is LIST', async () => {
    const count = (await ours.send(words('COMMAND COUNT'))) as number;
    const entries = (await ours.send(words('COMMAND'))) as Parsed[];
    const all = await list(ours, 'COMMAND LIST');
    expect(entries.length).to.equal(count);
    expect(all.filter((n) => !n.includes('|')).length).to.equal(count);
    expect(new Set(all).size).to.equal(all.length);
    expect(await list(ours, 'COMMAND LIST FILTERBY PATTERN *')).to.deep.equal(all);
    // Subcommands of containers that parse their own subcommands are listed too.
    for (const n of ['command|count', 'command|list', 'xinfo|stream', 'xgroup|create', 'config|get', 'client|tracking']) expect(all).to.include(n);
    // Every command is @fast or @slow, and the two do not overlap.
    const fast = await list(ours, 'COMMAND LIST FILTERBY ACLCAT fast');
    const slow = await list(ours, 'COMMAND LIST FILTERBY ACLCAT slow');
    expect([...fast, ...slow].sort()).to.deep.equal(all);
    expect(await list(ours, 'COMMAND LIST FILTERBY MODULE json')).to.deep.equal([]);
    expect(await list(ours, 'COMMAND LIST FILTERBY ACLCAT nosuchcategory')).to.deep.equal([]);
    expect(await list(ours, 'COMMAND LIST FILTERBY PATTERN CLIENT|TRACK*')).to.deep.equal(['client|tracking', 'client|trackinginfo']);
  });

  it('FILTERBY ACLCAT selects the same commands as redis-server 7.0.15, among those Beam has', async function () {
    if (theirs === undefined) {
      this.skip(); // redis-server is not installed: nothing to compare against
      return;
    }
    const ourAll = new Set(await list(ours, 'COMMAND LIST'));
    const theirAll = new Set(await list(theirs, 'COMMAND LIST'));
    for (const cat of CATEGORIES) {
      const o = await list(ours, `COMMAND LIST FILTERBY ACLCAT ${cat}`);
      const t = await list(theirs, `COMMAND LIST FILTERBY ACLCAT ${cat}`);
      expect(o.filter((n) => theirAll.has(n)), cat).to.deep.equal(t.filter((n) => ourAll.has(n)));
    }
  });
});
