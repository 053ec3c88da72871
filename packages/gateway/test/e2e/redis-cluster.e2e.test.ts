import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { Cluster } from 'ioredis';
import { cli, run, startCluster, waitFor, type RedisCluster } from '@beamgate/beam/testing';
import { GatewayClient } from '../../src/client/gateway-client.js';
import { PeerReplyError } from '../../src/errors.js';
import type { Gateway } from '../../src/gateway.js';
import { collect, testGateway } from './helpers.js';
import { cliPath } from './processes.js';

/** `beam worker --cluster` children, each ready once it logged 'worker ready'. */
async function spawnWorker(args: string[]): Promise<ChildProcess> {
  const p = spawn(process.execPath, [cliPath('beam')!, 'worker', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    p.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('"worker ready"')) resolve();
    });
    p.once('exit', (code) => reject(new Error(`beam worker exited ${code}: ${log}`)));
  });
  return p;
}

describe('gateway e2e: a three-master Redis Cluster with beam workers', function () {
  this.timeout(90_000);
  let cluster: RedisCluster;
  const workers: ChildProcess[] = [];
  const gateways: Gateway[] = [];
  let client: GatewayClient | undefined;
  let seed = 0;

  before(async () => {
    cluster = await startCluster(3);
    seed = cluster.nodes[0]!.port;
    const url = `redis://127.0.0.1:${seed}`;
    workers.push(...(await Promise.all([spawnWorker(['--cluster', '--context', url]), spawnWorker(['--cluster', '--context', url])])));
    const context = { kind: 'remote' as const, url, host: '127.0.0.1', port: seed, db: 0, cluster: true as const };
    // Two gateways share the cluster: one only relays, the other runs a worker of its own that may exec `true`.
    gateways.push(await testGateway({ context }), await testGateway({ context, worker: true, exec: ['true'] }));
    client = await GatewayClient.connect({ host: '127.0.0.1', port: gateways[0]!.beepAddress.port });
  });

  after(async () => {
    await client?.close().catch(() => {});
    await Promise.all(gateways.map((g) => g.close(1000)));
    for (const w of workers) w.kill('SIGKILL');
    await cluster?.stop();
  });

  it("runs the README's job through redis-cli -c, its keys spread over the masters' slots", async () => {
    const c = (...args: string[]): Promise<string> => run('redis-cli', ['-c', '-p', String(seed), ...args]).then((r) => r.stdout.trim());
    const id = Number(await c('RPUSH', '/jobs', 'echo')) - 1;
    const slots = await Promise.all(['/jobs', `/jobs/${id}`, `/jobs/${id}/args`, `/jobs/${id}/out`, `/jobs/${id}/wait`].map((k) => cli(seed, 'CLUSTER', 'KEYSLOT', k)));
    expect(new Set(slots).size).to.be.greaterThan(2);
    expect(await c('RPUSH', `/jobs/${id}/args`, 'echo', 'hi', 'there')).to.equal('3');
    expect(await c('SET', `/jobs/${id}`, '')).to.equal('OK');
    expect(await c('BLPOP', `/jobs/${id}/wait`, '10')).to.equal(`/jobs/${id}/wait\n0`);
    expect(await c('LRANGE', `/jobs/${id}/out`, '0', '-1')).to.equal('1:hi there\n\n1:\n2:');
    expect(await c('GET', `/jobs/${id}/status`)).to.equal('0');
  });

  it('runs BEEP jobs end to end through a gateway over the cluster, many at once', async () => {
    const job = await client!.run(['cat'], { stdin: 'through the cluster\n' });
    const [out, status] = await Promise.all([collect(job.stdout), job.exit]);
    expect(out.toString()).to.equal('through the cluster\n');
    expect(status).to.equal(0);
    const many = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const j = await client!.run(['echo', `n${i}`]);
        const [o, s] = await Promise.all([collect(j.stdout), j.exit]);
        return `${o.toString().trim()}:${s}`;
      }),
    );
    expect(many).to.deep.equal(Array.from({ length: 20 }, (_, i) => `n${i}:0`));
  });

  it('takes 550 and 537 from the catalogs the workers publish; exec runs where a worker allows it', async () => {
    const unknown = await client!.run(['nosuch']).then(() => undefined, (x: unknown) => x);
    expect((unknown as PeerReplyError).replyCode).to.equal(550);
    const forbidden = await client!.run(['exec', 'rm', '-rf', '/']).then(() => undefined, (x: unknown) => x);
    expect((forbidden as PeerReplyError).replyCode).to.equal(537);
    // Only the second gateway's worker allows `true`: the other workers leave the job to it.
    for (let i = 0; i < 4; i++) {
      const ok = await client!.run(['exec', 'true'], { stdin: '' });
      expect(await ok.exit).to.equal(0);
    }
  });

  it('cluster clients see the workers in /beam/workers and job claims under /beam/claim', async () => {
    const r = new Cluster([{ host: '127.0.0.1', port: seed }]);
    try {
      await waitFor('three live workers', async () => (await r.zcard('/beam/workers')) === 3);
      expect(await r.get('/beam/claim/0')).to.match(/^done:/);
    } finally {
      r.disconnect();
    }
  });
});
