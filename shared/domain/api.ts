import { z } from 'zod';
import { RequestStateSchema, BypassRequestSchema } from './request';
import { DecisionRecordSchema } from './decision';
import { CommentSchema, MAX_COMMENT_LENGTH, PrincipalNameSchema, SlugSchema } from './common';
import { textField } from './text-hygiene';
import { PageLimitSchema, pageCursorSchema } from './page-cursor';

/**
 * Query strings and response envelopes of the grant store's HTTP API that are domain objects of
 * their own (requests, history). The routes themselves, with their roles, bodies and answers,
 * are the contract table: shared/http/contract.ts (served as OpenAPI at GET /openapi.json).
 */

export const ListRequestsQuerySchema = z.strictObject({
  state: z.union([RequestStateSchema, z.literal('open')]).optional(),
  /** Only requests this caller may decide and has not yet decided. */
  awaiting: z.literal('me').optional(),
  requester: PrincipalNameSchema.optional(),
  team: SlugSchema.optional(),
  gate: SlugSchema.optional(),
  /** Requests per page (newest first). */
  limit: PageLimitSchema,
  /** Keyset paging: the requests after this one, as a previous page's nextCursor names it (shared/domain/page-cursor.ts). */
  cursor: pageCursorSchema('requests').optional(),
});
export type ListRequestsQuery = z.infer<typeof ListRequestsQuerySchema>;

export const RequestCreatedSchema = z.strictObject({
  request: BypassRequestSchema,
  /** Principals who may approve it (after separation-of-duties rules). */
  approvers: z.array(PrincipalNameSchema),
});
export type RequestCreated = z.infer<typeof RequestCreatedSchema>;

export const RequestDetailSchema = z.strictObject({
  request: BypassRequestSchema,
  decisions: z.array(DecisionRecordSchema),
  approvers: z.array(PrincipalNameSchema),
});
export type RequestDetail = z.infer<typeof RequestDetailSchema>;

export const ReplyInputSchema = z.strictObject({ message: textField({ kind: 'long', min: 5, max: MAX_COMMENT_LENGTH, minMessage: 'a reply needs at least 5 characters' }) });
export const CancelInputSchema = z.strictObject({ comment: CommentSchema.optional() });

export const HistoryQuerySchema = z.strictObject({
  requester: PrincipalNameSchema.optional(),
  team: SlugSchema.optional(),
  gate: SlugSchema.optional(),
});

const OutcomeCountsSchema = z.strictObject({ last30Days: z.number().int(), last90Days: z.number().int() });

/** Bypass history shown next to a request: the requester's, the team's and the gate's. */
export const HistorySchema = z.strictObject({
  requester: z.strictObject({ name: z.string(), counts: OutcomeCountsSchema, recent: z.array(BypassRequestSchema) }).nullable(),
  team: z
    .strictObject({ name: z.string(), counts: OutcomeCountsSchema, recent: z.array(BypassRequestSchema), budget: z.number().int(), usedThisQuarter: z.number().int() })
    .nullable(),
  gate: z.strictObject({ id: z.string(), counts: OutcomeCountsSchema, frequentlyBypassed: z.boolean() }).nullable(),
});
export type History = z.infer<typeof HistorySchema>;
