import { z } from 'zod';
import { PrincipalNameSchema, TimestampSchema } from './common';
import { DecisionTimesReportSchema, FindingSchema, OpenReviewSchema, TeamBudgetRowSchema } from './reports';

/**
 * The weekly digest for leadership: one ISO week on the wall clock of the policy's digest time
 * zone, compared with the four weeks before it. Computed from the same pure report functions as
 * `breakglass report` (grant-store/reports), so every figure can be checked against them;
 * rendered as HTML with charts, plain text and a Slack/webhook message (grant-store/digest).
 */

const CountSchema = z.number().int().nonnegative();

/** Weeks compared with the digest's week ("against the previous four weeks"). */
export const DIGEST_COMPARISON_WEEKS = 4;

export const DigestWeekSchema = z.strictObject({ week: z.string(), from: TimestampSchema, to: TimestampSchema });
export type DigestWeek = z.infer<typeof DigestWeekSchema>;

export const DigestCountRowSchema = z.strictObject({
  /** A gate id or a team name. */
  key: z.string(),
  /** Gate kind for gate rows (null for teams and for gates the policy no longer lists). */
  kind: z.enum(['slow', 'safety']).nullable(),
  thisWeek: CountSchema,
  /** The four previous weeks, oldest first. */
  previous: z.array(CountSchema),
  /** Mean of `previous`, two decimals. */
  previousAverage: z.number().nonnegative(),
});
export type DigestCountRow = z.infer<typeof DigestCountRowSchema>;

export const DigestEmergencyUseSchema = z.strictObject({
  seq: z.number().int().nonnegative(),
  at: TimestampSchema,
  credentialId: z.string(),
  requestId: z.string(),
  gate: z.string(),
  usedBy: PrincipalNameSchema,
  team: z.string().nullable(),
  incidentRef: z.string().nullable(),
  reason: z.string().nullable(),
  /** The mandatory review as of the week's end: its state and how many sign-offs it has of how many. */
  reviewState: z.enum(['review_open', 'reviewed']).nullable(),
  signoffs: CountSchema,
  signoffsRequired: CountSchema,
});
export type DigestEmergencyUse = z.infer<typeof DigestEmergencyUseSchema>;

export const DigestLedgerSchema = z.strictObject({
  /** Entries in the ledger at the time the digest was made. */
  size: CountSchema,
  checkpoint: z.strictObject({ size: CountSchema, rootHash: z.string(), signedAt: TimestampSchema }).nullable(),
  /** Entries not yet covered by a signed checkpoint. */
  unsigned: CountSchema,
  /** Why the log stopped signing, when it did (a rewritten history); null while healthy. */
  halted: z.string().nullable(),
  /** Witness cosignatures on the latest checkpoint, when the store keeps them. */
  witnesses: z.strictObject({ cosigned: CountSchema, quorum: CountSchema.nullable(), names: z.array(z.string()) }).nullable(),
});
export type DigestLedger = z.infer<typeof DigestLedgerSchema>;

export const DigestSchema = z.strictObject({
  week: z.string(),
  timeZone: z.string(),
  from: TimestampSchema,
  to: TimestampSchema,
  /** When the figures were computed (the store clock); reports are computed as of `to`. */
  generatedAt: TimestampSchema,
  previousWeeks: z.array(DigestWeekSchema),
  bypasses: z.strictObject({
    thisWeek: CountSchema,
    previous: z.array(CountSchema),
    previousAverage: z.number().nonnegative(),
    /** Of this week's bypasses: through a standing scope, pre-approved by an incident, opened with an emergency credential. */
    standing: CountSchema,
    preApproved: CountSchema,
    emergency: CountSchema,
    byGate: z.array(DigestCountRowSchema),
    byTeam: z.array(DigestCountRowSchema),
  }),
  /** Deviance findings as of the week's end ("fix the gate"). */
  findings: z.array(FindingSchema),
  /** Team budgets in the quarter that contains the week's end. */
  budgets: z.strictObject({ quarter: z.string(), teams: z.array(TeamBudgetRowSchema) }),
  reviews: z.strictObject({
    overdue: z.array(OpenReviewSchema),
    openWithinDeadline: CountSchema,
    onTimeRate: z.number().nonnegative().nullable(),
    due: CountSchema,
  }),
  decisionTimes: z.strictObject({
    /** Requests filed during the week. */
    week: DecisionTimesReportSchema,
    /** The trailing 90 days, as `breakglass report decision-times --now <to>`. */
    trailing: DecisionTimesReportSchema,
  }),
  emergency: z.strictObject({
    uses: z.array(DigestEmergencyUseSchema),
    /** Refused uses of a burned, retired or unknown credential during the week (each one alarmed). */
    refused: CountSchema,
  }),
  ledger: DigestLedgerSchema,
});
export type Digest = z.infer<typeof DigestSchema>;

/** GET /v1/digest?week=2026-W48 */
export const DigestQuerySchema = z.strictObject({ week: z.string().regex(/^\d{4}-W\d{2}$/, 'must be an ISO week like 2026-W48').optional() });
