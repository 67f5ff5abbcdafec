import type { ConsoleClock } from '../../electron/core/clock';

/**
 * A console clock moved by hand: `advance(ms)` moves time and fires every timer that falls due,
 * in order (a timer set by a firing timer fires too if it falls within the same advance).
 */
export class ManualClock implements ConsoleClock {
  private ms: number;
  private timers: { at: number; seq: number; fn: () => void }[] = [];
  private seq = 0;

  constructor(start = '2026-11-26T10:00:00.000Z') {
    this.ms = Date.parse(start);
  }

  now = (): Date => new Date(this.ms);

  after = (ms: number, fn: () => void): (() => void) => {
    const timer = { at: this.ms + ms, seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  };

  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.length;
  }

  advance(ms: number): void {
    const until = this.ms + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.ms = due.at;
      due.fn();
    }
    this.ms = until;
  }
}
