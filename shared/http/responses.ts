import { z } from 'zod';
import { BypassRequestSchema } from '../domain/request';
import { DecisionRecordSchema, SigstoreBundleJsonSchema } from '../domain/decision';
import { EnrolledKeySchema, TokenInfoSchema } from '../domain/identity';
import { ServedLedgerEntrySchema } from '../domain/ledger-entry';
import { PolicySchema } from '../domain/policy';
import { ReviewSchema } from '../domain/review';
import { AuditRecordSchema } from '../domain/audit';
import { DigestSchema } from '../domain/digest';
import { EmergencyCredentialSchema } from '../domain/emergency';
import { SessionInfoSchema } from '../domain/session';
import { ADMISSION_REVIEW_API_VERSION } from '../gates/admission/admission-review';
import { GATEKEEPER_API_VERSIONS } from '../gates/admission/gatekeeper';
import {
  ApproversReportSchema,
  DecisionTimesReportSchema,
  FindingsReportSchema,
  GatesReportSchema,
  HealthReportSchema,
  ReviewsReportSchema,
  TeamsReportSchema,
} from '../domain/reports';
import { ApproverKeysJsonSchema, Base64Schema, SizeSchema, TrustedRootJsonSchema } from './ledger-routes';

// The ledger verifier's answers live with the ledger routes (ledger-routes.ts).
export { ConsistencyProofSchema, CosignatureStoredSchema, LedgerCheckpointSchema, LedgerExportPageSchema, LedgerHaltSchema, LogPublicKeySchema } from './ledger-routes';
export type { ConsistencyProof, LedgerCheckpoint, LedgerExportPage, LedgerHalt, LogPublicKey } from './ledger-routes';

/**
 * Response envelopes of the grant store's HTTP API that are not a domain object of their own
 * (lists, the ledger's proofs and exports). Named in the contract table (shared/http/contract.ts).
 */

/**
 * The witnesses' quorum on the latest checkpoint (grant-store/ledger/checkpoint-witnesses.ts);
 * below quorum is reported (an alarm past the grace period), never fatal to liveness.
 */
export const WitnessHealthSchema = z.strictObject({
  quorum: z.number().int(),
  treeSize: z.number().int().nonnegative(),
  cosigned: z.array(z.string()),
  missing: z.array(z.string()),
  belowQuorum: z.boolean(),
  failures: z.record(
    z.string(),
    z.strictObject({
      at: z.string(),
      treeSize: z.number().int().nonnegative(),
      message: z.string(),
      /** Pushes that failed in a row. */
      attempts: z.number().int().nonnegative(),
      /** When the store pushes to it again (null: with the next checkpoint). */
      retryAt: z.string().nullable(),
    }),
  ),
  /** The policy's grace period for a quorum (e.g. 15m). */
  grace: z.string(),
  /** Signing time of the oldest checkpoint no quorum has cosigned; null when the latest has its quorum. */
  unwitnessedSince: z.string().nullable(),
  /** True when that is longer ago than the grace period: the alarm. */
  overdue: z.boolean(),
  message: z.string().nullable(),
});

export const HealthzResponseSchema = z.strictObject({ ok: z.literal(true), witnesses: WitnessHealthSchema.optional() });

export const PolicyInfoSchema = z.strictObject({ policy: PolicySchema, hash: z.string(), loadedAt: z.string() });
export type PolicyInfo = z.infer<typeof PolicyInfoSchema>;

/** The cursor of the page after this one (shared/domain/page-cursor.ts), or null when no row follows. */
const NextCursorSchema = z.string().nullable();

/** A page of requests, newest first. */
export const RequestListSchema = z.strictObject({ requests: z.array(BypassRequestSchema), nextCursor: NextCursorSchema });
export const RequestEnvelopeSchema = z.strictObject({ request: BypassRequestSchema });
export const DecisionResultSchema = z.strictObject({ request: BypassRequestSchema, decision: DecisionRecordSchema });
export type DecisionResult = z.infer<typeof DecisionResultSchema>;
/** A page of reviews, newest opened first. */
export const ReviewListSchema = z.strictObject({ reviews: z.array(ReviewSchema), nextCursor: NextCursorSchema });

export const TokenListSchema = z.strictObject({ tokens: z.array(TokenInfoSchema) });
export const TokenEnvelopeSchema = z.strictObject({ token: TokenInfoSchema });
export const KeyListSchema = z.strictObject({ keys: z.array(EnrolledKeySchema) });
export const PolicyReloadedSchema = z.strictObject({ hash: z.string(), loadedAt: z.string(), changed: z.boolean() });

/** The audit as JSON; a page (cursor/limit) also says where the next one starts (null: no more). */
export const AuditRecordsSchema = z.strictObject({ records: z.array(AuditRecordSchema), nextCursor: z.number().int().nullable().optional() });

/** GET /v1/reports/:kind answers the report of that kind. */
export const ReportSchema = z.union([GatesReportSchema, ApproversReportSchema, DecisionTimesReportSchema, ReviewsReportSchema, TeamsReportSchema, FindingsReportSchema, HealthReportSchema]);

/** A page of entries; entries the caller may not see (shared/policy/visibility.ts) are redacted to their leaf hash. */
export const LedgerEntriesSchema = z.strictObject({ entries: z.array(ServedLedgerEntrySchema), treeSize: SizeSchema });
export type LedgerEntriesPage = z.infer<typeof LedgerEntriesSchema>;

export const InclusionProofSchema = z.strictObject({ seq: SizeSchema, treeSize: SizeSchema, rootHash: Base64Schema, leafHash: Base64Schema, hashes: z.array(Base64Schema) });
/** A Sigstore trusted root (trustedroot+json) and the approvers' keys, as the verifiers read them. */
export const TrustedRootResponseSchema = z.strictObject({ trustedRoot: TrustedRootJsonSchema, publicKeys: ApproverKeysJsonSchema });
export type TrustedRootResponse = z.infer<typeof TrustedRootResponseSchema>;

export const DecisionBundleResponseSchema = z.strictObject({ seq: SizeSchema, bundle: SigstoreBundleJsonSchema });

export const CredentialListSchema = z.strictObject({ credentials: z.array(EmergencyCredentialSchema) });
export const CredentialEnvelopeSchema = z.strictObject({ credential: EmergencyCredentialSchema });

/** GET /v1/digest: the figures and the digest as it would be mailed (charts as inline SVG). */
export const DigestViewSchema = z.strictObject({ digest: DigestSchema, subject: z.string(), html: z.string(), text: z.string() });
export const DigestSentSchema = z.strictObject({
  digest: DigestSchema,
  /** What the SMTP relay said; null when the policy names no recipients. */
  email: z.strictObject({ messageId: z.string(), accepted: z.array(z.string()), rejected: z.array(z.string()), response: z.string() }).nullable(),
  seq: z.number().int().nonnegative(),
});

export const SessionEnvelopeSchema = z.strictObject({ session: SessionInfoSchema });

/** Gatekeeper external data: one item per key, a value or that key's error (shared/gates/admission/gatekeeper.ts). */
export const ProviderResponseSchema = z.strictObject({
  apiVersion: z.enum(GATEKEEPER_API_VERSIONS),
  kind: z.literal('ProviderResponse'),
  response: z.strictObject({
    idempotent: z.boolean(),
    items: z.array(
      z.union([
        z.strictObject({
          key: z.string(),
          value: z.strictObject({ bypassed: z.boolean(), verdict: z.enum(['block', 'warn']), message: z.string(), requestUrl: z.string().nullable(), bypassId: z.string().nullable(), expiresAt: z.string().nullable() }),
        }),
        z.strictObject({ key: z.string(), error: z.string() }),
      ]),
    ),
    systemError: z.string().optional(),
  }),
});

/** What a Kyverno policy reads as `{{ breakglass.* }}` (shared/gates/admission/kyverno.ts). */
export const KyvernoCheckResponseSchema = z.strictObject({
  bypassed: z.boolean(),
  verdict: z.enum(['block', 'warn']),
  message: z.string(),
  requestUrl: z.string().nullable(),
  bypasses: z.array(z.strictObject({ id: z.string(), requestId: z.string(), expiresAt: z.string() })),
  subjects: z.array(z.record(z.string(), z.string())),
});

/** AdmissionReview v1 answer (shared/gates/admission/admission-review.ts). */
export const AdmissionReviewResponseSchema = z.strictObject({
  apiVersion: z.literal(ADMISSION_REVIEW_API_VERSION),
  kind: z.literal('AdmissionReview'),
  response: z.strictObject({
    uid: z.string(),
    allowed: z.boolean(),
    status: z.strictObject({ code: z.number().int(), message: z.string(), reason: z.string().optional() }).optional(),
    warnings: z.array(z.string()).optional(),
    auditAnnotations: z.record(z.string(), z.string()).optional(),
  }),
});
