/** Promises that wait for a predicate on session state, re-checked after every read and flush. */
import { abortError, closedError } from './failures.js';

interface Waiter {
  pred: () => boolean;
  resolve: () => void;
}

export class Waiters {
  private list: Waiter[] = [];

  /** `ended()` tells whether the session ended (every waiter is then released). */
  constructor(private readonly ended: () => boolean) {}

  get pending(): boolean {
    return this.list.length > 0;
  }

  /** Re-check every predicate; release the waiters whose predicate holds (all of them once the session ended). */
  check(): void {
    const ws = this.list;
    this.list = [];
    for (const w of ws) {
      if (this.ended() || w.pred()) w.resolve();
      else this.list.push(w);
    }
  }

  /** Resolves true once pred holds, false after timeoutMs (0 = no limit) or when the session ends. */
  waitFor(pred: () => boolean, timeoutMs: number): Promise<boolean> {
    if (pred()) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const w: Waiter = {
        pred,
        resolve: () => {
          if (timer) clearTimeout(timer);
          resolve(!this.ended());
        },
      };
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          this.remove(w);
          resolve(false);
        }, timeoutMs);
        timer.unref?.();
      }
      this.list.push(w);
    });
  }

  /** Resolves once pred holds; rejects on abort or when the session ends. */
  waitUntil(pred: () => boolean, signal?: AbortSignal): Promise<void> {
    if (this.ended()) return Promise.reject(closedError());
    if (pred()) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        pred,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          if (this.ended()) reject(closedError());
          else resolve();
        },
      };
      const onAbort = (): void => {
        this.remove(w);
        reject(abortError(signal as AbortSignal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.list.push(w);
    });
  }

  private remove(w: Waiter): void {
    const i = this.list.indexOf(w);
    if (i >= 0) this.list.splice(i, 1);
  }
}
