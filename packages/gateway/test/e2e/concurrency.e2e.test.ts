import { expect } from 'chai';
import { DEFAULT_JOB_LIMITS } from '@beamgate/beam';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { DEFAULT_LIMITS } from '../../src/config.js';
import type { Gateway } from '../../src/gateway.js';
import { metricValue } from '../../src/metrics.js';
import { collect, liveMemory, testGateway } from './helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** Job engine limits of this suite's gateway: small context queues, so that the bound below is mostly the gateway's. */
const JOB_LIMITS = { maxQueuedOutputBytes: MiB, maxQueuedInputBytes: MiB };

/**
 * What one `cat` job streaming through client, gateway and context may hold at once, from the configured limits
 * (the others are their defaults). Input, from the test's stdin to the job:
 *   stdin Readable: one 256 KiB chunk buffered + one being sent ................................  512 KiB
 *   client input reply: sendHighWater 64 KiB + one ANS (the client cuts input into 64 KiB ANS) ..  128 KiB
 *   gateway receive: window 64 KiB + one reassembled ANS 64 KiB + one frame pushed 64 KiB .........  192 KiB
 *   /jobs/$id/in: maxQueuedInputBytes + one 64 KiB frame ...................................... 1088 KiB
 *   job input Readable and cat's output Writable: 2 x (streamHighWaterMark 64 KiB + one frame) ...  256 KiB
 * Output, from the job to the test's stdout listener:
 *   /jobs/$id/out: maxQueuedOutputBytes + one maxOutputFrameBytes (64 KiB) frame ................ 1088 KiB
 *   gateway relay: one BLPOP + LPOP batch of 16 frames popped, 17 x 64 KiB .................... 1088 KiB
 *   gateway send queue: outputHighWater 256 KiB + one ANS 64 KiB .................................  320 KiB
 *   socket writes, both directions: one flush each, 256 KiB budget + one maxSendFrame 256 KiB .... 1024 KiB
 *   client receive: window 1 MiB + one 256 KiB frame being reassembled ........................ 1280 KiB
 *   stdout Readable: highWaterMark 16 KiB + one 64 KiB chunk .....................................   80 KiB
 * That is about 6.8 MiB of data. Twice that covers copies caught in flight (a frame and the buffer it is being
 * copied into) and 8 MiB more the heap's own growth (code, objects, Buffer pool slabs): ~21.5 MiB, against
 * 100 MiB streamed. A stage that ignored back-pressure would exceed it by the data size, not by a few MiB.
 */
function memoryBound(): number {
  const lim = { ...DEFAULT_JOB_LIMITS, ...JOB_LIMITS };
  const frame = lim.maxOutputFrameBytes;
  const gw = DEFAULT_LIMITS;
  const input = 2 * 256 * KiB + (64 + 64) * KiB + 3 * 64 * KiB + (lim.maxQueuedInputBytes + frame) + 2 * (lim.streamHighWaterMark + frame);
  const output =
    lim.maxQueuedOutputBytes + frame + 17 * frame + (gw.outputHighWater + frame) + 2 * (256 * KiB + gw.maxSendFrame) + (MiB + gw.maxSendFrame) + 16 * KiB + frame;
  return 2 * (input + output) + 8 * MiB;
}

describe('gateway e2e: concurrency and volume', function () {
  this.timeout(60000);
  let gw: Gateway;
  let client: GatewayClient;
  before(async () => {
    // Small context queues so that what the test measures is the gateway's and the client's own buffering.
    // 100 jobs on one session: above the default per-session quota (64), which quotas.e2e.test.ts covers.
    gw = await testGateway({ jobLimits: JOB_LIMITS, limits: { maxJobsPerSession: 100 } });
    client = await GatewayClient.connect({ host: '127.0.0.1', port: gw.beepAddress.port });
  });
  after(async () => {
    await client?.close().catch(() => {});
    await gw?.close(1000);
  });

  it('runs 100 concurrent jobs on one session, one channel each', async () => {
    const runs = Array.from({ length: 100 }, async (_, i) => {
      const job = await client.run(['cat'], { stdin: `job ${i}\n`.repeat(50) });
      const [out, status] = await Promise.all([collect(job.stdout), job.exit]);
      return { i, out: out.toString(), status };
    });
    const results = await Promise.all(runs);
    for (const r of results) {
      expect(r.status).to.equal(0);
      expect(r.out).to.equal(`job ${r.i}\n`.repeat(50));
    }
    expect(await metricValue(gw.metrics.jobsFinished, { result: 'exited' })).to.be.at.least(100);
  });

  it('streams 100 MiB of output with bounded memory; a stalled reader stalls the job', async function () {
    // Two full GCs every 100 ms (liveMemory) make this slow on a loaded machine: 2 MiB/s at load 20.
    this.timeout(180000);
    const total = 100 * 1024 * 1024;
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    let sent = 0;
    const { Readable } = await import('node:stream');
    const stdin = new Readable({
      read() {
        if (sent >= total) this.push(null);
        else {
          sent += chunk.length;
          this.push(chunk);
        }
      },
    });
    const before = liveMemory();
    const job = await client.run(['cat'], { stdin });
    // Nobody reads stdout for a while: back-pressure must reach the writer of stdin through
    // the client, BEEP, the gateway, the context and the job.
    // Poll (with a deadline) until stdin is no longer read: no progress over three polls.
    const deadline = Date.now() + 30000;
    for (let still = 0, last = -1; still < 3; ) {
      if (Date.now() > deadline) throw new Error(`input never stalled (${sent} bytes sent)`);
      await new Promise((r) => setTimeout(r, 100));
      still = sent === last ? still + 1 : 0;
      last = sent;
    }
    const stalledAt = sent;
    const stalledMemory = liveMemory() - before;
    for (let k = 0; k < 100; k++) await new Promise((r) => setImmediate(r));
    expect(sent - stalledAt, 'input kept flowing while output was not read').to.be.below(4 * 1024 * 1024);
    expect(stalledAt, 'data accepted while stalled').to.be.below(40 * 1024 * 1024);
    let peak = stalledMemory;
    // Sample at most every 100 ms and let the job run at least four times as long as a sample's forced GCs took:
    // with a heap grown by the tests before this one, back-to-back full GCs would otherwise starve the stream.
    let timer: NodeJS.Timeout;
    const sample = (): void => {
      const t0 = Date.now();
      peak = Math.max(peak, liveMemory() - before);
      timer = setTimeout(sample, Math.max(100, 4 * (Date.now() - t0)));
    };
    timer = setTimeout(sample, 100);
    const started = Date.now();
    let received = 0;
    let ok = true;
    job.stdout.on('data', (d: Buffer) => {
      received += d.length;
      if (d[0] !== 0x61 || d[d.length - 1] !== 0x61) ok = false;
    });
    const status = await job.exit;
    await new Promise((r) => (job.stdout.readableEnded ? r(null) : job.stdout.once('end', r)));
    clearTimeout(timer);
    const ms = Date.now() - started;
    this.test!.title += ` (${Math.round(total / 1048576 / (ms / 1000))} MiB/s; stalled after ${Math.round(stalledAt / 1048576)} MiB; peak +${Math.round(peak / 1048576)} MiB live, bound ${Math.round(memoryBound() / 1048576)} MiB)`;
    expect(status).to.equal(0);
    expect(received).to.equal(total);
    expect(ok).to.equal(true);
    // Client, gateway and context share this process: live memory (after GC) is bounded by the configured windows
    // and queue limits, whatever the data size and the timing.
    expect(peak).to.be.below(memoryBound());
  });
});
