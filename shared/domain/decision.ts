import { z } from 'zod';
import { MAX_COMMENT_LENGTH, DigestSchema, PrincipalNameSchema, RequestIdSchema, TimestampSchema } from './common';
import { signedTextField, visibleLength } from './text-hygiene';
import { TtlSchema } from './ttl';
import { AttestationRefSchema, KeyHardwareSchema } from './identity';

const StatementCommentSchema = signedTextField({ kind: 'long', max: MAX_COMMENT_LENGTH });

export const DecisionKindSchema = z.enum(['approve', 'deny', 'request_info', 'revoke']);
export type DecisionKind = z.infer<typeof DecisionKindSchema>;

/** DSSE payload type of a signed decision. */
export const DECISION_PAYLOAD_TYPE = 'application/vnd.breakglass.decision+json';
export const DECISION_STATEMENT_TYPE = 'https://breakglass.dev/decision/v1';

/**
 * The statement an approver signs (canonical JSON, DSSE payload). `requestDigest` binds it to
 * one request; `nonce` makes every signature unique so the store can refuse replays.
 */
export const DecisionStatementSchema = z
  .strictObject({
    _type: z.literal(DECISION_STATEMENT_TYPE),
    requestId: RequestIdSchema,
    requestDigest: DigestSchema,
    decision: DecisionKindSchema,
    approver: PrincipalNameSchema,
    /** Signed as is: already trimmed, NFC and clean (newDecisionStatement prepares it). */
    comment: StatementCommentSchema,
    /** approve only: the TTL granted, at most the one asked. */
    ttl: TtlSchema.optional(),
    nonce: z.string().regex(/^[0-9a-f]{32}$/, 'must be 16 random bytes in hex'),
    /** Signer's clock, informational only: the ledger time comes from the server. */
    signedAt: TimestampSchema,
  })
  .superRefine((s, ctx) => {
    if (s.decision === 'approve' && !s.ttl) ctx.addIssue({ code: 'custom', path: ['ttl'], message: 'an approval states the TTL it grants' });
    if (s.decision !== 'approve' && s.ttl) ctx.addIssue({ code: 'custom', path: ['ttl'], message: 'only an approval carries a TTL' });
    if ((s.decision === 'deny' || s.decision === 'request_info' || s.decision === 'revoke') && visibleLength(s.comment) < 5)
      ctx.addIssue({ code: 'custom', path: ['comment'], message: `a ${s.decision} needs a comment of at least 5 characters saying why` });
  });
export type DecisionStatement = z.infer<typeof DecisionStatementSchema>;

/**
 * A Sigstore bundle (v0.3) as JSON. Checked structurally here; the signature, key hint and
 * payload are verified by the store (shared/node/signing) against the approver's enrolled key.
 */
export const SigstoreBundleJsonSchema = z.looseObject({
  mediaType: z.literal('application/vnd.dev.sigstore.bundle.v0.3+json'),
  verificationMaterial: z.looseObject({}),
  dsseEnvelope: z.looseObject({
    payload: z.string(),
    payloadType: z.string(),
    signatures: z.array(z.looseObject({ sig: z.string(), keyid: z.string().optional() })).min(1),
  }),
});
export type SigstoreBundleJson = z.infer<typeof SigstoreBundleJsonSchema>;

export const DecisionInputSchema = z.strictObject({ bundle: SigstoreBundleJsonSchema });
export type DecisionInput = z.infer<typeof DecisionInputSchema>;

export const DecisionRecordSchema = z.strictObject({
  requestId: RequestIdSchema,
  decision: DecisionKindSchema,
  approver: PrincipalNameSchema,
  keyId: z.string(),
  comment: z.string(),
  ttl: TtlSchema.nullable(),
  at: TimestampSchema,
  /** Ledger sequence number of the entry holding the signed bundle. */
  seq: z.number().int().nonnegative(),
  /** The kind of key that signed it, as the key was enrolled (absent from stores that predate it). */
  hardware: KeyHardwareSchema.optional(),
  /** The signing key's verified attestation, when `hardware` is attested. */
  attestation: AttestationRefSchema.optional(),
});
export type DecisionRecord = z.infer<typeof DecisionRecordSchema>;
