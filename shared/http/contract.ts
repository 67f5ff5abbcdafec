import type { z } from 'zod';
import { CHECK_ROUTES } from './check-routes';
import { IDENTITY_ROUTES } from './identity-routes';
import { LEDGER_ROUTES } from './ledger-routes';
import { table } from './route-def';
import { CancelInputSchema, HistoryQuerySchema, HistorySchema, ListRequestsQuerySchema, ReplyInputSchema, RequestCreatedSchema, RequestDetailSchema } from '../domain/api';
import { AuditQuerySchema } from '../domain/audit';
import { DecisionInputSchema } from '../domain/decision';
import { DigestQuerySchema } from '../domain/digest';
import { EmergencyAdminActionSchema, EmergencyOpenInputSchema, EmergencyOpenResultSchema, SealInputSchema, SealResultSchema } from '../domain/emergency';
import { IncidentWebhookResultSchema } from '../domain/incident';
import { AdmissionReviewRequestSchema } from '../gates/admission/admission-review';
import { ProviderRequestSchema } from '../gates/admission/gatekeeper';
import { KyvernoCheckRequestSchema } from '../gates/admission/kyverno';
import { RequestPageAssetParamsSchema, RequestPageCallbackQuerySchema, RequestPageQuerySchema, RequestPageSignInQuerySchema } from '../gates/request-link';
import { AuthConfigSchema, SessionCreatedSchema, SessionCreateInputSchema } from '../domain/session';
import { EnrolledKeySchema, KeyEnrollInputSchema, TokenCreatedSchema, TokenCreateInputSchema, TpmChallengeInputSchema, TpmChallengeSchema } from '../domain/identity';
import { NotificationsQuerySchema, NotificationsResponseSchema } from '../domain/notification';
import { ReportQuerySchema } from '../domain/reports';
import { RequestInputSchema } from '../domain/request';
import { ReviewCompleteInputSchema, ReviewSchema } from '../domain/review';
import {
  CredentialIdParamsSchema,
  DecisionBundleParamsSchema,
  DigestSendInputSchema,
  EmptyBodySchema,
  EventsQuerySchema,
  GateParamsSchema,
  IncidentSourceParamsSchema,
  InclusionProofQuerySchema,
  KeyParamsSchema,
  LedgerEntriesQuerySchema,
  PrincipalParamsSchema,
  ReportParamsSchema,
  RequestIdParamsSchema,
  ReviewIdParamsSchema,
  ReviewListQuerySchema,
  TokenIdParamsSchema,
} from './params';
import {
  AdmissionReviewResponseSchema,
  AuditRecordsSchema,
  CredentialEnvelopeSchema,
  CredentialListSchema,
  DecisionBundleResponseSchema,
  DecisionResultSchema,
  DigestSentSchema,
  DigestViewSchema,
  HealthzResponseSchema,
  InclusionProofSchema,
  KeyListSchema,
  KyvernoCheckResponseSchema,
  LedgerEntriesSchema,
  PolicyInfoSchema,
  PolicyReloadedSchema,
  ProviderResponseSchema,
  ReportSchema,
  RequestEnvelopeSchema,
  RequestListSchema,
  ReviewListSchema,
  SessionEnvelopeSchema,
  TokenEnvelopeSchema,
  TokenListSchema,
  TrustedRootResponseSchema,
} from './responses';

/**
 * THE grant store HTTP API: one entry per route. The server registers every route from this table
 * (grant-store/http/register-route.ts: role check, params/query/body parsed with these schemas,
 * response validated outside production), the clients call routes by name, GET /openapi.json is
 * generated from it, and the bad-input suite walks it. Adding a route = one entry here + one
 * handler (`ctx.route('name', handler)` in a grant-store/http/routes/ file).
 *
 * Conventions: JSON bodies (`content-type: application/json`, at most 256 KiB, else 413/415);
 * `Authorization: Bearer <token>` on every route that is not `public`; every error is
 * `{ error: AppErrorBody }` (shared/errors.ts) with the status of its code. Order of checks:
 * authenticate (401), role (403), path params (400, or 404 where `badParamsNotFound`), query
 * (400), body (400), then the handler (404 unknown ids, 409 illegal transitions...).
 * Routes without a `query` schema take no query string (an unknown parameter is a 400).
 */

/** Version of this contract (OpenAPI info.version): bumped when a route changes incompatibly. */
export const API_VERSION = '1.0.0';

export type { HttpMethod, RouteAccess, RouteDef } from './route-def';
export { fillPath } from './route-def';

const LEDGER_READERS = ['approver', 'auditor', 'admin'] as const;
const ADMIN = ['admin'] as const;
/**
 * Who reads post-incident reviews (README role table): approvers, auditors and admins, never a
 * requester-only token. Past the role check, every read route applies the one visibility rule
 * (shared/policy/visibility.ts): what each reader sees of requests, reviews and the ledger.
 */
const REVIEW_READERS = ['approver', 'auditor', 'admin'] as const;

export const ROUTES = table({
  // ── Health and identity ─────────────────────────────────────────────────────────────────
  healthz: { method: 'GET', path: '/healthz', summary: 'Liveness (no token needed).', roles: 'public', response: HealthzResponseSchema },
  whoami: IDENTITY_ROUTES.whoami,
  policy: { method: 'GET', path: '/v1/policy', summary: 'The policy in force, its hash and when it was loaded.', roles: 'authenticated', response: PolicyInfoSchema },
  history: {
    method: 'GET',
    path: '/v1/history',
    summary: "Bypass history of a requester, team or gate (requesters: only their own, ?requester=<you>).",
    roles: 'authenticated',
    query: HistoryQuerySchema,
    response: HistorySchema,
  },

  // ── Requests and decisions ──────────────────────────────────────────────────────────────
  createRequest: { method: 'POST', path: '/v1/requests', summary: 'File a bypass request.', roles: ['requester'], body: RequestInputSchema, bodyName: 'request', status: 201, response: RequestCreatedSchema },
  listRequests: {
    method: 'GET',
    path: '/v1/requests',
    summary: 'Requests the caller may see (requesters: their own; approvers: also the tiers they approve), newest first, a page at a time (limit, cursor; nextCursor names the next page).',
    roles: 'authenticated',
    query: ListRequestsQuerySchema,
    response: RequestListSchema,
  },
  getRequest: { method: 'GET', path: '/v1/requests/:id', summary: 'One request with its decisions and eligible approvers.', roles: 'authenticated', params: RequestIdParamsSchema, response: RequestDetailSchema },
  replyToRequest: {
    method: 'POST',
    path: '/v1/requests/:id/reply',
    summary: 'The requester answers a request for more information.',
    roles: ['requester'],
    params: RequestIdParamsSchema,
    body: ReplyInputSchema,
    bodyName: 'reply',
    response: RequestEnvelopeSchema,
  },
  cancelRequest: {
    method: 'POST',
    path: '/v1/requests/:id/cancel',
    summary: 'Cancel a pending request or end an active bypass early.',
    roles: ['requester', 'admin'],
    params: RequestIdParamsSchema,
    body: CancelInputSchema,
    bodyName: 'cancel',
    response: RequestEnvelopeSchema,
  },
  submitDecision: {
    method: 'POST',
    path: '/v1/requests/:id/decisions',
    summary: "A signed decision (approve, deny, request_info, revoke) as a Sigstore bundle from the approver's enrolled key.",
    roles: ['approver'],
    params: RequestIdParamsSchema,
    body: DecisionInputSchema,
    bodyName: 'decision',
    response: DecisionResultSchema,
  },

  // ── Gate checks ─────────────────────────────────────────────────────────────────────────
  ...CHECK_ROUTES,

  // ── The requester's request page (request-page/, built into request-page/dist) ─────────
  requestPage: {
    method: 'GET',
    path: '/request',
    summary: "The requester's request page: pre-filled from a block link (?gate=&scope=&rule=&ctx.*=), or a filed request's live status (?id=req_…).",
    roles: 'public',
    query: RequestPageQuerySchema,
    content: { 'text/html': 'the page (no secret; every API call it makes is authenticated)' },
  },
  requestPageAsset: {
    method: 'GET',
    path: '/request/assets/:file',
    summary: "The request page's script and styles (content-hashed names, cached for a year).",
    roles: 'public',
    params: RequestPageAssetParamsSchema,
    badParamsNotFound: 'no such asset of the request page',
    content: { 'text/javascript': 'the page script', 'text/css': 'the page styles' },
  },
  requestPageSignIn: {
    method: 'GET',
    path: '/request/sign-in',
    summary: "Single sign-on from the request page: a 303 to the IdP's authorization endpoint (code + PKCE, redirect <store>/request/callback).",
    roles: 'public',
    query: RequestPageSignInQuerySchema,
    content: { 'text/plain': '303 redirect to the identity provider' },
  },
  requestPageCallback: {
    method: 'GET',
    path: '/request/callback',
    summary: 'The IdP sends the browser back here: the code becomes a store session, handed to the page in the URL fragment (303).',
    roles: 'public',
    query: RequestPageCallbackQuerySchema,
    content: { 'text/plain': '303 redirect to the request page' },
  },

  // ── Kubernetes admission (one URL per gate; a gate token like `breakglass check`) ──────
  admissionGatekeeper: {
    method: 'POST',
    path: '/v1/admission/gatekeeper/:gate',
    summary: 'Gatekeeper external data: a ProviderRequest whose keys are subjects, answered per key.',
    roles: ['gate', 'admin'],
    params: GateParamsSchema,
    body: ProviderRequestSchema,
    bodyName: 'ProviderRequest',
    response: ProviderResponseSchema,
  },
  admissionKyverno: {
    method: 'POST',
    path: '/v1/admission/kyverno/:gate',
    summary: "Kyverno apiCall: whether an active bypass covers every subject of the object.",
    roles: ['gate', 'admin'],
    params: GateParamsSchema,
    body: KyvernoCheckRequestSchema,
    bodyName: 'apiCall body',
    response: KyvernoCheckResponseSchema,
  },
  admissionReview: {
    method: 'POST',
    path: '/v1/admission/review/:gate',
    summary: 'A validating admission webhook: AdmissionReview v1 in and out (warnings under a bypass, a 403 denial otherwise).',
    roles: ['gate', 'admin'],
    params: GateParamsSchema,
    body: AdmissionReviewRequestSchema,
    bodyName: 'AdmissionReview',
    response: AdmissionReviewResponseSchema,
  },

  // ── Sign-in sessions ────────────────────────────────────────────────────────────────────
  authConfig: { method: 'GET', path: '/v1/auth/config', summary: 'How to sign in: the IdP, client id and scopes; the trusted CI issuers.', roles: 'public', response: AuthConfigSchema },
  createSession: {
    method: 'POST',
    path: '/v1/sessions',
    summary: "Exchange an IdP ID token for a short-lived store session (no bearer: the body carries the ID token).",
    roles: 'public',
    body: SessionCreateInputSchema,
    bodyName: 'session',
    status: 201,
    response: SessionCreatedSchema,
  },
  endSession: { method: 'DELETE', path: '/v1/sessions/current', summary: 'Sign out: the session stops working at once, on every instance.', roles: 'authenticated', response: SessionEnvelopeSchema },

  // ── Post-incident reviews ───────────────────────────────────────────────────────────────
  listReviews: { method: 'GET', path: '/v1/reviews', summary: 'Reviews the caller may see, optionally by state, newest opened first, a page at a time (limit, cursor; nextCursor names the next page).', roles: REVIEW_READERS, query: ReviewListQuerySchema, response: ReviewListSchema },
  getReview: { method: 'GET', path: '/v1/reviews/:id', summary: 'One post-incident review.', roles: REVIEW_READERS, params: ReviewIdParamsSchema, response: ReviewSchema },
  completeReview: {
    method: 'POST',
    path: '/v1/reviews/:id/complete',
    summary: 'Sign off a review (never by the requester).',
    roles: ['approver', 'auditor', 'admin'],
    params: ReviewIdParamsSchema,
    body: ReviewCompleteInputSchema,
    bodyName: 'review completion',
    response: ReviewSchema,
  },

  // ── Administration ──────────────────────────────────────────────────────────────────────
  createToken: { method: 'POST', path: '/v1/admin/tokens', summary: 'Issue a bearer token (shown once).', roles: ADMIN, body: TokenCreateInputSchema, bodyName: 'token', status: 201, response: TokenCreatedSchema },
  listTokens: { method: 'GET', path: '/v1/admin/tokens', summary: 'Every token (never the secret).', roles: ADMIN, response: TokenListSchema },
  revokeToken: { method: 'DELETE', path: '/v1/admin/tokens/:id', summary: 'Revoke a token.', roles: ADMIN, params: TokenIdParamsSchema, response: TokenEnvelopeSchema },
  enrollKey: {
    method: 'POST',
    path: '/v1/admin/approvers/:principal/keys',
    summary: "Enroll an approver's public signing key.",
    roles: ADMIN,
    params: PrincipalParamsSchema,
    body: KeyEnrollInputSchema,
    bodyName: 'key',
    status: 201,
    response: EnrolledKeySchema,
  },
  createTpmChallenge: {
    method: 'POST',
    path: '/v1/approvers/:principal/tpm-challenges',
    summary: "A TPM credential-activation challenge (TPM2_MakeCredential) for an approver's attestation key, encrypted to the TPM's endorsement key; an approver asks for itself, an admin for anyone.",
    roles: ['approver', 'admin'],
    params: PrincipalParamsSchema,
    body: TpmChallengeInputSchema,
    bodyName: 'challenge',
    status: 201,
    response: TpmChallengeSchema,
  },
  listKeys: { method: 'GET', path: '/v1/admin/approvers/:principal/keys', summary: "An approver's enrolled keys.", roles: ADMIN, params: PrincipalParamsSchema, response: KeyListSchema },
  revokeKey: { method: 'DELETE', path: '/v1/admin/approvers/:principal/keys/:keyId', summary: "Revoke an approver's key.", roles: ADMIN, params: KeyParamsSchema, response: EnrolledKeySchema },
  reloadPolicy: { method: 'POST', path: '/v1/admin/policy/reload', summary: 'Reload the policy file; a changed policy is recorded in the ledger.', roles: ADMIN, body: EmptyBodySchema, bodyName: 'reload', response: PolicyReloadedSchema },

  // ── Events ──────────────────────────────────────────────────────────────────────────────
  events: {
    method: 'GET',
    path: '/v1/events',
    summary: 'Server-sent events: one `event: ledger` per committed entry the caller may see (`id:` = ledger seq); resume with Last-Event-ID or ?lastEventId=.',
    roles: 'authenticated',
    query: EventsQuerySchema,
    content: { 'text/event-stream': 'id: <seq>, event: ledger, data: <LedgerEntry JSON>; `: ping` comments every 15 s.' },
  },

  // ── Ledger (transparency log) ───────────────────────────────────────────────────────────
  ledgerEntries: { method: 'GET', path: '/v1/ledger/entries', summary: "Ledger entries by range, cut at the tree size read alongside; an entry outside the caller's view (shared/policy/visibility.ts) comes redacted: its seq and leaf hash.", roles: LEDGER_READERS, query: LedgerEntriesQuerySchema, response: LedgerEntriesSchema },
  ledgerCheckpoint: LEDGER_ROUTES.ledgerCheckpoint,
  inclusionProof: { method: 'GET', path: '/v1/ledger/proof/inclusion', summary: 'RFC 9162 inclusion proof of one entry (hashes base64).', roles: LEDGER_READERS, query: InclusionProofQuerySchema, response: InclusionProofSchema },
  consistencyProof: LEDGER_ROUTES.consistencyProof,
  submitCosignature: LEDGER_ROUTES.submitCosignature,
  ledgerPublicKey: LEDGER_ROUTES.ledgerPublicKey,
  trustedRoot: { method: 'GET', path: '/v1/ledger/trusted-root', summary: "Sigstore trusted root of the log, and the approvers' public keys.", roles: LEDGER_READERS, response: TrustedRootResponseSchema },
  decisionBundle: { method: 'GET', path: '/v1/ledger/decisions/:seq/bundle', summary: 'The Sigstore bundle of a decision entry, with its tlog entry.', roles: LEDGER_READERS, params: DecisionBundleParamsSchema, response: DecisionBundleResponseSchema },
  ledgerExport: LEDGER_ROUTES.ledgerExport,

  // C2SP tlog-tiles below the prefix /v1/ledger/tlog (https://c2sp.org/tlog-tiles): the checkpoint,
  // 256-hash tiles and entry bundles; N's path has 1 to 4 segments (with .p/<W> for a partial tile).
  tlogCheckpoint: { method: 'GET', path: '/v1/ledger/tlog/checkpoint', summary: 'C2SP tlog-tiles: the latest signed checkpoint (text/plain signed note).', roles: LEDGER_READERS, content: { 'text/plain': 'the signed checkpoint note' } },
  tlogTile1: LEDGER_ROUTES.tlogTile1,
  tlogTile2: LEDGER_ROUTES.tlogTile2,
  tlogTile3: LEDGER_ROUTES.tlogTile3,
  tlogTile4: LEDGER_ROUTES.tlogTile4,
  // Not C2SP: several full entry bundles in one read (fewer requests for a verifier reading them all).
  entryBundles: LEDGER_ROUTES.entryBundles,

  // ── Reports, audit, notifications, metrics ──────────────────────────────────────────────
  report: {
    method: 'GET',
    path: '/v1/reports/:kind',
    summary: 'A gate-health report (gates, approvers, decision-times, reviews, teams, findings, or health = all).',
    roles: ['approver', 'auditor', 'admin'],
    params: ReportParamsSchema,
    query: ReportQuerySchema,
    response: ReportSchema,
    badParamsNotFound: 'unknown report; one of: gates, approvers, decision-times, reviews, teams, findings, health',
  },
  audit: {
    method: 'GET',
    path: '/v1/audit',
    summary: 'One audit record per ledger event, filtered; as JSON lines (default), CSV, or JSON.',
    roles: ['auditor', 'admin'],
    query: AuditQuerySchema,
    response: AuditRecordsSchema,
    content: { 'application/x-ndjson': 'format=jsonl: one AuditRecord per line.', 'text/csv': 'format=csv: AUDIT_CSV_COLUMNS, one row per record.' },
  },
  notifications: {
    method: 'GET',
    path: '/v1/notifications',
    summary: "The caller's own notification feed from the ledger.",
    roles: 'authenticated',
    query: NotificationsQuerySchema,
    response: NotificationsResponseSchema,
  },
  metrics: {
    method: 'GET',
    path: '/metrics',
    summary: 'Prometheus gate-health metrics (scrape with a gate, auditor or admin token).',
    roles: ['auditor', 'admin', 'gate'],
    content: { 'text/plain': 'Prometheus text exposition format 0.0.4.' },
  },

  // ── Emergency credentials, incident webhooks, weekly digest ─────────────────────────────
  sealCredential: {
    method: 'POST',
    path: '/v1/emergency/credentials',
    summary: 'Seal an emergency credential; its one-use secret is in this answer only.',
    roles: ADMIN,
    body: SealInputSchema,
    bodyName: 'seal',
    status: 201,
    response: SealResultSchema,
  },
  listCredentials: { method: 'GET', path: '/v1/emergency/credentials', summary: 'Every emergency credential (never a secret).', roles: ['admin', 'auditor'], response: CredentialListSchema },
  resealCredential: {
    method: 'POST',
    path: '/v1/emergency/credentials/:id/reseal',
    summary: 'A fresh secret for the same gate, scope and holders (the old one stops working).',
    roles: ADMIN,
    params: CredentialIdParamsSchema,
    body: EmergencyAdminActionSchema,
    bodyName: 're-seal',
    status: 201,
    response: SealResultSchema,
  },
  retireCredential: {
    method: 'POST',
    path: '/v1/emergency/credentials/:id/retire',
    summary: 'Retire an emergency credential.',
    roles: ADMIN,
    params: CredentialIdParamsSchema,
    body: EmergencyAdminActionSchema,
    bodyName: 'retire',
    response: CredentialEnvelopeSchema,
  },
  openEmergency: {
    method: 'POST',
    path: '/v1/emergency/open',
    summary: "A holder uses an emergency credential: the bypass opens at once for the tier's shortest TTL and everyone is paged.",
    roles: 'authenticated',
    body: EmergencyOpenInputSchema,
    bodyName: 'emergency use',
    status: 201,
    response: EmergencyOpenResultSchema,
  },
  incidentWebhook: {
    method: 'POST',
    path: '/v1/incidents/:source/webhook',
    summary: "An incident source's webhook (PagerDuty v3, Opsgenie, generic HMAC); no token: the source's signature over the raw body authenticates it.",
    roles: 'public',
    params: IncidentSourceParamsSchema,
    rawBody: "The source's payload exactly as signed (any content type).",
    response: IncidentWebhookResultSchema,
  },
  digest: { method: 'GET', path: '/v1/digest', summary: "A week's digest (default: the last full week): figures, subject, HTML with inline SVG charts, text.", roles: ['approver', 'auditor', 'admin'], query: DigestQuerySchema, response: DigestViewSchema },
  sendDigest: { method: 'POST', path: '/v1/digest/send', summary: "Send a week's digest now (recorded as on demand).", roles: ADMIN, body: DigestSendInputSchema, bodyName: 'body', response: DigestSentSchema },

  openapi: { method: 'GET', path: '/openapi.json', summary: 'This API as an OpenAPI 3.1 document (no token needed).', roles: 'public', content: { 'application/json': 'OpenAPI 3.1 document.' } },
});

export type Routes = typeof ROUTES;
export type RouteName = keyof Routes;

type SchemaOf<R, K extends 'params' | 'query' | 'body' | 'response'> = R extends { [P in K]: infer S } ? (S extends z.ZodType ? S : never) : never;
/** What a handler receives after parsing (defaults applied, numbers coerced). */
export type RouteParams<N extends RouteName> = [SchemaOf<Routes[N], 'params'>] extends [never] ? Record<string, never> : z.output<SchemaOf<Routes[N], 'params'>>;
export type RouteQuery<N extends RouteName> = [SchemaOf<Routes[N], 'query'>] extends [never] ? Record<string, never> : z.output<SchemaOf<Routes[N], 'query'>>;
export type RouteBody<N extends RouteName> = Routes[N] extends { rawBody: string } ? Uint8Array : [SchemaOf<Routes[N], 'body'>] extends [never] ? undefined : z.output<SchemaOf<Routes[N], 'body'>>;
/** What a caller sends (before defaults and coercion). */
export type RouteParamsInput<N extends RouteName> = [SchemaOf<Routes[N], 'params'>] extends [never] ? undefined : z.input<SchemaOf<Routes[N], 'params'>>;
export type RouteQueryInput<N extends RouteName> = [SchemaOf<Routes[N], 'query'>] extends [never] ? undefined : z.input<SchemaOf<Routes[N], 'query'>>;
export type RouteBodyInput<N extends RouteName> = [SchemaOf<Routes[N], 'body'>] extends [never] ? undefined : z.input<SchemaOf<Routes[N], 'body'>>;
/** The JSON answer (`never` for routes that answer only streams or text). */
export type RouteResponse<N extends RouteName> = [SchemaOf<Routes[N], 'response'>] extends [never] ? never : z.output<SchemaOf<Routes[N], 'response'>>;

/** `/v1/requests/:id` → `/v1/requests/{id}` (OpenAPI). */
export function openApiPath(path: string): string {
  return path.replace(/:(\w+)/g, '{$1}');
}

