/**
 * Helpers the packages' tests share (`@beamgate/base/testing`; not part of any public API). Tests wait on events
 * where there is one; `pollUntil` is for state that announces nothing (another process, a counter), always with a
 * deadline.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Resolves once `check()` holds, checking every `intervalMs`; rejects naming `what` after `timeoutMs`. */
export async function pollUntil(
  check: () => boolean | Promise<boolean>,
  opts: { what?: string; timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const end = Date.now() + (opts.timeoutMs ?? 10_000);
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${opts.what ?? 'a condition'}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 10));
  }
}

/** What `fn` throws or rejects with; throws when it succeeds. */
export async function failure(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a failure');
}

/** Live (not zombie) processes of a process group, read from /proc (Linux). */
export function groupMembers(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue; // exited meanwhile
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] !== 'Z' && Number(fields[2]) === pgid) pids.push(Number(name));
  }
  return pids;
}

/** Whether a process exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export const hasProc = ((): boolean => {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
})();
