/** Spawn the built `beep` CLI (dist/src/cli/main.js) for the CLI tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** dist/test/cli/ -> dist/src/cli/main.js */
export const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Run `beep ...args` to completion, optionally writing `input` to its stdin. */
export function runBeep(args: string[], input?: Buffer): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

export interface LogLine {
  msg: string;
  [k: string]: unknown;
}

/** A running `beep listen`, with its parsed JSON log lines. */
export class ListenProcess {
  readonly lines: LogLine[] = [];
  readonly exited: Promise<number | null>;
  private buf = '';
  private waiters: Array<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];

  constructor(readonly child: ChildProcess) {
    child.stderr?.on('data', (c: Buffer) => {
      this.buf += c.toString('utf8');
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        if (!line.startsWith('{')) continue;
        const l = JSON.parse(line) as LogLine;
        this.lines.push(l);
        this.waiters = this.waiters.filter((w) => (w.pred(l) ? (w.resolve(l), false) : true));
      }
    });
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  /** Resolve with the first log line (past or future) matching `pred`. */
  waitFor(pred: (l: LogLine) => boolean): Promise<LogLine> {
    const seen = this.lines.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/** Start `beep listen --port 0 ...args` and wait for its `listening` line; returns the process and the port. */
export async function startListen(args: string[] = []): Promise<{ proc: ListenProcess; port: number }> {
  const child = spawn(process.execPath, [MAIN, 'listen', '--port', '0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const proc = new ListenProcess(child);
  const l = await Promise.race([
    proc.waitFor((x) => x.msg === 'listening'),
    proc.exited.then((c) => {
      throw new Error(`beep listen exited with ${c}`);
    }),
  ]);
  return { proc, port: l['port'] as number };
}
