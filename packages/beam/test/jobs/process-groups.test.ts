import { expect } from 'chai';
import { OutQueue } from '../../src/jobs/out-queue.js';
import { Harness, until } from './harness.js';
import { groupMembers, hasProc, processAlive } from './proc.js';
import { BeamError } from '../../src/errors.js';

/** Pops stdout frames until a whole line is there: the pid a job's shell printed with `echo $$`. */
async function firstLine(h: Harness, id: number): Promise<number> {
  const reader = h.newClient();
  let text = '';
  while (!text.includes('\n')) {
    const r = (await h.on(reader, 'BLPOP', `/jobs/${id}/out`, '10')) as [string, string] | null;
    if (r === null) throw new Error(`job ${id} printed no line`);
    if (r[1].startsWith('1:')) text += r[1].slice(2);
  }
  return Number(text.slice(0, text.indexOf('\n')));
}

const gone = (pgid: number) => () => groupMembers(pgid).length === 0;

describe('jobs: process groups and signals', function () {
  this.timeout(20000);
  let h: Harness;
  before(function () {
    if (!hasProc) this.skip();
  });
  afterEach(async () => {
    await h?.close();
  });

  it('KILL ends the whole group: sh -c "sleep; echo" reports 137 and its sleep is gone', async () => {
    h = new Harness({ exec: ['sh'] });
    const id = await h.start('sh', ['sh', '-c', 'echo $$; sleep 101; echo done']);
    const pgid = await firstLine(h, id);
    expect(groupMembers(pgid).length).to.equal(2); // sh and sleep
    await h.cmd('RPUSH', `/jobs/${id}/signal`, 'KILL');
    const r = await h.collect(id);
    expect(r.status).to.equal(137);
    expect(r.stdout).to.equal('');
    await until(gone(pgid), 5000);
  });

  it('TERM reaches every process of the group and the status is 143', async () => {
    h = new Harness({ exec: ['sh'], killGraceMs: 10000 });
    const id = await h.start('sh', ['sh', '-c', 'echo $$; sleep 101 & sleep 102; echo done']);
    const pgid = await firstLine(h, id);
    await until(() => groupMembers(pgid).length === 3);
    const t0 = Date.now();
    await h.cmd('RPUSH', `/jobs/${id}/signal`, 'TERM');
    const r = await h.collect(id);
    expect(r.status).to.equal(143);
    expect(Date.now() - t0).to.be.below(5000); // not the 10 s grace
    await until(gone(pgid), 5000);
  });

  it('a group that ignores TERM is killed whole after the grace period: 137', async () => {
    h = new Harness({ exec: ['sh'], killGraceMs: 300 });
    const id = await h.start('sh', ['sh', '-c', 'trap "" TERM; echo $$; sleep 101; echo done']);
    const pgid = await firstLine(h, id);
    await h.cmd('RPUSH', `/jobs/${id}/signal`, 'TERM');
    expect((await h.collect(id)).status).to.equal(137);
    await until(gone(pgid), 5000);
  });

  it('processes the program left behind are killed when the job ends', async () => {
    h = new Harness({ exec: ['sh'] });
    const id = await h.start('sh', ['sh', '-c', 'sleep 101 </dev/null >/dev/null 2>&1 & echo $!']);
    const r = await h.collect(id);
    expect(r.status).to.equal(0);
    const pid = Number(r.stdout.trim());
    expect(pid).to.be.greaterThan(0);
    await until(() => !processAlive(pid), 5000);
  });

  it('background processes that keep the output open are part of the job until it ends', async () => {
    h = new Harness({ exec: ['sh'] });
    const id = await h.start('sh', ['sh', '-c', 'echo $$; (sleep 0.3; echo late) & exit 3']);
    const r = await h.collect(id);
    expect(r.status).to.equal(3);
    expect(r.stdout).to.match(/^[0-9]+\nlate\n$/);
  });

  it('a TERMed job whose output nobody reads reports 143 and its out list stays within both limits', async () => {
    const maxFrames = 40;
    const maxBytes = 50_000;
    h = new Harness({ exec: ['yes'], killGraceMs: 300, limits: { maxQueuedOutputFrames: maxFrames, maxQueuedOutputBytes: maxBytes, maxOutputFrameBytes: 4096 } });
    const id = await h.start('yes', ['yes']);
    const queued = async (): Promise<{ frames: number; bytes: number }> => {
      const list = (await h.cmd('LRANGE', `/jobs/${id}/out`, 0, -1)) as string[];
      return { frames: list.length, bytes: list.reduce((n, f) => n + Buffer.byteLength(f), 0) };
    };
    await until(async () => (await queued()).bytes >= maxBytes - 4096);
    const before = await queued();
    expect(before.frames).to.be.at.most(maxFrames - 2);
    expect(before.bytes).to.be.at.most(maxBytes - 4); // room kept for the close frames `1:` and `2:`
    await h.cmd('RPUSH', `/jobs/${id}/signal`, 'TERM');
    await until(async () => (await h.cmd('GET', `/jobs/${id}/status`)) !== null, 5000);
    expect(await h.cmd('GET', `/jobs/${id}/status`)).to.equal('143');
    const after = await queued();
    expect(after.frames).to.be.at.most(maxFrames);
    expect(after.bytes).to.be.at.most(maxBytes);
    const list = (await h.cmd('LRANGE', `/jobs/${id}/out`, -2, -1)) as string[];
    expect(list).to.deep.equal(['1:', '2:']);
  });

  it('engine.shutdown() TERMs every job and returns within the kill grace', async () => {
    h = new Harness({ exec: ['sh'], killGraceMs: 500 });
    const a = await h.start('sh', ['sh', '-c', 'echo $$; sleep 101']);
    const b = await h.start('sh', ['sh', '-c', 'trap "" TERM; echo $$; sleep 102']);
    const pa = await firstLine(h, a);
    const pb = await firstLine(h, b);
    const statuses = new Map<number, number>();
    h.engine.on('exit', (id: number, status: number) => statuses.set(id, status));
    const t0 = Date.now();
    await h.engine.shutdown();
    expect(Date.now() - t0).to.be.below(4000);
    expect(statuses.get(a)).to.equal(143);
    expect(statuses.get(b)).to.equal(137);
    await until(() => gone(pa)() && gone(pb)(), 5000);
  });
});

describe('jobs: OutQueue bounds', () => {
  function queue(maxFrames: number, maxBytes: number, maxFrameBytes = 1000) {
    const list: Buffer[] = [];
    const q = new OutQueue(
      {
        push: async (frames) => list.push(...frames),
        length: async () => list.length,
        sizes: async () => list.map((b) => b.length),
      },
      { maxFrames, maxBytes, maxFrameBytes },
    );
    const bytes = (): number => list.reduce((n, b) => n + b.length, 0);
    return { q, list, bytes };
  }

  it('never holds more than maxBytes, close frames included: the last data frame is cut to fit', async () => {
    const { q, list, bytes } = queue(100, 1000, 300);
    q.reserve(1);
    q.reserve(2);
    const w = q.write(1, Buffer.alloc(5000, 0x61));
    await until(() => bytes() >= 1000 - 4);
    expect(bytes()).to.equal(1000 - 4); // 2 bytes kept for each of `1:` and `2:`
    q.abort();
    await w.then(
      () => expect.fail('write went on after abort'),
      (e: Error) => expect(e.name).to.equal('OutQueueAborted'),
    );
    await q.close(1);
    await q.close(2);
    expect(bytes()).to.equal(1000);
    expect(list.slice(-2).map(String)).to.deep.equal(['1:', '2:']);
  });

  it('never holds more than maxFrames, close frames included', async () => {
    const { q, list } = queue(10, 100_000, 1);
    q.reserve(1);
    q.reserve(7);
    const w = q.write(1, Buffer.alloc(50, 0x61));
    await until(() => list.length >= 8);
    expect(list.length).to.equal(8);
    q.abort();
    await w.catch(() => {});
    await q.close(7);
    await q.close(1);
    expect(list.length).to.equal(10);
  });

  it('refuses to open a stream whose close frame would leave no room for data', () => {
    const { q } = queue(4, 1000);
    q.reserve(1);
    q.reserve(2);
    q.reserve(2); // already open: no-op
    q.reserve(3);
    expect(() => q.reserve(4)).to.throw(BeamError, /cannot open output stream 4/);
  });
});
