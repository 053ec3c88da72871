import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { BeamClient } from '../../src/client/beam-client.js';
import { until } from '../jobs/harness.js';
import { groupMembers, hasProc } from '../jobs/proc.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Starts `sh -c SCRIPT` on the server; resolves to the pid the script printed first (`echo $$`: its group). */
async function startShell(client: BeamClient, script: string): Promise<number> {
  const job = await client.run(['sh', '-c', `echo $$; ${script}`]);
  let text = '';
  for await (const chunk of job.stdout) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return Number(text.slice(0, text.indexOf('\n')));
}

/** `beam serve --exec sh --kill-grace-ms GRACE` on a free port. */
async function serve(grace: string): Promise<{ child: ChildProcess; port: number; log: () => string }> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--exec', 'sh', '--kill-grace-ms', grace], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /"port":(\d+)/.exec(log);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', () => reject(new Error(`serve exited: ${log}`)));
  });
  return { child, port, log: () => log };
}

describe('cli: beam serve ends every job on SIGTERM', function () {
  this.timeout(30000);
  let child: ChildProcess | undefined;
  let client: BeamClient | undefined;
  before(function () {
    if (!hasProc) this.skip();
  });
  afterEach(async () => {
    await client?.close().catch(() => {});
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it('TERMs every job group, kills what is left after --kill-grace-ms, and exits 0', async () => {
    const s = await serve('700');
    child = s.child;
    const port = s.port;
    client = await new BeamClient({ host: '127.0.0.1', port }).connect();
    // One job dies of TERM; one ignores it (and so does its sleep): the grace period ends it.
    const polite = await startShell(client, 'sleep 101; echo done');
    const stubborn = await startShell(client, 'trap "" TERM; sleep 102; echo done');
    expect(groupMembers(polite)).to.have.length(2);
    expect(groupMembers(stubborn)).to.have.length(2);
    const t0 = Date.now();
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    const took = Date.now() - t0;
    expect(code).to.equal(0);
    expect(took).to.be.at.least(600); // the stubborn job had its grace period
    expect(took).to.be.below(10000);
    await until(() => groupMembers(polite).length === 0 && groupMembers(stubborn).length === 0, 5000);
    const exits = s
      .log()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; status?: number })
      .filter((l) => l.msg === 'job exit')
      .map((l) => l.status)
      .sort();
    expect(exits).to.deep.equal([137, 143]);
  });

  it('a second SIGTERM kills every job group at once and exits 1', async () => {
    const s = await serve('60000');
    child = s.child;
    const port = s.port;
    client = await new BeamClient({ host: '127.0.0.1', port }).connect();
    const pgid = await startShell(client, 'trap "" TERM; sleep 103');
    child.kill('SIGTERM');
    await until(() => s.log().includes('"shutting down"'), 5000);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).to.equal(1);
    await until(() => groupMembers(pgid).length === 0, 5000);
  });
});
