import { expect } from 'chai';
import type { AddressInfo } from 'node:net';
import { BeamClient } from '../../src/client/beam-client.js';
import type { BeamMirror } from '../../src/client/sync-client.js';
import { createServer, type BeamServer } from '../../src/server/server.js';
import { replicationFor } from '../../src/server/replication.js';
import { RespClient, waitFor } from './helpers.js';

/**
 * A mirror applies the master's writes later than the master ran them (replication lag, a slow consumer, a busy
 * CPU) or with another clock. A key the master still holds may then be past its expiry on the mirror's clock;
 * the mirror must apply the master's writes to it as the master did (Redis: keys of a replica expire only by the
 * master's DEL), not expire it first. The master's clock runs LAG ms behind the mirror's here: that is the lag,
 * made deterministic.
 */
const LAG = 60_000;

describe('sync: the mirror applies writes to keys its own clock sees as expired', function () {
  this.timeout(20000);
  let server: BeamServer;
  let client: BeamClient;
  let mc: RespClient;
  let mirror: BeamMirror | null = null;

  beforeEach(async () => {
    server = createServer({ host: '127.0.0.1', port: 0, contextOptions: { now: () => Date.now() - LAG } });
    const port = ((await server.listen()) as AddressInfo).port;
    client = new BeamClient({ port });
    mc = await RespClient.connect(port);
  });
  afterEach(async () => {
    await mirror?.close();
    mirror = null;
    mc.close();
    await client.close();
    await server.close();
  });

  const caughtUp = () => waitFor('mirror caught up', async () => mirror!.offset === replicationFor(server.context!).feed.offset);

  it('writes in the stream to a key that expired on the mirror clock: APPEND then PERSIST keeps the old value', async () => {
    mirror = await client.sync();
    await mc.call('SET', 'k', 'old', 'PX', '5000'); // propagated as SET k old PXAT <master now + 5 s>: past for the mirror
    await mc.call('APPEND', 'k', '+new');
    await mc.call('PERSIST', 'k');
    await mc.call('RPUSH', 'l', 'a');
    await mc.call('PEXPIRE', 'l', '5000'); // PEXPIREAT in the mirror's past
    await mc.call('RPUSH', 'l', 'b');
    await mc.call('PERSIST', 'l');
    await caughtUp();
    expect(mirror.get('k')).to.deep.equal(Buffer.from('old+new'));
    expect(mirror.get('l')).to.deep.equal([Buffer.from('a'), Buffer.from('b')]);
    expect(mirror.stats.failedCommands).to.equal(0);
  });

  it('keys of the snapshot past their expiry on the mirror clock are loaded, and later writes apply to them', async () => {
    await mc.call('SET', 'k', 'old', 'PX', '5000');
    await mc.call('HSET', 'h', 'f', '1');
    await mc.call('PEXPIRE', 'h', '5000');
    mirror = await client.sync();
    expect(mirror.get('k'), 'expired on the mirror clock: not visible').to.equal(undefined);
    await mc.call('APPEND', 'k', '+new');
    await mc.call('PERSIST', 'k');
    await mc.call('HINCRBY', 'h', 'f', '2');
    await mc.call('PERSIST', 'h');
    await caughtUp();
    expect(mirror.get('k')).to.deep.equal(Buffer.from('old+new'));
    expect(mirror.get('h')).to.deep.equal(new Map([['f', Buffer.from('3')]]));
  });

  it('the master DEL of an expired key still removes it from the mirror', async () => {
    mirror = await client.sync();
    await mc.call('SET', 'gone', 'v', 'PX', '1');
    await caughtUp();
    // The master expires it on access (its clock passes 1 ms) and propagates DEL.
    await waitFor('expired on the master', async () => (await mc.call('EXISTS', 'gone')) === 0);
    await caughtUp();
    expect(mirror.context.dbs[0]!.data.has('gone')).to.equal(false);
  });
});
