import { z } from 'zod';
import {
  CommentSchema,
  DigestSchema,
  IncidentRefSchema,
  PrincipalNameSchema,
  ReasonSchema,
  RequestIdSchema,
  ScopeSchema,
  SeveritySchema,
  SlugSchema,
  TimestampSchema,
} from './common';
import { TtlSchema } from './ttl';
import { AttestationRefSchema } from './identity';

/**
 * Request lifecycle. `pending` waits for its tier's threshold of distinct approvers;
 * `active` is the bypass window; the rest are terminal. See shared/policy/state-machine.ts.
 */
export const RequestStateSchema = z.enum(['pending', 'needs_info', 'active', 'denied', 'cancelled', 'lapsed', 'expired', 'revoked']);
export type RequestState = z.infer<typeof RequestStateSchema>;
export const TERMINAL_STATES: readonly RequestState[] = ['denied', 'cancelled', 'lapsed', 'expired', 'revoked'];

/** What a requester sends (CLI flags, console, HTTP body). The server adds everything else. */
export const RequestInputSchema = z.strictObject({
  gate: SlugSchema,
  scope: ScopeSchema,
  reason: ReasonSchema,
  incidentRef: IncidentRefSchema.optional(),
  severity: SeveritySchema,
  ttl: TtlSchema,
  /** Extending an active bypass is a new request linked to it, approved like any other. */
  extends: RequestIdSchema.optional(),
});
export type RequestInput = z.infer<typeof RequestInputSchema>;

/**
 * The immutable part of a request, fixed at filing. Its canonical JSON's SHA-256 is the
 * `requestDigest` every decision signs, so a signature can never be replayed onto another request.
 */
export const CanonicalRequestSchema = z.strictObject({
  id: RequestIdSchema,
  requester: PrincipalNameSchema,
  team: SlugSchema,
  gate: SlugSchema,
  scope: ScopeSchema,
  reason: z.string(),
  incidentRef: z.string().nullable(),
  severity: SeveritySchema,
  ttl: TtlSchema,
  extends: RequestIdSchema.nullable(),
  createdAt: TimestampSchema,
});
export type CanonicalRequest = z.infer<typeof CanonicalRequestSchema>;

export const ApprovalSchema = z.strictObject({
  approver: PrincipalNameSchema,
  keyId: z.string(),
  hardwareBacked: z.boolean(),
  /** The attestation of the key that signed it (absent: a claimed or software key, or an approval from before attestations). */
  attestation: AttestationRefSchema.optional(),
  /** TTL this approver granted (at most the one asked). */
  ttl: TtlSchema,
  comment: z.string(),
  at: TimestampSchema,
});
export type Approval = z.infer<typeof ApprovalSchema>;

export const MessageSchema = z.strictObject({
  from: PrincipalNameSchema,
  kind: z.enum(['question', 'reply', 'comment']),
  text: z.string(),
  at: TimestampSchema,
});

/** The requester's team against its quarterly bypass budget when the request was filed (shared/policy/budget.ts). */
export const RequestBudgetSchema = z.strictObject({
  /** Calendar quarter (UTC), e.g. 2026-Q4. */
  quarter: z.string().regex(/^\d{4}-Q[1-4]$/),
  /** Bypasses the team activated this quarter before this request was filed. */
  used: z.number().int().nonnegative(),
  budget: z.number().int().nonnegative(),
  /** used > budget: approvers see it, and the tier's overBudgetExtraApprovers apply. */
  over: z.boolean(),
});
export type RequestBudget = z.infer<typeof RequestBudgetSchema>;

/** A request as the store reports it. */
export const BypassRequestSchema = CanonicalRequestSchema.extend({
  digest: DigestSchema,
  state: RequestStateSchema,
  tier: SlugSchema,
  gateKind: z.enum(['slow', 'safety']),
  /** The tier's approvals, plus its overBudgetExtraApprovers when the team was over budget at filing. */
  approvalsRequired: z.number().int().min(0).max(4),
  approvals: z.array(ApprovalSchema),
  messages: z.array(MessageSchema),
  /** Set when the request came through a standing (pre-authorized) scope. */
  standingScope: SlugSchema.nullable(),
  bypassId: z.string().nullable(),
  approvedTtl: TtlSchema.nullable(),
  activatedAt: TimestampSchema.nullable(),
  expiresAt: TimestampSchema.nullable(),
  /** When the request left pending/needs_info/active (decision, expiry, revocation...). */
  closedAt: TimestampSchema.nullable(),
  /** A pending request lapses at this time if nobody decides. */
  lapsesAt: TimestampSchema.nullable(),
  updatedAt: TimestampSchema,
  closeComment: CommentSchema.nullable(),
  closedBy: PrincipalNameSchema.nullable(),
  /**
   * Set when a sealed emergency credential opened this bypass (no approver): the credential's id.
   * Absent on requests stored before emergency credentials existed (read as null).
   */
  emergencyCredential: z.string().nullable().optional(),
  /** The team's budget standing at filing; absent on requests filed before budgets acted (read as null). */
  budget: RequestBudgetSchema.nullable().optional(),
  /** Set when an on-call incident pre-approved it (see IncidentPreApprovalSchema). */
  preApproval: z
    .strictObject({
      /** The policy's incident source id (pagerduty, opsgenie, ...) and the incident's id there. */
      source: SlugSchema,
      incidentId: z.string(),
      /** The policy rule that mapped the incident to this gate and scope. */
      rule: SlugSchema,
      /** SHA-256 of the webhook payload that last set the incident's state and assignees. */
      payloadDigest: DigestSchema,
      /** Ledger seq of the incident_event entry recording that payload. */
      eventSeq: z.number().int().nonnegative(),
    })
    .nullable()
    .optional(),
});
export type BypassRequest = z.infer<typeof BypassRequestSchema>;
