import { z } from 'zod';
import { PrincipalNameSchema, TimestampSchema } from './common';

/**
 * Gate-health reports (bypass as a health signal). Computed by the pure functions in
 * grant-store/reports/ from (requests, ledger entries, reviews, policy, block counts, now),
 * served at GET /v1/reports/<kind>, printed by `breakglass report <kind>`, exported on /metrics
 * and drawn by the console's Gate health screen. Every report states the `now` it was computed at.
 *
 * Ratios and shares are fractions in [0, 1] (or above for ratios) rounded to 4 decimals; durations
 * are whole milliseconds. A figure with no data is `null`, never 0, so "no decisions" does not
 * read as "instant decisions".
 */

export const REPORT_KINDS = ['gates', 'approvers', 'decision-times', 'reviews', 'teams', 'findings'] as const;
export const ReportKindSchema = z.enum(REPORT_KINDS);
export type ReportKind = z.infer<typeof ReportKindSchema>;

const CountSchema = z.number().int().nonnegative();
const FractionSchema = z.number().nonnegative();

/** Counts over the trailing 7, 30 and 90 days ending at the report's `now`. */
export const WindowCountsSchema = z.strictObject({ d7: CountSchema, d30: CountSchema, d90: CountSchema });
export type WindowCounts = z.infer<typeof WindowCountsSchema>;

export const GateReportRowSchema = z.strictObject({
  gate: z.string(),
  kind: z.enum(['slow', 'safety']).nullable(),
  tier: z.string().nullable(),
  /** Bypasses (requests that became active, standing scopes included) by activation time. */
  bypasses: WindowCountsSchema,
  /** This gate's share of all bypasses over the trailing 30 days (null when there were none). */
  shareOfBypasses30d: FractionSchema.nullable(),
  /** All requests ever filed on the gate vs all blocks the gate has counted since the store began. */
  requestsToBlocks: z.strictObject({ requests: CountSchema, blocks: CountSchema, ratio: FractionSchema.nullable() }),
  /** Gate checks answered `warn` because of a bypass (evaluation_under_bypass ledger entries). */
  evaluationsUnderBypass: WindowCountsSchema,
});
export type GateReportRow = z.infer<typeof GateReportRowSchema>;

export const GatesReportSchema = z.strictObject({
  now: TimestampSchema,
  totals: z.strictObject({ bypasses: WindowCountsSchema, blocks: CountSchema, evaluationsUnderBypass: WindowCountsSchema }),
  gates: z.array(GateReportRowSchema),
});
export type GatesReport = z.infer<typeof GatesReportSchema>;

export const ApproverGroupFlagSchema = z.enum(['rubber_stamping', 'theatre']);
export type ApproverGroupFlag = z.infer<typeof ApproverGroupFlagSchema>;

export const ApproverGroupRowSchema = z.strictObject({
  group: z.string(),
  members: z.array(PrincipalNameSchema),
  approvals: CountSchema,
  denials: CountSchema,
  /** approvals / (approvals + denials), null with no decisions. */
  approvalRate: FractionSchema.nullable(),
  /** Whether approvals + denials reached the minimum sample for a flag. */
  sampleSufficient: z.boolean(),
  flag: ApproverGroupFlagSchema.nullable(),
});
export type ApproverGroupRow = z.infer<typeof ApproverGroupRowSchema>;

export const ApproversReportSchema = z.strictObject({
  now: TimestampSchema,
  windowDays: z.number().int().positive(),
  minSample: z.number().int().positive(),
  groups: z.array(ApproverGroupRowSchema),
});
export type ApproversReport = z.infer<typeof ApproversReportSchema>;

export const DecisionTimeClassSchema = z.strictObject({
  /** `incident` = the request carries an incident reference; `other` = it does not. */
  class: z.enum(['incident', 'other']),
  /** `wall` = elapsed clock time; `business` = elapsed time on UTC Monday-Friday only. */
  clock: z.enum(['wall', 'business']),
  targetMs: z.number().int().positive(),
  decided: CountSchema,
  p50Ms: z.number().int().nonnegative().nullable(),
  p90Ms: z.number().int().nonnegative().nullable(),
  withinTarget: CountSchema,
  /** withinTarget / decided (null with no decisions). */
  withinTargetRate: FractionSchema.nullable(),
  /** True when p90 is within the target (null with no decisions). */
  p90MeetsTarget: z.boolean().nullable(),
  /** Requests of this class that lapsed with no decision at all (worse than any late decision). */
  lapsed: CountSchema,
  /** Requests of this class still waiting now, and how many of them are already past the target. */
  waiting: CountSchema,
  waitingPastTarget: CountSchema,
});
export type DecisionTimeClass = z.infer<typeof DecisionTimeClassSchema>;

export const DecisionTimesReportSchema = z.strictObject({
  now: TimestampSchema,
  windowDays: z.number().int().positive(),
  incident: DecisionTimeClassSchema,
  other: DecisionTimeClassSchema,
});
export type DecisionTimesReport = z.infer<typeof DecisionTimesReportSchema>;

export const OpenReviewSchema = z.strictObject({
  reviewId: z.string(),
  requestId: z.string(),
  gate: z.string(),
  team: z.string(),
  requester: PrincipalNameSchema,
  openedAt: TimestampSchema,
  ageMs: z.number().int().nonnegative(),
  /** Open for longer than the review deadline. */
  overdue: z.boolean(),
});
export type OpenReview = z.infer<typeof OpenReviewSchema>;

export const ReviewsReportSchema = z.strictObject({
  now: TimestampSchema,
  deadlineMs: z.number().int().positive(),
  total: CountSchema,
  /** Reviews whose deadline has passed or that are completed: the denominator of the rate. */
  due: CountSchema,
  completedOnTime: CountSchema,
  completedLate: CountSchema,
  openOverdue: CountSchema,
  openWithinDeadline: CountSchema,
  /** completedOnTime / due (null when nothing is due yet). */
  onTimeRate: FractionSchema.nullable(),
  open: z.array(OpenReviewSchema),
});
export type ReviewsReport = z.infer<typeof ReviewsReportSchema>;

export const TeamBudgetRowSchema = z.strictObject({
  team: z.string(),
  /** Null for a team that filed requests but is not (or no longer) in the policy. */
  budget: CountSchema.nullable(),
  used: CountSchema,
  /** used / budget (null without a budget or with a budget of 0). */
  usage: FractionSchema.nullable(),
  /** More bypasses this quarter than the budget allows: flagged for a (non-punitive) review. */
  overBudget: z.boolean(),
  requestIds: z.array(z.string()),
});
export type TeamBudgetRow = z.infer<typeof TeamBudgetRowSchema>;

export const TeamsReportSchema = z.strictObject({
  now: TimestampSchema,
  /** e.g. 2026-Q4, with its bounds [start, end). */
  quarter: z.string(),
  quarterStart: TimestampSchema,
  quarterEnd: TimestampSchema,
  teams: z.array(TeamBudgetRowSchema),
});
export type TeamsReport = z.infer<typeof TeamsReportSchema>;

export const FindingKindSchema = z.enum(['gate_dominates', 'gate_bypassed_every_week', 'rising_trend']);
export type FindingKind = z.infer<typeof FindingKindSchema>;

const WindowSchema = z.strictObject({ from: TimestampSchema, to: TimestampSchema });

export const FindingEvidenceSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('gate_dominates'),
    window: WindowSchema,
    gateBypasses: CountSchema,
    allBypasses: CountSchema,
    share: FractionSchema,
    thresholdShare: FractionSchema,
    minBypasses: CountSchema,
    requestIds: z.array(z.string()),
  }),
  z.strictObject({
    kind: z.literal('gate_bypassed_every_week'),
    /** ISO weeks oldest first, e.g. { week: '2026-W44', from, to, count, requestIds }. */
    weeks: z.array(z.strictObject({ week: z.string(), from: TimestampSchema, to: TimestampSchema, count: CountSchema, requestIds: z.array(z.string()) })),
    requestIds: z.array(z.string()),
  }),
  z.strictObject({
    kind: z.literal('rising_trend'),
    recent: WindowSchema.extend({ count: CountSchema }),
    previous: WindowSchema.extend({ count: CountSchema }),
    factor: FractionSchema,
    minRecent: CountSchema,
    /** Recent-window bypasses per gate, biggest first: where to start fixing. */
    byGate: z.array(z.strictObject({ gate: z.string(), recent: CountSchema, previous: CountSchema })),
    requestIds: z.array(z.string()),
  }),
]);
export type FindingEvidence = z.infer<typeof FindingEvidenceSchema>;

export const FindingSchema = z.strictObject({
  /**
   * Stable per kind, gate and ISO week of `now` (e.g. `gate_dominates:integration:2026-W48`):
   * a finding that persists is raised again at most once per week, which is what alerting keys on.
   */
  id: z.string(),
  kind: FindingKindSchema,
  /** The gate to fix; null for the overall trend. */
  gate: z.string().nullable(),
  /** Always "fix the gate": a bypass count is a bug report against the gate, not against people. */
  action: z.literal('fix the gate'),
  title: z.string(),
  message: z.string(),
  evidence: FindingEvidenceSchema,
});
export type Finding = z.infer<typeof FindingSchema>;

export const FindingsReportSchema = z.strictObject({ now: TimestampSchema, findings: z.array(FindingSchema) });
export type FindingsReport = z.infer<typeof FindingsReportSchema>;

/** Everything the Gate health screen and /metrics need, in one response. */
export const HealthReportSchema = z.strictObject({
  now: TimestampSchema,
  gates: GatesReportSchema,
  approvers: ApproversReportSchema,
  decisionTimes: DecisionTimesReportSchema,
  reviews: ReviewsReportSchema,
  teams: TeamsReportSchema,
  findings: FindingsReportSchema,
  /** Bypasses per gate per ISO week over the last 12 weeks (oldest first), for charts. */
  weekly: z.array(z.strictObject({ week: z.string(), from: TimestampSchema, counts: z.record(z.string(), CountSchema) })),
});
export type HealthReport = z.infer<typeof HealthReportSchema>;

/** GET /v1/reports/<kind> query: an optional `now` lets an auditor replay a past report. */
export const ReportQuerySchema = z.strictObject({ now: TimestampSchema.optional() });
