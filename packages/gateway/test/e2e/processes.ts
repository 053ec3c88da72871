/** Spawning the CLIs of this repository (built next to the test files) and reading their JSON log lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest ancestor of this file holding `packages/`. */
export function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'packages', 'gateway'))) {
    const up = dirname(d);
    if (up === d) throw new Error('repository root not found');
    d = up;
  }
  return d;
}

/** A package's compiled CLI entry (dist/src/cli/main.js in the build). */
export function cliPath(pkg: 'beep' | 'beam' | 'gateway'): string | undefined {
  const root = repoRoot();
  for (const rel of ['dist/src/cli/main.js', 'src/cli/main.js']) {
    const p = join(root, 'packages', pkg, rel);
    if (existsSync(p)) return p;
  }
  return undefined;
}

export interface Spawned {
  child: ChildProcess;
  /** Parsed JSON log lines seen so far (stdout and stderr). */
  lines: Array<Record<string, unknown>>;
  stdout: string;
  stderr: string;
  /** Resolves with the first log line for which `pred` is true. */
  waitFor(pred: (l: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function spawnNode(script: string, args: string[], env: Record<string, string> = {}): Spawned {
  const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const s: Spawned = {
    child,
    lines: [],
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    waitFor(pred, ms = 10000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const l = s.lines.find(pred);
          if (l) resolve(l);
          return l !== undefined;
        };
        if (check()) return;
        const t = setTimeout(() => reject(new Error(`log line not seen; stderr: ${s.stderr.slice(-2000)} stdout: ${s.stdout.slice(-2000)}`)), ms);
        const on = (): void => {
          if (check()) {
            clearTimeout(t);
            child.stdout!.off('data', on);
            child.stderr!.off('data', on);
          }
        };
        child.stdout!.on('data', on);
        child.stderr!.on('data', on);
        void s.exited.then(() => {
          if (!check()) {
            clearTimeout(t);
            reject(new Error(`process exited; stderr: ${s.stderr.slice(-2000)}`));
          }
        });
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return s.exited;
    },
  };
  const pending = { stdout: '', stderr: '' };
  const feed = (which: 'stdout' | 'stderr') => (d: Buffer) => {
    const text = d.toString();
    s[which] += text;
    const lines = (pending[which] + text).split('\n');
    pending[which] = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        s.lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // partial line: ignored
      }
    }
  };
  // Listeners first, so that waitFor sees lines already parsed.
  child.stdout!.prependListener('data', feed('stdout'));
  child.stderr!.prependListener('data', feed('stderr'));
  return s;
}
