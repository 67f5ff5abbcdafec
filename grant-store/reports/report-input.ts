import type { BypassRequest } from '../../shared/domain/request';
import type { Review } from '../../shared/domain/review';
import type { Policy } from '../../shared/domain/policy';

/**
 * What every gate-health report is computed from. The reports are pure functions of this, so a
 * test can build a ledger with a known pattern and check every figure exactly; the store adapter
 * (report-source.ts) reads it from the Store.
 */
export interface ReportInput {
  /** The report's clock (server UTC). Events after it are ignored, so a past report can be replayed. */
  now: Date;
  policy: Policy;
  requests: readonly BypassRequest[];
  reviews: readonly Review[];
  /** Gate checks answered `warn` under a bypass (the evaluation_under_bypass ledger entries). */
  evaluations: readonly { gate: string; time: string }[];
  /** Blocks counted per gate by the store since it began counting. */
  blocksByGate: Readonly<Record<string, number>>;
}
