import type { Store } from '../storage/store';
import { fallbackStoreLogger } from '../logger';

/**
 * Blocks are written to the store this often (they feed reports, not decisions). Not more
 * often: with SQLite the commit's fsync runs on the event loop, and a stall every second shows
 * up in the checks' p99.
 */
export const BLOCK_FLUSH_INTERVAL_MS = 10_000;

/**
 * Per-gate block counts, added up in memory and written in one transaction per interval, so a
 * blocked check (the common case) needs no database round trip. A failed flush keeps the
 * counts for the next one; stop() flushes what is left.
 */
export class BlockCounter {
  private counts = new Map<string, { count: number; lastAt: string }>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    intervalMs = BLOCK_FLUSH_INTERVAL_MS,
    private readonly log: (message: string) => void = (message) => fallbackStoreLogger().error(message),
  ) {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  count(gate: string, at: string): void {
    const current = this.counts.get(gate);
    if (current) {
      current.count++;
      if (at > current.lastAt) current.lastAt = at;
    } else {
      this.counts.set(gate, { count: 1, lastAt: at });
    }
  }

  /** Write the pending counts now (also what `stop` does). */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    await this.flush();
  }

  private async write(): Promise<void> {
    if (this.counts.size === 0) return;
    const batch = this.counts;
    this.counts = new Map();
    try {
      await this.store.transaction(async (tx) => {
        for (const [gate, { count, lastAt }] of batch) await tx.incrementGateBlocks(gate, lastAt, count);
      });
    } catch (error) {
      this.log(`gate block counts not written yet (kept for the next flush): ${(error as Error).message}`);
      for (const [gate, { count, lastAt }] of batch) {
        const current = this.counts.get(gate);
        this.counts.set(gate, { count: (current?.count ?? 0) + count, lastAt: current && current.lastAt > lastAt ? current.lastAt : lastAt });
      }
    }
  }
}
