/**
 * The stop sequence `beam serve` and `beam worker` share: the first SIGINT/SIGTERM (or `trigger`) runs `drain`
 * once and resolves to 0 (1 if it failed); a second signal runs `force` and exits 1 at once.
 */
import { logLine } from './log.js';

export interface Stopper {
  /** Resolves to the exit status once drained. */
  readonly done: Promise<number>;
  /** Stop as a signal would (e.g. a client's SHUTDOWN); later triggers are ignored. */
  trigger(reason: string): void;
}

export function stopOnSignals(drain: () => Promise<void>, force: () => void): Stopper {
  let stopping = false;
  let resolve!: (code: number) => void;
  const done = new Promise<number>((r) => (resolve = r));
  const stop = (reason: string, signal: boolean): void => {
    if (stopping) {
      if (!signal) return;
      logLine('warn', 'second signal: killing every job and exiting', { signal: reason });
      force();
      process.exit(1);
    }
    stopping = true;
    logLine('info', 'shutting down', { signal: reason });
    drain().then(
      () => {
        logLine('info', 'closed');
        resolve(0);
      },
      (e: unknown) => {
        logLine('error', 'shutdown failed', { err: e });
        resolve(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT', true));
  process.on('SIGTERM', () => stop('SIGTERM', true));
  return { done, trigger: (reason) => stop(reason, false) };
}
