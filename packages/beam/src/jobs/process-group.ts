import { debuglog } from 'node:util';

const debug = debuglog('beamgate:jobs');

/**
 * Process groups of the programs jobs run (each exec'd program leads its own group). The set lets one
 * 'exit' hook kill every group still alive when the server process ends, however it ends (a second signal,
 * process.exit, an uncaught exception), so no job's process outlives the server.
 */
const live = new Set<number>();
let hooked = false;

function killAllOnExit(): void {
  for (const pgid of live) signalGroup(pgid, 'SIGKILL');
}

/** Remembers a live group; returns the function that forgets it. */
export function trackGroup(pgid: number): () => void {
  if (!hooked) {
    hooked = true;
    process.on('exit', killAllOnExit);
  }
  live.add(pgid);
  return () => live.delete(pgid);
}

/** Sends a signal to every process of the group; false when the group is gone (ESRCH) or not ours (EPERM). */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ESRCH') debug('process group %d: %s failed: %s', pgid, signal, code);
    return false;
  }
}

