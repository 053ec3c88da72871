import { spawn } from 'node:child_process';

export interface ToolRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ToolOptions {
  /** Bytes written to stdin (then closed); stdin is closed at once otherwise. */
  input?: string | Buffer;
  /** Kill the tool (`stopSignal`, then SIGKILL) after this many ms: for modes that run until interrupted. */
  stopAfterMs?: number;
  /** Default SIGINT. */
  stopSignal?: NodeJS.Signals;
  /** Hard limit (default 20 s). */
  timeoutMs?: number;
  /** Resolves early once stdout satisfies this (the tool is then killed). */
  until?: (stdout: string) => boolean;
  /** Called with the whole stdout so far whenever more arrives. */
  onStdout?: (stdout: string) => void;
}

/** Runs `redis-cli ... monitor` until `until` holds; `started` resolves once MONITOR has answered +OK. */
export function runMonitor(args: string[], opts: ToolOptions): { started: Promise<void>; done: Promise<ToolRun> } {
  let onOk!: () => void;
  const started = new Promise<void>((resolve) => (onOk = resolve));
  const done = runTool('redis-cli', [...args, 'monitor'], { ...opts, onStdout: (out) => (/^OK\r?\n/.test(out) ? onOk() : undefined) });
  return { started, done };
}

/** Runs a real tool (redis-cli, redis-benchmark...) and collects its output, whatever its exit status. */
export function runTool(cmd: string, args: string[], opts: ToolOptions = {}): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let done = false;
    const stop = (): void => {
      if (p.exitCode === null) p.kill(opts.stopSignal ?? 'SIGINT');
      setTimeout(() => {
        if (p.exitCode === null) p.kill('SIGKILL');
      }, 500).unref();
    };
    const hard = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 20000);
    const soft = opts.stopAfterMs !== undefined ? setTimeout(stop, opts.stopAfterMs) : null;
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('latin1');
      opts.onStdout?.(stdout);
      if (opts.until?.(stdout) && !done) {
        done = true;
        stop();
      }
    });
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString('latin1')));
    p.stdin.on('error', () => undefined);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(hard);
      if (soft) clearTimeout(soft);
      resolve({ code, stdout, stderr });
    });
    if (opts.input !== undefined) p.stdin.end(opts.input);
    else p.stdin.end();
  });
}

/** Polls until fn returns a value (or throws after timeoutMs). */
export async function until<T>(fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
