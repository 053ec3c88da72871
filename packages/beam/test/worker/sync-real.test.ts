import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { BEAM_CLI, cli, startRedisServer, waitFor, type Server } from './harness.js';

describe('beam sync --url redis://... mirrors a real redis-server', function () {
  this.timeout(30_000);
  let redis: Server;
  before(async () => {
    // Redis delays a diskless full sync by 5 s by default, waiting for more replicas.
    redis = await startRedisServer(['--repl-diskless-sync-delay', '0']);
  });
  after(async () => {
    await redis?.stop();
  });

  it('prints the snapshot, then every later change, as a replica of Redis', async () => {
    await cli(redis.port, 'SET', 'before', 'one');
    await cli(redis.port, 'RPUSH', 'list', 'a', 'b');
    const proc = spawn(process.execPath, [BEAM_CLI, 'sync', '--url', `redis://127.0.0.1:${redis.port}`, '--snapshot'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor('the snapshot', async () => out.includes('"before"') && out.includes('"list"'));
      expect(out).to.match(/^0 snapshot "before" "one"$/m);
      expect(out).to.match(/^0 snapshot "list" \["a","b"\]$/m);
      await cli(redis.port, 'HSET', 'h', 'f', 'v');
      await cli(redis.port, 'SELECT', '0');
      await cli(redis.port, 'DEL', 'before');
      await waitFor('the changes', async () => /"h"/.test(out) && /"before"\s*$/m.test(out.split('\n').filter((l) => !l.includes('snapshot')).join('\n')));
      const live = out.split('\n').filter((l) => l !== '' && !l.includes(' snapshot '));
      expect(live.some((l) => /^0 \S+ "h" \{"f":"v"\}$/.test(l)), live.join('\n')).to.equal(true);
      expect(live.some((l) => /^0 \S+ "before"$/.test(l)), live.join('\n')).to.equal(true);
      // Redis lists the mirror as one of its replicas.
      expect(await cli(redis.port, 'INFO', 'replication')).to.match(/connected_slaves:1/);
    } finally {
      proc.kill('SIGKILL');
    }
  });
});
