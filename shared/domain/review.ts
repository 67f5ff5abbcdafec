import { z } from 'zod';
import { PrincipalNameSchema, RequestIdSchema, ReviewIdSchema, SlugSchema, TimestampSchema } from './common';

export const ReviewStateSchema = z.enum(['review_open', 'reviewed']);
export const ReviewFindingSchema = z.enum(['justified', 'not_justified', 'fix_the_gate']);
export type ReviewFinding = z.infer<typeof ReviewFindingSchema>;

export const TimelineItemSchema = z.strictObject({
  seq: z.number().int().nonnegative(),
  time: z.string(),
  type: z.string(),
  actor: z.string(),
  summary: z.string(),
});
export type TimelineItem = z.infer<typeof TimelineItemSchema>;

/** A post-incident review, opened by the store when a bypass expires or is revoked. */
export const ReviewSchema = z.strictObject({
  id: ReviewIdSchema,
  requestId: RequestIdSchema,
  gate: SlugSchema,
  requester: PrincipalNameSchema,
  team: SlugSchema,
  state: ReviewStateSchema,
  openedAt: TimestampSchema,
  /** Pre-filled from the ledger: request, decisions, activation, evaluations, expiry. */
  timeline: z.array(TimelineItemSchema),
  finding: ReviewFindingSchema.nullable(),
  note: z.string().nullable(),
  completedBy: PrincipalNameSchema.nullable(),
  completedAt: TimestampSchema.nullable(),
});
export type Review = z.infer<typeof ReviewSchema>;

export const ReviewCompleteInputSchema = z.strictObject({
  finding: ReviewFindingSchema,
  note: z.string().trim().min(10, 'a review note needs at least 10 characters').max(5000),
});
export type ReviewCompleteInput = z.infer<typeof ReviewCompleteInputSchema>;
