import type { ConsoleClock } from '../clock';
import type { ConsoleLogger } from '../logger';

/**
 * Runs a task at most `delayMs` after the first request for it: later requests while it waits
 * join that run instead of postponing it (a steady stream of store events can never starve the
 * inbox, unlike a debounce that restarts on every event). Requests that arrive while the task
 * runs schedule exactly one more run. Never runs two at once.
 */
export class CoalescingTrigger {
  private cancelTimer: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly idleWaiters = new Set<() => void>();

  constructor(
    private readonly options: { clock: ConsoleClock; delayMs: number; task: () => Promise<void>; logger: ConsoleLogger; name: string },
  ) {}

  /** Ask for a run. */
  request(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.cancelTimer) return;
    this.cancelTimer = this.options.clock.after(this.options.delayMs, () => {
      this.cancelTimer = undefined;
      this.run();
    });
  }

  /** Whether a run is waiting or under way. */
  get busy(): boolean {
    return this.cancelTimer !== undefined || this.running !== undefined;
  }

  /** Resolves once nothing is waiting or running (shutdown). */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.add(resolve));
  }

  /** No more runs; the one under way (if any) finishes. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.again = false;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    await this.running;
    this.settleIdle();
  }

  /** Allow runs again after stop() (a new session). */
  restart(): void {
    this.stopped = false;
  }

  private run(): void {
    this.running = this.options
      .task()
      .catch((error: unknown) => this.options.logger.warn({ err: error, task: this.options.name }, 'background refresh failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.request();
        } else this.settleIdle();
      });
  }

  private settleIdle(): void {
    if (this.busy) return;
    for (const resolve of [...this.idleWaiters]) resolve();
    this.idleWaiters.clear();
  }
}
