import { closeBypass, lapseRequest } from '../service/closure';
import { timelineSoFar } from '../service/timeline';
import { SYSTEM_CALLER, type ServiceDeps } from '../service/service-deps';
import { fallbackStoreLogger } from '../logger';

/** Upper bound between sweeps in production (startGrantStore clamps to it); the precise timer usually fires first. */
export const DEFAULT_SWEEP_INTERVAL_MS = 250;
/** setTimeout's ceiling (2^31-1 ms); farther deadlines are re-armed by the periodic sweep. */
const MAX_TIMER_MS = 2_147_483_647;

export interface Sweeper {
  /** Run one sweep now (tests, and after a decision that moved a deadline). */
  sweep(): Promise<number>;
  /** Re-arm the precise timer (call after anything that may add an earlier deadline). */
  rearm(): void;
  stop(): Promise<void>;
}

/**
 * Expiry and lapse by themselves, from the server clock: a sweep every `intervalMs` (≤ 250 ms)
 * plus a precise timer for the next deadline. Each request is closed in its own transaction
 * after re-reading it there, so a closure (and the review it opens) happens exactly once even
 * when the timer and the interval fire together or two sweeps overlap.
 */
export function startExpirySweeper(deps: ServiceDeps, intervalMs = DEFAULT_SWEEP_INTERVAL_MS, onError: (e: unknown) => void = (e) => fallbackStoreLogger().error({ err: e }, 'expiry sweep failed (the next sweep retries)')): Sweeper {
  let stopped = false;
  let running: Promise<number> | undefined;
  let timer: NodeJS.Timeout | undefined;

  async function sweepOnce(): Promise<number> {
    const now = deps.clock();
    const at = now.toISOString();
    let closed = 0;
    for (const due of await deps.store.dueForExpiry(at)) {
      // The review's timeline up to now, read before the transaction (see timelineSoFar).
      const soFar = await timelineSoFar(deps.store, due.id);
      const done = await deps.store.transaction(async (tx) => {
        const fresh = await tx.getRequest(due.id);
        if (!fresh || fresh.state !== 'active' || !fresh.expiresAt || fresh.expiresAt > at) return false;
        await closeBypass(tx, fresh, 'expire', SYSTEM_CALLER, deps.clock(), null, deps.policies.policy, soFar);
        return true;
      });
      if (done) closed++;
    }
    for (const due of await deps.store.dueForLapse(at)) {
      const done = await deps.store.transaction(async (tx) => {
        const fresh = await tx.getRequest(due.id);
        if (!fresh || (fresh.state !== 'pending' && fresh.state !== 'needs_info') || !fresh.lapsesAt || fresh.lapsesAt > at) return false;
        await lapseRequest(tx, fresh, SYSTEM_CALLER, deps.clock());
        return true;
      });
      if (done) closed++;
    }
    return closed;
  }

  /** Sweeps never overlap: a caller during a sweep waits for it and then runs another. */
  function sweep(): Promise<number> {
    const previous = running ?? Promise.resolve(0);
    // The previous sweep's failure went to its own caller (onError); this one only waits for it to end.
    const next = previous.catch((_reportedByItsCaller: unknown) => 0).then(() => (stopped ? 0 : sweepOnce()));
    running = next;
    return next;
  }

  function rearm(): void {
    if (stopped) return;
    deps.store
      .nextDeadline()
      .then((deadline) => {
        if (stopped) return;
        if (timer) clearTimeout(timer);
        timer = undefined;
        if (!deadline) return;
        const delay = Math.min(Math.max(Date.parse(deadline) - deps.clock().getTime(), 0), MAX_TIMER_MS);
        timer = setTimeout(() => {
          timer = undefined;
          sweep().then(rearm, onError);
        }, delay);
        timer.unref();
      })
      .catch(onError);
  }

  const interval = setInterval(() => {
    sweep().catch(onError);
  }, intervalMs);
  interval.unref();
  const unsubscribe = deps.store.onLedgerAppended((entries) => {
    // New requests and activations move the next deadline.
    if (entries.some((e) => e.type === 'request_created' || e.type === 'bypass_activated' || e.type === 'info_provided')) rearm();
  });
  rearm();

  return {
    sweep,
    rearm,
    async stop() {
      stopped = true;
      clearInterval(interval);
      if (timer) clearTimeout(timer);
      unsubscribe();
      // Its failure was reported through onError when it happened; stopping only waits for it.
      await running?.catch((error: unknown) => fallbackStoreLogger().debug({ err: error }, 'stopping: the last sweep had failed (already reported)'));
    },
  };
}
