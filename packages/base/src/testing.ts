/**
 * Helpers the packages' tests share (`@beamgate/base/testing`; not part of any public API). Tests wait on events
 * where there is one; `pollUntil` is for state that announces nothing (another process, a counter), always with a
 * deadline.
 */

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
