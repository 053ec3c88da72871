import { expect } from 'chai';
import { errorText, Harness, turn, until } from './harness.js';
import type { JobHandler } from '../../src/jobs/handler.js';

/** Writes n chunks of `size` bytes, honouring write() back-pressure. */
function producer(n: number, size: number): JobHandler {
  return async (job) => {
    const chunk = Buffer.alloc(size, 0x61);
    for (let i = 0; i < n; i++) {
      if (!job.stdout.write(chunk)) await new Promise((r) => job.stdout.once('drain', r));
    }
    return 0;
  };
}

describe('jobs: back-pressure', function () {
  this.timeout(30000);
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  it('a job producing 100k frames with nobody reading keeps /jobs/$id/out within the limit', async () => {
    const maxFrames = 200;
    h = new Harness({
      handlers: { flood: producer(100_000, 8) },
      limits: { maxQueuedOutputFrames: maxFrames, maxOutputFrameBytes: 8, streamHighWaterMark: 64 },
    });
    const id = await h.start('flood');
    // Two frames stay free for the close frames of streams 1 and 2.
    await until(async () => (await h.cmd('LLEN', `/jobs/${id}/out`)) === maxFrames - 2);
    expect(await h.cmd('LLEN', `/jobs/${id}/out`)).to.equal(maxFrames - 2);
    expect(h.engine.activeJobs()).to.deep.equal([id]);

    // Drain everything; the job then finishes with all 800k bytes delivered in order.
    let bytes = 0;
    let frames = 0;
    let maxSeen = 0;
    const reader = h.newClient();
    for (;;) {
      const len = (await h.on(reader, 'LLEN', `/jobs/${id}/out`)) as number;
      maxSeen = Math.max(maxSeen, len);
      const batch = (await h.on(reader, 'LPOP', `/jobs/${id}/out`, 500)) as string[] | null;
      if (!Array.isArray(batch)) {
        if ((await h.on(reader, 'GET', `/jobs/${id}/status`)) !== null) break;
        await turn();
        continue;
      }
      for (const f of batch) {
        frames++;
        if (f.startsWith('1:')) bytes += f.length - 2;
      }
    }
    expect(bytes).to.equal(800_000);
    expect(frames).to.equal(100_000 + 2);
    expect(maxSeen).to.be.at.most(maxFrames - 2);
    expect(await h.cmd('GET', `/jobs/${id}/status`)).to.equal('0');
  });

  it('limits queued output bytes too, and coalesces small writes into frames', async () => {
    h = new Harness({
      handlers: { flood: producer(10_000, 100) },
      limits: { maxQueuedOutputBytes: 50_000, maxOutputFrameBytes: 4096, streamHighWaterMark: 16384 },
    });
    const id = await h.start('flood');
    // Filled exactly: the last frame is cut to the room left beside the two close frames' 4 bytes.
    await until(async () => ((await h.cmd('LRANGE', `/jobs/${id}/out`, 0, -1)) as string[]).join('').length >= 50_000 - 4);
    const queued = ((await h.cmd('LRANGE', `/jobs/${id}/out`, 0, -1)) as string[]).reduce((n, f) => n + f.length, 0);
    expect(queued).to.equal(50_000 - 4);
    const r = await h.collect(id);
    expect(r.stdout.length).to.equal(1_000_000);
    expect(r.frames.length).to.be.below(10_000 / 4);
  });

  it('input: a job that does not read gets its input queue refused when full', async () => {
    h = new Harness({
      handlers: { deaf: () => new Promise<number>(() => {}) },
      limits: { maxQueuedInputFrames: 10, streamHighWaterMark: 16 },
    });
    const id = await h.start('deaf');
    let refused = '';
    for (let i = 0; i < 100 && !refused; i++) {
      const r = await h.cmd('RPUSH', `/jobs/${id}/in`, `0:${'x'.repeat(16)}`);
      if (typeof r !== 'number') refused = errorText(r);
    }
    expect(refused).to.match(/input queue full/);
    expect(await h.cmd('LLEN', `/jobs/${id}/in`)).to.be.at.most(10);
  });

  it('input: cat streams 2 MB through small queues', async () => {
    h = new Harness({ limits: { maxQueuedOutputFrames: 16, streamHighWaterMark: 1024 } });
    const id = await h.start('cat');
    const reading = h.collect(id);
    const piece = 'y'.repeat(4096);
    let sent = 0;
    while (sent < 2_000_000) {
      const r = await h.cmd('RPUSH', `/jobs/${id}/in`, `0:${piece}`);
      if (typeof r !== 'number') {
        await turn(); // refused (queue full): let the job read, then retry
        continue;
      }
      sent += piece.length;
      if (r > 32) await turn();
    }
    await h.cmd('RPUSH', `/jobs/${id}/in`, '0:');
    const out = await reading;
    expect(out.stdout.length).to.equal(sent);
    expect(out.status).to.equal(0);
  });
});
