import { expect } from 'chai';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { connect } from '@beamgate/beep';
import type { JobHandler } from '@beamgate/beam';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { loadConfig } from '../../src/config.js';
import type { Gateway } from '../../src/gateway.js';
import { classifyAnswer, entityFromPairs } from '../../src/wire/entity.js';
import { buildJob, JOB_PROFILE_URI, RUN_XML, BEEP_XML_CONTENT_TYPE } from '../../src/wire/job-xml.js';
import { collect, testGateway } from './helpers.js';

/** Deterministic bytes: chunk i of a stream is `size` octets derived from (stream, i). */
function chunkOf(stream: number, i: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let k = 0; k < size; k++) b[k] = (stream * 31 + i * 7 + k * 13) & 0xff;
  return b;
}

/** Sizes written in turn to streams 1 and 2: tiny, small, large (over the merge limit) and odd. */
const SIZES = [1, 3, 100, 5000, 9000, 70_000, 200_000, 2, 8191, 8192, 64 * 1024, 7];

async function write(w: Writable, data: Buffer): Promise<void> {
  if (!w.write(data)) await once(w, 'drain');
}

const mixed: JobHandler = async (job) => {
  for (let i = 0; i < SIZES.length; i++) {
    await write(job.stdout, chunkOf(1, i, SIZES[i]!));
    await write(job.stderr, chunkOf(2, i, SIZES[SIZES.length - 1 - i]!));
  }
  return 3;
};

function expected(stream: number): Buffer {
  const sizes = stream === 1 ? SIZES : [...SIZES].reverse();
  return Buffer.concat(sizes.map((n, i) => chunkOf(stream, i, n)));
}

describe('gateway e2e: output relay (merged small data, large data by reference)', function () {
  this.timeout(20000);
  let gw: Gateway | undefined;
  afterEach(async () => {
    await gw?.close(1000);
    gw = undefined;
  });

  it('relays interleaved small and large writes of two streams byte for byte', async () => {
    gw = await testGateway({ handlers: { mixed } });
    const client = await GatewayClient.connect({ host: '127.0.0.1', port: gw.beepAddress.port });
    try {
      for (const startEarly of [true, false]) {
        const job = await client.run(['mixed'], { startEarly });
        const [out, err, status] = await Promise.all([collect(job.stdout), collect(job.stderr), job.exit]);
        expect(status).to.equal(3);
        expect(out.equals(expected(1)), 'stdout').to.equal(true);
        expect(err.equals(expected(2)), 'stderr').to.equal(true);
      }
    } finally {
      await client.close();
    }
  });

  it('keeps every data ANS non-empty and of one stream, with small frames and a small peer window', async () => {
    gw = await testGateway({ handlers: { mixed }, limits: { maxSendFrame: 4096 } });
    // A plain BEEP peer with the default 64 KiB window (not GatewayClient's 1 MiB).
    const session = await connect({ host: '127.0.0.1', port: gw.beepAddress.port });
    try {
      const spec = buildJob({ name: 'mixed', args: [Buffer.from('mixed')], env: [], detach: false, input: false, early: false });
      const channel = await session.startChannel(JOB_PROFILE_URI, { content: spec, encoding: 'none' });
      const got = new Map<number, Buffer[]>([[1, []], [2, []]]);
      const closed: number[] = [];
      let exit: string | undefined;
      for await (const ans of channel.requestMany(RUN_XML, { contentType: BEEP_XML_CONTENT_TYPE })) {
        const what = classifyAnswer(entityFromPairs(ans.entity.headers, ans.payload));
        if (what.kind === 'data') {
          expect(what.data.length).to.be.above(0);
          got.get(what.stream)!.push(what.data);
        } else if (what.kind === 'close') closed.push(what.stream);
        else exit = what.body.toString();
      }
      expect(Buffer.concat(got.get(1)!).equals(expected(1)), 'stream 1').to.equal(true);
      expect(Buffer.concat(got.get(2)!).equals(expected(2)), 'stream 2').to.equal(true);
      // Large writes were not glued to their neighbours: a 200 000-octet write arrives in pieces of at most a
      // context frame (64 KiB), never merged with the small data around it.
      expect(Math.max(...got.get(1)!.map((b) => b.length))).to.be.at.most(64 * 1024);
      expect(closed).to.deep.equal([1, 2]);
      expect(exit).to.contain("status='3'");
      await channel.close();
    } finally {
      await session.close().catch(() => session.destroy());
    }
  });

  it('reads the maxSendFrame limit from the configuration file', () => {
    const c = loadConfig({ flags: { config: '/g.json' }, env: {}, readFile: () => '{"limits":{"maxSendFrame":65536}}' });
    expect(c.limits.maxSendFrame).to.equal(65536);
  });
});
