import type { BypassRequest } from '../../shared/domain/request';
import type { Review } from '../../shared/domain/review';
import type { Policy } from '../../shared/domain/policy';

/** `count` events on `gate`, each at `time` or at a time on the same side of every report window's edges. */
export interface TimedCount {
  gate: string;
  time: string;
  count: number;
}

/**
 * What every gate-health report is computed from. The reports are pure functions of this, so a
 * test can build a ledger with a known pattern and check every figure exactly; the store adapter
 * (report-source.ts) reads it from the Store's per-day counters, never from the whole ledger.
 */
export interface ReportInput {
  /** The report's clock (server UTC). Events after it are ignored, so a past report can be replayed. */
  now: Date;
  policy: Policy;
  /** Every request (empty when the caller asked only for counts: see loadReportInput). */
  requests: readonly BypassRequest[];
  reviews: readonly Review[];
  /** Gate checks answered `warn` under a bypass (evaluation_under_bypass entries), counted. */
  evaluations: readonly TimedCount[];
  /** Requests filed (createdAt) and bypasses activated (activatedAt) per gate, counted: what the gates report reads. */
  gateCounts: { requests: readonly TimedCount[]; bypasses: readonly TimedCount[] };
  /** Blocks counted per gate by the store since it began counting. */
  blocksByGate: Readonly<Record<string, number>>;
}

/** gateCounts for a list of requests, one count per request (tests, and replays that hold the requests). */
export function gateCountsOf(requests: readonly BypassRequest[]): ReportInput['gateCounts'] {
  return {
    requests: requests.map((r) => ({ gate: r.gate, time: r.createdAt, count: 1 })),
    bypasses: requests.filter((r) => r.activatedAt !== null).map((r) => ({ gate: r.gate, time: r.activatedAt!, count: 1 })),
  };
}
