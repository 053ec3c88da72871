/** `beep connect --timeout`: one bound for every wait on the peer, with a message that says what did not come. */

export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError';
  readonly code = 'BEEP_TIMEOUT';
}

/** Resolve or reject like `p`, or reject with WaitTimeoutError after `ms` (running `onTimeout` first). */
export function within<T>(ms: number, what: string, p: Promise<T>, onTimeout?: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout?.();
      reject(new WaitTimeoutError(`no ${what} within ${ms / 1000} s (--timeout)`));
    }, ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
