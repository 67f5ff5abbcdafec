/**
 * Time for the console core, injected so tests can move it by hand: `now()` for every timestamp
 * and deadline, `after()` for every timer (debounces, coalescing, cache ages). Nothing in the
 * core reads Date.now() or calls setTimeout directly.
 */
export interface ConsoleClock {
  now(): Date;
  /** Call `fn` once after `ms`; returns a function that cancels it. Timers never keep the process alive. */
  after(ms: number, fn: () => void): () => void;
}

export const systemClock: ConsoleClock = {
  now: () => new Date(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};
