import { expect } from 'chai';
import { GatewayClient } from '../../src/client/gateway-client.js';
import type { Gateway } from '../../src/gateway.js';
import { collect, liveMemory, testGateway } from './helpers.js';

describe('gateway e2e: concurrency and volume', function () {
  this.timeout(60000);
  let gw: Gateway;
  let client: GatewayClient;
  before(async () => {
    // Small context queues so that what the test measures is the gateway's and the client's own buffering.
    gw = await testGateway({ jobLimits: { maxQueuedOutputBytes: 1 << 20, maxQueuedInputBytes: 1 << 20 } });
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
    expect(gw.metrics.jobsFinished.get({ result: 'exited' })).to.be.at.least(100);
  });

  it('streams 100 MiB of output with bounded memory; a stalled reader stalls the job', async function () {
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
    await new Promise((r) => setTimeout(r, 600));
    const stalledAt = sent;
    const stalledMemory = liveMemory() - before;
    await new Promise((r) => setTimeout(r, 400));
    expect(sent - stalledAt, 'input kept flowing while output was not read').to.be.below(4 * 1024 * 1024);
    expect(stalledAt, 'data accepted while stalled').to.be.below(40 * 1024 * 1024);
    let peak = stalledMemory;
    const timer = setInterval(() => (peak = Math.max(peak, liveMemory() - before)), 100);
    const started = Date.now();
    let received = 0;
    let ok = true;
    job.stdout.on('data', (d: Buffer) => {
      received += d.length;
      if (d[0] !== 0x61 || d[d.length - 1] !== 0x61) ok = false;
    });
    const status = await job.exit;
    await new Promise((r) => (job.stdout.readableEnded ? r(null) : job.stdout.once('end', r)));
    clearInterval(timer);
    const ms = Date.now() - started;
    this.test!.title += ` (${Math.round(total / 1048576 / (ms / 1000))} MiB/s; stalled after ${Math.round(stalledAt / 1048576)} MiB; peak +${Math.round(peak / 1048576)} MiB live)`;
    expect(status).to.equal(0);
    expect(received).to.equal(total);
    expect(ok).to.equal(true);
    // Client, gateway and context share this process: live memory (after GC) stays well below the data size.
    expect(peak).to.be.below(48 * 1024 * 1024);
  });
});
