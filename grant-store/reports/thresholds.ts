/**
 * Every threshold the gate-health reports use, with where it comes from. Sources:
 *  [S0] "Break-glass Workflow Design: Audited Bypass That Works" (shared/seeds/000), section
 *       "Measuring whether break-glass is healthy".
 *  [S2] "Break-glass & Bypass - Middle Level" (shared/seeds/002), Core Concepts 4 and 5.
 *  [I7] issue 7 ("default > 50% over 30 days, at least 3").
 */

export const DAY_MS = 86_400_000;
export const WEEK_MS = 7 * DAY_MS;

/** Trailing windows for bypass counts per gate. [I7] */
export const BYPASS_WINDOWS_DAYS = { d7: 7, d30: 30, d90: 90 } as const;

/**
 * Decisions on incident-flagged requests should come within fifteen minutes, the rest within one
 * business day. [S0] The rule lives once, in shared/policy/sla.ts (the console's deadlines use it
 * too): business time counts only UTC Monday-Friday, so a request filed Friday evening and decided
 * Monday morning is within target.
 */
export { INCIDENT_DECISION_SLA_MS as INCIDENT_DECISION_TARGET_MS, BUSINESS_DAY_DECISION_SLA_MS as BUSINESS_DAY_DECISION_TARGET_MS } from '../../shared/policy/sla';
/** Decision times (and approver decisions) are reported over the trailing 90 days. */
export const DECISION_WINDOW_DAYS = 90;

/** Post-bypass reviews should be completed within a week of expiry. [S0] */
export const REVIEW_DEADLINE_MS = 7 * DAY_MS;

/**
 * An approver group is flagged (100% approvals = rubber-stamping, 100% denials = theatre [S0])
 * only after this many decisions in the window. Why 10: a group that in truth approves 3 of 4
 * requests shows 10 approvals in a row by chance 0.75^10 = 5.6% of the time, so at 10 a flag is
 * mostly signal; at 5 it would be 24% noise. Below 10 the row says `sampleSufficient: false`.
 */
export const APPROVER_FLAG_MIN_SAMPLE = 10;

/** A gate taking more than half of all bypasses over 30 days, with at least 3, is a finding. [I7][S2] */
export const DOMINANCE_WINDOW_DAYS = 30;
export const DOMINANCE_SHARE = 0.5;
export const DOMINANCE_MIN_BYPASSES = 3;

/**
 * "Bypassed every week" [S0: "a policy that is bypassed weekly ... needs to be revised"]: at
 * least one bypass in each of the last 4 complete ISO weeks (UTC; the current, partial week
 * does not count, so the finding is stable for the whole week it is raised in).
 */
export const EVERY_WEEK_WEEKS = 4;

/**
 * Rising overall trend [S2 Concept 4]: bypasses in the last 30 days are at least 1.5x those of
 * the 30 days before, and at least 5 (so 1 -> 2 is not a trend).
 */
export const TREND_WINDOW_DAYS = 30;
export const TREND_FACTOR = 1.5;
export const TREND_MIN_RECENT = 5;

/** Weeks of per-gate bypass history drawn by the console (current week included). */
export const WEEKLY_SERIES_WEEKS = 12;

/**
 * Lists of request ids in the reports (a team's bypasses, a finding's evidence, open reviews) name
 * at most this many, the most recent (the oldest, for open reviews); the counts beside them are
 * exact. A report's size and cost then do not grow with CI traffic under a standing scope.
 */
export const REPORT_IDS_LIMIT = 100;

/** Shares and rates are rounded to this many decimals so they compare exactly. */
export const FRACTION_DECIMALS = 4;
