import { z } from 'zod';
import { PrincipalNameSchema, RequestIdSchema, ReviewIdSchema, SlugSchema, TimestampSchema } from './common';
import { textField } from './text-hygiene';

export const ReviewStateSchema = z.enum(['review_open', 'reviewed']);
export const ReviewFindingSchema = z.enum(['justified', 'not_justified', 'fix_the_gate']);
export type ReviewFinding = z.infer<typeof ReviewFindingSchema>;

export const TimelineItemSchema = z.strictObject({
  seq: z.number().int().nonnegative(),
  time: z.string(),
  type: z.string(),
  actor: z.string(),
  summary: z.string(),
  /**
   * Present when the item stands for a run of `count` consecutive ledger entries of this type by
   * this actor (thousands of gate evaluations under one bypass): the first is `seq`/`time`/
   * `summary`, the last `lastSeq`/`lastTime`; every one of them is in the ledger
   * (shared/domain/review-timeline.ts).
   */
  run: z.strictObject({ count: z.number().int().min(2), lastSeq: z.number().int().nonnegative(), lastTime: z.string() }).optional(),
});
export type TimelineItem = z.infer<typeof TimelineItemSchema>;

/** One reviewer's sign-off on a review that needs several (emergency credential uses). */
export const ReviewSignoffSchema = z.strictObject({
  by: PrincipalNameSchema,
  /** The reviewer's team in the policy at the time (null: in no team). */
  team: SlugSchema.nullable(),
  finding: ReviewFindingSchema,
  note: z.string(),
  at: TimestampSchema,
  /** The reviewer approved the bypass under review (allowed, warned about, recorded). Absent on older sign-offs. */
  selfReview: z.boolean().optional(),
});
export type ReviewSignoff = z.infer<typeof ReviewSignoffSchema>;

/** A post-incident review, opened by the store when a bypass expires or is revoked. */
export const ReviewSchema = z.strictObject({
  id: ReviewIdSchema,
  requestId: RequestIdSchema,
  gate: SlugSchema,
  requester: PrincipalNameSchema,
  team: SlugSchema,
  state: ReviewStateSchema,
  openedAt: TimestampSchema,
  /** Pre-filled from the ledger: request, decisions, activation, evaluations (long runs folded), expiry. */
  timeline: z.array(TimelineItemSchema),
  finding: ReviewFindingSchema.nullable(),
  note: z.string().nullable(),
  completedBy: PrincipalNameSchema.nullable(),
  completedAt: TimestampSchema.nullable(),
  /**
   * Sign-offs needed before the review is complete (absent = 1). An emergency credential's review
   * needs two, each from outside the requester's team (`outsideTeamOnly`); `signoffs` lists them.
   */
  signoffsRequired: z.number().int().min(1).max(5).optional(),
  outsideTeamOnly: z.boolean().optional(),
  signoffs: z.array(ReviewSignoffSchema).optional(),
  /** Who approved the reviewed bypass (absent on reviews opened before the store recorded it). */
  approvedBy: z.array(PrincipalNameSchema).optional(),
  /**
   * Who the store assigned the review to when it opened (shared/policy/review-assignment): eligible
   * approvers who took no part, else the bypass's approvers. Anyone allowed may still sign off.
   */
  assignedTo: z.array(PrincipalNameSchema).optional(),
  /** The completing sign-off was by someone who approved the bypass (a self-review); absent on older reviews. */
  selfReview: z.boolean().optional(),
});
export type Review = z.infer<typeof ReviewSchema>;

export const ReviewCompleteInputSchema = z.strictObject({
  finding: ReviewFindingSchema,
  note: textField({ kind: 'long', min: 10, max: 5000, minMessage: 'a review note needs at least 10 characters' }),
});
export type ReviewCompleteInput = z.infer<typeof ReviewCompleteInputSchema>;
