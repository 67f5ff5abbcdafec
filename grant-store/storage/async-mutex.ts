/**
 * One-at-a-time execution of async sections. better-sqlite3 has one connection per handle, so
 * an async transaction must not interleave with another one on the same handle.
 */
export class AsyncMutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    // Keep the chain alive whatever the outcome; callers see their own result/rejection.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
