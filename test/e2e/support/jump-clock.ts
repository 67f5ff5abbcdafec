import type { ConsoleClock } from '../../../electron/core/clock';

/**
 * The e2e stack's console clock: real time plus an offset the tests move forward with `jump(ms)`
 * (stack.ts's control API), so a test sees an SLA run out or a bypass near its end without waiting.
 * Everything else keeps running in real time (debounces, coalesced refreshes, reconnects). A jump
 * fires at once every timer that falls due within it (the follow-up tick among them), in order.
 * `reset()` returns to real time; timers set meanwhile fire when their real delay has passed.
 * Test-only: the stack passes it to the browser host; no production entry point builds one.
 */
export class JumpClock implements ConsoleClock {
  private offsetMs = 0;
  private seq = 0;
  private readonly timers = new Set<{ at: number; seq: number; fn: () => void; handle: NodeJS.Timeout }>();

  /** How far ahead of real time this clock is. */
  get offset(): number {
    return this.offsetMs;
  }

  now = (): Date => new Date(Date.now() + this.offsetMs);

  after = (ms: number, fn: () => void): (() => void) => {
    const timer = {
      at: this.now().getTime() + ms,
      seq: this.seq++,
      fn,
      handle: setTimeout(() => {
        this.timers.delete(timer);
        fn();
      }, ms),
    };
    timer.handle.unref();
    this.timers.add(timer);
    return () => {
      clearTimeout(timer.handle);
      this.timers.delete(timer);
    };
  };

  /** Move forward by `ms` and fire every timer now due, earliest first. */
  jump(ms: number): void {
    if (!Number.isSafeInteger(ms) || ms < 0) throw new Error(`jump: ms must be a whole number of milliseconds, not negative (got ${ms})`);
    this.offsetMs += ms;
    const now = this.now().getTime();
    const due = [...this.timers].filter((t) => t.at <= now).sort((a, b) => a.at - b.at || a.seq - b.seq);
    for (const timer of due) {
      clearTimeout(timer.handle);
      this.timers.delete(timer);
      timer.fn();
    }
  }

  /** Back to real time (the end of a test that jumped). */
  reset(): void {
    this.offsetMs = 0;
  }
}
