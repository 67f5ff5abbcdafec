import type { BypassRequest } from '../../shared/domain/request';
import type { Review } from '../../shared/domain/review';
import type { Policy } from '../../shared/domain/policy';
import { ms } from './calendar';
import { REPORT_IDS_LIMIT, REVIEW_DEADLINE_MS } from './thresholds';

/** `count` events on `gate` (by `team`), each at `time` or at a time on the same side of every report window's edge. */
export interface TimedCount {
  gate: string;
  team: string;
  time: string;
  count: number;
}

/** One bypass named in a report's evidence: the request id, its gate and team, when it activated. */
export interface BypassSample {
  id: string;
  gate: string;
  team: string;
  activatedAt: string;
}

/** The reviews figures as of `now` (what the reviews report needs, whatever the number of reviews). */
export interface ReviewTally {
  /** Reviews opened at or before now. */
  total: number;
  completedOnTime: number;
  completedLate: number;
  /** Open at now, opened more than REVIEW_DEADLINE_MS before now. */
  openOverdue: number;
  openWithinDeadline: number;
  /** The oldest open reviews (at most REPORT_IDS_LIMIT), oldest first. */
  oldestOpen: readonly Review[];
}

/**
 * What every gate-health report is computed from. The reports are pure functions of this, so a
 * test can build a ledger with a known pattern and check every figure exactly. The store adapter
 * (report-source.ts) reads it from the per-day counters and a few indexed, bounded queries, never
 * from the whole ledger or every request; `reportInputOf` builds the same thing from full lists
 * (tests, the weekly digest).
 */
export interface ReportInput {
  /** The report's clock (server UTC). Events after it are ignored, so a past report can be replayed. */
  now: Date;
  policy: Policy;
  /**
   * The requests people decide or still have to: at least every request with a signed decision
   * in the 90-day decision window, every request pending, needing information or lapsed (more is
   * fine: the approvers and decision-times reports filter). Standing-scope traffic is not needed.
   */
  requests: readonly BypassRequest[];
  reviews: ReviewTally;
  /** Gate checks answered `warn` under a bypass (evaluation_under_bypass entries), counted. */
  evaluations: readonly TimedCount[];
  /** Requests filed (createdAt) and bypasses activated (activatedAt) per gate and team, counted. */
  gateCounts: { requests: readonly TimedCount[]; bypasses: readonly TimedCount[] };
  /**
   * Bypasses named as evidence: for every (gate, team, UTC ISO week) the most recent
   * REPORT_IDS_LIMIT activations (at least) of the weeks the reports look at, so any report list
   * ("the latest REPORT_IDS_LIMIT of this window") can be cut from it.
   */
  bypassSamples: readonly BypassSample[];
  /** Blocks counted per gate by the store since it began counting. */
  blocksByGate: Readonly<Record<string, number>>;
}

/** gateCounts for a list of requests, one count per request (tests, and replays that hold the requests). */
export function gateCountsOf(requests: readonly BypassRequest[]): ReportInput['gateCounts'] {
  return {
    requests: requests.map((r) => ({ gate: r.gate, team: r.team, time: r.createdAt, count: 1 })),
    bypasses: requests.filter((r) => r.activatedAt !== null).map((r) => ({ gate: r.gate, team: r.team, time: r.activatedAt!, count: 1 })),
  };
}

/** The review tally of a list of reviews as of `now` (the full recomputation). */
export function reviewTallyOf(reviews: readonly Review[], now: Date): ReviewTally {
  const nowMs = now.getTime();
  const tally = { total: 0, completedOnTime: 0, completedLate: 0, openOverdue: 0, openWithinDeadline: 0 };
  const open: Review[] = [];
  for (const review of reviews) {
    const openedMs = ms(review.openedAt);
    if (openedMs > nowMs) continue;
    tally.total += 1;
    const completedMs = review.completedAt === null ? null : ms(review.completedAt);
    if (completedMs !== null && completedMs <= nowMs) {
      if (completedMs - openedMs <= REVIEW_DEADLINE_MS) tally.completedOnTime += 1;
      else tally.completedLate += 1;
      continue;
    }
    if (nowMs - openedMs > REVIEW_DEADLINE_MS) tally.openOverdue += 1;
    else tally.openWithinDeadline += 1;
    open.push(review);
  }
  open.sort((a, b) => ms(a.openedAt) - ms(b.openedAt) || a.id.localeCompare(b.id));
  return { ...tally, oldestOpen: open.slice(0, REPORT_IDS_LIMIT) };
}

/** Every bypass of a list of requests as a sample (the full recomputation keeps them all). */
export function bypassSamplesOf(requests: readonly BypassRequest[]): BypassSample[] {
  return requests.filter((r) => r.activatedAt !== null).map((r) => ({ id: r.id, gate: r.gate, team: r.team, activatedAt: r.activatedAt! }));
}

/** The stored state the reports summarise, as full lists (tests, the weekly digest). */
export interface ReportState {
  policy: Policy;
  requests: readonly BypassRequest[];
  reviews: readonly Review[];
  evaluations: readonly TimedCount[];
  blocksByGate: Readonly<Record<string, number>>;
}

/** A ReportInput from full lists as of `now`: what the store adapter's bounded reads must equal. */
export function reportInputOf(state: ReportState & { now: Date }): ReportInput {
  return {
    now: state.now,
    policy: state.policy,
    requests: state.requests,
    reviews: reviewTallyOf(state.reviews, state.now),
    evaluations: state.evaluations,
    gateCounts: gateCountsOf(state.requests),
    bypassSamples: bypassSamplesOf(state.requests),
    blocksByGate: state.blocksByGate,
  };
}
