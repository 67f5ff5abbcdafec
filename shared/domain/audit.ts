import { z } from 'zod';
import { LedgerEntryTypeSchema } from './ledger-entry';
import { PrincipalNameSchema, RoleSchema, SlugSchema, TimestampSchema } from './common';
import { TIMESTAMP_PATTERN } from './patterns';
import { ReviewFindingSchema, ReviewStateSchema } from './review';

/**
 * GET /v1/audit: one record per ledger event, shaped as the audit record an auditor asks for
 * (seed 002, "The Audit Record, Concretely"): who (named identity + role), what (action +
 * target), when (server UTC), why (reason + incident ref), which gate, who approved, until
 * when, from which address, and the post-bypass review status joined from the reviews.
 * The full signed entries (bundles included) stay in `breakglass ledger export`.
 */
export const AuditQuerySchema = z.strictObject({
  /** Inclusive lower bound on the event time. */
  from: TimestampSchema.optional(),
  /** Exclusive upper bound on the event time. */
  to: TimestampSchema.optional(),
  gate: SlugSchema.optional(),
  team: SlugSchema.optional(),
  actor: z.union([PrincipalNameSchema, z.literal('system')]).optional(),
  format: z.enum(['jsonl', 'csv', 'json']).default('jsonl'),
  /**
   * Keyset paging: records after this ledger seq (-1: from the start); the answer's nextCursor
   * (JSON) or Breakglass-Next-Cursor header (jsonl/csv) is the next page's cursor. Without
   * cursor and limit the whole audit is streamed.
   */
  cursor: z.coerce.number().int().min(-1).optional(),
  /** Records per page (with or without cursor). */
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
}).refine((q) => q.from === undefined || q.to === undefined || !TIMESTAMP_PATTERN.test(q.from) || !TIMESTAMP_PATTERN.test(q.to) || q.from < q.to, {
  // An empty window is a typo (the bounds swapped), not a question with no answer. (Checked
  // only between two timestamps: a malformed bound has its own error. Canonical UTC text sorts as time.)
  path: ['to'],
  error: (issue) => `must be after from (${(issue.input as { from?: string }).from}): the window [from, to) is empty`,
});
export type AuditQuery = z.infer<typeof AuditQuerySchema>;

export const AuditRecordSchema = z.strictObject({
  seq: z.number().int().nonnegative(),
  /** When: server UTC. */
  time: TimestampSchema,
  /** Who: a named identity (or `system`) and the role it acted in. */
  actor: z.string(),
  actorRole: z.union([RoleSchema, z.literal('system')]),
  /** What: the ledger event type and what it was about (req_…, rev_…, a principal, a key id). */
  action: LedgerEntryTypeSchema,
  target: z.string(),
  /** The request the event belongs to, when it belongs to one. */
  requestId: z.string().nullable(),
  team: z.string().nullable(),
  /** Which gate. */
  gate: z.string().nullable(),
  /** Why. */
  reason: z.string().nullable(),
  incidentRef: z.string().nullable(),
  severity: z.string().nullable(),
  /** For decision entries: approve | deny | request_info | revoke. */
  decision: z.string().nullable(),
  /** Who approved (comma-separated, as recorded at the event; else the request's approvers). */
  approvers: z.string().nullable(),
  /** When the bypass expired / expires. */
  expiresAt: TimestampSchema.nullable(),
  /** From which address. */
  sourceAddress: z.string().nullable(),
  /** The request's post-bypass review, joined now: null when none was opened (yet). */
  reviewId: z.string().nullable(),
  reviewStatus: ReviewStateSchema.nullable(),
  reviewFinding: ReviewFindingSchema.nullable(),
  /** The entry's type-specific data as JSON, without the signed bundle and Rekor body. */
  details: z.string(),
});
export type AuditRecord = z.infer<typeof AuditRecordSchema>;

/** Column order of the CSV export: the auditor's questions in the order they ask them. */
export const AUDIT_CSV_COLUMNS = [
  'seq',
  'time',
  'actor',
  'actorRole',
  'action',
  'target',
  'requestId',
  'team',
  'gate',
  'reason',
  'incidentRef',
  'severity',
  'decision',
  'approvers',
  'expiresAt',
  'sourceAddress',
  'reviewId',
  'reviewStatus',
  'reviewFinding',
  'details',
] as const satisfies readonly (keyof AuditRecord)[];
