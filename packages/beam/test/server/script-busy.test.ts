import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { Buffer } from 'node:buffer';
import { fileURLToPath } from 'node:url';
import { RespConn, words } from '../context/helpers.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/**
 * Scripts past busy-reply-threshold. The server runs in a child process: a busy script holds its event loop, which
 * in-process would also stop the test's own clients.
 */
describe('scripting: BUSY replies, SCRIPT KILL, FUNCTION KILL, SHUTDOWN NOSAVE', function () {
  this.timeout(30000);
  let child: ChildProcess | undefined;
  let port = 0;
  const conns: RespConn[] = [];

  beforeEach(async () => {
    const c = spawn(process.execPath, [MAIN, 'serve', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    let log = '';
    port = await new Promise<number>((resolve, reject) => {
      c.stderr!.on('data', (d: Buffer) => {
        log += d.toString();
        const m = /"port":(\d+)/.exec(log);
        if (m) resolve(Number(m[1]));
      });
      c.once('exit', () => reject(new Error(`serve exited: ${log}`)));
    });
  });

  afterEach(() => {
    for (const c of conns.splice(0)) c.close();
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  async function conn(): Promise<RespConn> {
    const c = await RespConn.connect(port);
    conns.push(c);
    return c;
  }

  /** Sends PING on `c` until it answers BUSY (the script is past busy-reply-threshold), with a deadline. */
  async function untilBusy(c: RespConn): Promise<string> {
    const deadline = Date.now() + 10000;
    for (;;) {
      const r = await c.send(words('PING'));
      if (typeof r === 'object' && r !== null && 'err' in r) return (r as { err: string }).err;
      if (Date.now() > deadline) throw new Error('the script never became busy');
    }
  }

  it('answers BUSY to other clients past busy-reply-threshold; SCRIPT KILL stops a script that has not written, even in pcall', async () => {
    const runner = await conn();
    const other = await conn();
    expect(await other.send(words('CONFIG SET busy-reply-threshold 20'))).to.deep.equal({ simple: 'OK' });
    expect(await other.send(words('SCRIPT KILL'))).to.deep.equal({ err: 'NOTBUSY No scripts in execution right now.' });
    const pending = runner.send(words('EVAL "local f = function() while 1 do redis.call(\'ping\') end end while 1 do pcall(f) end" 0'));
    expect(await untilBusy(other)).to.equal('BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.');
    // Commands flagged allow-busy still run; FUNCTION KILL refuses an EVAL script.
    expect(await other.send(words('FUNCTION KILL'))).to.deep.equal({ err: 'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.' });
    expect(await other.send(words('MULTI'))).to.deep.equal({ simple: 'OK' });
    expect(await other.send(words('DISCARD'))).to.deep.equal({ simple: 'OK' });
    expect(await other.send(words('SCRIPT KILL'))).to.deep.equal({ simple: 'OK' });
    expect(((await pending) as { err: string }).err).to.match(/^ERR Script killed by user with SCRIPT KILL\.\.\./);
    expect(await other.send(words('PING'))).to.deep.equal({ simple: 'PONG' });
    expect(await runner.send(words('PING'))).to.deep.equal({ simple: 'PONG' });
  });

  it('FUNCTION KILL stops a busy function; a script that wrote is UNKILLABLE and only SHUTDOWN NOSAVE ends it', async () => {
    const runner = await conn();
    const other = await conn();
    await other.send(words('CONFIG SET busy-reply-threshold 20'));
    await other.send(['FUNCTION', 'LOAD', "#!lua name=spin\nredis.register_function('spin', function() while true do end end)"].map((w) => Buffer.from(w)));
    const fn = runner.send(words('FCALL spin 0'));
    expect(await untilBusy(other)).to.match(/^BUSY .* FUNCTION KILL or SHUTDOWN NOSAVE\.$/);
    const stats = await other.send(words('FUNCTION STATS')) as unknown[];
    expect(stats[0]).to.equal('running_script');
    expect((stats[1] as unknown[]).slice(0, 4)).to.deep.equal(['name', 'spin', 'command', ['FCALL', 'spin', '0']]);
    expect(await other.send(words('FUNCTION KILL'))).to.deep.equal({ simple: 'OK' });
    expect(((await fn) as { err: string }).err).to.match(/killed by user/);

    const wrote = runner.send(words('EVAL "redis.call(\'set\',\'w\',\'1\') while true do end" 0'));
    void wrote.catch(() => undefined);
    await untilBusy(other);
    expect((await other.send(words('SCRIPT KILL')) as { err: string }).err).to.match(/^UNKILLABLE Sorry the script already executed write commands/);
    expect((await other.send(words('SHUTDOWN SAVE')) as { err: string }).err).to.match(/^BUSY /);
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    void other.send(words('SHUTDOWN NOSAVE')).catch(() => undefined);
    expect(await exited).to.equal(0);
  });

});
