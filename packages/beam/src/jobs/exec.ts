import { spawn } from 'node:child_process';
import type { JobHandler, JobIO } from './handler.js';
import { constants } from 'node:os';
import { signalGroup, trackGroup } from './process-group.js';

/** Exit statuses a shell uses: found but not allowed / not runnable, and not found. */
export const EXIT_NOT_EXECUTABLE = 126;
export const EXIT_NOT_FOUND = 127;

const SAFE_ENV_NAMES = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];

export interface ExecOptions {
  allow: ReadonlySet<string>;
  inheritEnv: boolean;
  cwd?: string;
}

/**
 * Runs `program argv[1..]` with child_process.spawn (no shell) as the leader of its own process group. The
 * program must be in the allow-list (exact string match); otherwise the job exits 126 with a message on
 * stream 2. The job's status is the program's (128+signo when a signal ended it); when the job ends, every
 * process left in the group is killed.
 */
export async function runProgram(job: JobIO, program: string, argv: string[], opts: ExecOptions): Promise<number> {
  if (!opts.allow.has(program)) {
    job.stderr.write(`beam: ${program}: not allowed (not in the exec allow-list)\n`);
    return EXIT_NOT_EXECUTABLE;
  }
  if (program.includes('\0') || argv.some((a) => a.includes('\0'))) {
    job.stderr.write(`beam: ${program}: arguments contain a NUL byte\n`);
    return EXIT_NOT_EXECUTABLE;
  }
  const base: Record<string, string> = {};
  if (opts.inheritEnv) Object.assign(base, process.env);
  else for (const k of SAFE_ENV_NAMES) if (process.env[k] !== undefined) base[k] = process.env[k]!;
  const env = { ...base, ...job.env };

  // detached: the program leads a new process group (and session), so a signal reaches everything it started.
  const child = spawn(program, argv.slice(1), {
    argv0: argv[0] ?? program,
    cwd: opts.cwd,
    env,
    shell: false,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    windowsHide: true,
  });
  const pgid = child.pid;
  const untrack = pgid !== undefined ? trackGroup(pgid) : () => false;

  // Every signal the job receives (TERM, then maybe KILL) reaches the whole group.
  let onKill: () => void = () => {};
  const killed = new Promise<void>((resolve) => (onKill = resolve));
  const stopRelay = job.onSignal((name) => {
    if (pgid === undefined || !signalGroup(pgid, `SIG${name}`)) child.kill(`SIG${name}` as NodeJS.Signals);
    if (name === 'KILL') onKill();
  });

  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.once('exit', (code: number | null, signal: NodeJS.Signals | null) => resolve([code, signal]));
  });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const spawned = new Promise<Error | null>((resolve) => {
    child.once('spawn', () => resolve(null));
    child.on('error', (e) => resolve(e));
  });
  const spawnError = await spawned;
  if (spawnError) {
    stopRelay();
    untrack();
    const code = (spawnError as NodeJS.ErrnoException).code;
    job.stderr.write(`beam: ${program}: ${spawnError.message}\n`);
    return code === 'ENOENT' ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE;
  }

  child.stdout.pipe(job.stdout, { end: false });
  child.stderr.pipe(job.stderr, { end: false });
  job.stdin.pipe(child.stdin);
  child.stdin.on('error', () => {}); // EPIPE when the program exits without reading its input

  const [code, signal] = await exited;
  const status = code !== null ? code & 0xff : 128 + (signal ? (constants.signals[signal] ?? 15) : 15);
  // The program's status is final; what is left is its output still in the pipes (kept open by the rest of
  // its group, if any). A KILL (or the grace period after another signal) stops waiting for it.
  job.reportExit(status);
  await Promise.race([closed, killed]);
  job.stdin.unpipe(child.stdin);
  stopRelay();
  // Nothing of the job outlives it: whatever is left of its group is killed.
  if (pgid !== undefined) signalGroup(pgid, 'SIGKILL');
  untrack();
  child.stdout.destroy();
  child.stderr.destroy();
  return status;
}

/** The `exec` handler: `exec PROGRAM ARGS...` runs PROGRAM (argv[1]) with argv[1..] as its argv. */
export function execHandler(opts: ExecOptions): JobHandler {
  return async (job) => {
    const program = job.args[1];
    if (program === undefined) {
      job.stderr.write('beam: exec: usage: exec PROGRAM [ARG...]\n');
      return 2;
    }
    return runProgram(job, program, job.args.slice(1), opts);
  };
}
