/**
 * The `--trace` sample of docs/beep.md is what `beep connect --trace` prints against `beep listen` with its default
 * profiles: the same frame headers (the order of `<` and `>` lines may vary between runs) and the same reply.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runBeep, startListen, type ListenProcess } from '../cli/cli-helpers.js';

// dist/test/docs -> repo root
const DOC = fileURLToPath(new URL('../../../../../docs/beep.md', import.meta.url));

function sample(): { args: string[]; frames: string[]; output: string[] } {
  const md = readFileSync(DOC, 'utf8');
  const m = /```\n\$ beep connect (\S+) (.*?--trace)[^\n]*\n([\s\S]*?)```/.exec(md);
  if (m === null) throw new Error('no --trace sample in docs/beep.md');
  const lines = (m[3] as string).split('\n').filter((l) => l !== '');
  return {
    args: (m[2] as string).split(' '),
    frames: lines.filter((l) => /^[<>] /.test(l)),
    output: lines.filter((l) => !/^[<>] /.test(l)),
  };
}

describe('docs/beep.md: the --trace sample', function () {
  this.timeout(30_000);
  let listen: ListenProcess | undefined;

  after(async () => {
    await listen?.stop();
  });

  it('matches what beep connect --trace prints', async () => {
    const doc = sample();
    const { proc, port } = await startListen();
    listen = proc;
    const r = await runBeep(['connect', `127.0.0.1:${port}`, ...doc.args]);
    expect(r.code, r.stderr).to.equal(0);
    const frames = r.stderr.split('\n').filter((l) => /^[<>] /.test(l));
    expect([...frames].sort()).to.deep.equal([...doc.frames].sort());
    expect(r.stdout.toString('utf8').split('\n').filter((l) => l !== '')).to.deep.equal(doc.output);
  });
});
