import { z } from 'zod';
import { RequestStateSchema, BypassRequestSchema } from './request';
import { DecisionRecordSchema } from './decision';
import { CommentSchema, MAX_COMMENT_LENGTH, PrincipalNameSchema, SlugSchema } from './common';
import { textField } from './text-hygiene';

/**
 * The grant store's HTTP API (all JSON, `Authorization: Bearer <token>`, errors as
 * `{ error: AppErrorBody }` from shared/errors.ts). Request bodies are the *InputSchemas in
 * shared/domain; this file holds query strings and response envelopes shared by the store,
 * the CLI and the console's store client.
 *
 *   GET  /healthz                                   liveness (no auth)
 *   GET  /v1/whoami                                 WhoAmI
 *   GET  /v1/policy                                 { policy, hash, loadedAt }
 *   POST /v1/requests            RequestInput       201 RequestCreated
 *   GET  /v1/requests?…          ListRequestsQuery  { requests: BypassRequest[] }
 *   GET  /v1/requests/:id                           RequestDetail
 *   POST /v1/requests/:id/reply  { message }        { request }   (requester answers needs_info)
 *   POST /v1/requests/:id/cancel { comment? }       { request }
 *   POST /v1/requests/:id/decisions DecisionInput   { request, decision }
 *   POST /v1/checks              CheckInput         CheckResult
 *   GET  /v1/reviews?state=                         { reviews }
 *   GET  /v1/reviews/:id                            Review
 *   POST /v1/reviews/:id/complete ReviewCompleteInput  Review
 *   GET  /v1/history?requester=&team=&gate=         History
 *   GET  /v1/ledger/entries?from=&limit=            { entries, treeSize }
 *   POST /v1/admin/tokens        TokenCreateInput   201 TokenCreated
 *   GET  /v1/admin/tokens                           { tokens }
 *   DELETE /v1/admin/tokens/:id                     { token }
 *   POST /v1/admin/approvers/:principal/keys KeyEnrollInput  201 EnrolledKey
 *   GET  /v1/admin/approvers/:principal/keys        { keys }
 *   DELETE /v1/admin/approvers/:principal/keys/:keyId   EnrolledKey (revoked)
 *   POST /v1/admin/policy/reload                    { hash, loadedAt, changed }
 *   GET  /v1/auth/config                            AuthConfig (no auth: IdP issuer, client id, scopes; CI issuers)
 *   POST /v1/sessions            SessionCreateInput 201 SessionCreated (no bearer: the body's ID token authenticates)
 *   DELETE /v1/sessions/current                     { session }  (sign out; the bearer must be a session)
 *   POST /v1/checks/workload     WorkloadCheckInput CheckResult (bearer: the CI job's OIDC ID token)
 *   POST /v1/admission/gatekeeper/:gate  ProviderRequest      ProviderResponse (shared/gates/admission/gatekeeper.ts)
 *   POST /v1/admission/kyverno/:gate     KyvernoCheckRequest  KyvernoCheckResponse (shared/gates/admission/kyverno.ts)
 *   POST /v1/admission/review/:gate      AdmissionReview v1   AdmissionReview v1 (shared/gates/admission/admission-review.ts)
 *   GET  /v1/events?lastEventId=                    text/event-stream (added by the grant store):
 *        one `event: ledger` per committed ledger entry the caller may see, `id:` = ledger seq,
 *        `data:` = the LedgerEntry JSON; resume with the Last-Event-ID header (or ?lastEventId=).
 *
 * Roles: requests are filed/replied/cancelled by `requester`; decisions need `approver` (and an
 * enrolled key); checks need `gate` (or `admin`); /v1/admin/* needs `admin`; ledger entries
 * need `approver`, `auditor` or `admin`. Reads are filtered: requesters see their own requests,
 * approvers also those of tiers they approve for, auditors and admins everything.
 * Limits: bodies over 256 KiB → 413; a body that is not application/json → 415.
 */

export const ListRequestsQuerySchema = z.strictObject({
  state: z.union([RequestStateSchema, z.literal('open')]).optional(),
  /** Only requests this caller may decide and has not yet decided. */
  awaiting: z.literal('me').optional(),
  requester: PrincipalNameSchema.optional(),
  team: SlugSchema.optional(),
  gate: SlugSchema.optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
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
