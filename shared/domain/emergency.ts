import { z } from 'zod';
import { DigestSchema, IncidentRefSchema, PrincipalNameSchema, ReasonSchema, RequestIdSchema, ScopeSchema, SeveritySchema, SlugSchema, TimestampSchema } from './common';
import { BypassRequestSchema } from './request';
import { TtlSchema } from './ttl';

/**
 * Sealed emergency credentials: a one-use secret for a pre-declared disaster scope, shown once
 * (and printed for the safe), stored only as its SHA-256. Using it opens a bypass at once with no
 * approver, pages everyone, opens a review that needs two sign-offs from outside the user's team,
 * and burns it.
 */

export const EmergencyCredentialIdSchema = z.string().regex(/^emc_[0-9a-f]{26}$/, 'must be an emergency credential id like emc_…');

export const EmergencyCredentialStateSchema = z.enum(['sealed', 'used', 'retired']);
export type EmergencyCredentialState = z.infer<typeof EmergencyCredentialStateSchema>;

/** A credential as the store keeps and shows it: never the secret, only its digest. */
export const EmergencyCredentialSchema = z.strictObject({
  id: EmergencyCredentialIdSchema,
  gate: SlugSchema,
  scope: ScopeSchema,
  /** Who may use it (each with their own token): named people, never a shared account. */
  holders: z.array(PrincipalNameSchema).min(1),
  label: z.string().max(200).nullable(),
  state: EmergencyCredentialStateSchema,
  /** SHA-256 of the secret's 32 bytes (also in the ledger, so an auditor can tie a use to its seal). */
  credentialDigest: DigestSchema,
  sealedBy: PrincipalNameSchema,
  sealedAt: TimestampSchema,
  /** The credential this one replaced (re-seal), and the one that replaced it. */
  replaces: EmergencyCredentialIdSchema.nullable(),
  replacedBy: EmergencyCredentialIdSchema.nullable(),
  usedAt: TimestampSchema.nullable(),
  usedBy: PrincipalNameSchema.nullable(),
  requestId: RequestIdSchema.nullable(),
  retiredAt: TimestampSchema.nullable(),
  retiredBy: PrincipalNameSchema.nullable(),
});
export type EmergencyCredential = z.infer<typeof EmergencyCredentialSchema>;

/** POST /v1/emergency/credentials (admin). */
export const SealInputSchema = z.strictObject({
  gate: SlugSchema,
  scope: ScopeSchema,
  holders: z.array(PrincipalNameSchema).min(1, 'name at least one holder').max(20),
  label: z.string().trim().min(1).max(200).optional(),
});
export type SealInput = z.infer<typeof SealInputSchema>;

/** The answer to a seal or re-seal: the only time the secret leaves the store. */
export const SealResultSchema = z.strictObject({
  credential: EmergencyCredentialSchema,
  /** The one-use secret, formatted for paper (bgem-xxxx-...): shown once, never stored. */
  secret: z.string(),
  /** The bypass it would open: the gate's tier's shortest TTL. */
  ttl: TtlSchema,
});
export type SealResult = z.infer<typeof SealResultSchema>;

/** POST /v1/emergency/credentials/:id/reseal and /retire (admin). */
export const EmergencyAdminActionSchema = z.strictObject({ reason: z.string().trim().min(10, 'say why (at least 10 characters)').max(500) });

/** POST /v1/emergency/open (a holder's token + the secret). */
export const EmergencyOpenInputSchema = z.strictObject({
  credential: z.string().min(1).max(200),
  reason: ReasonSchema,
  incidentRef: IncidentRefSchema,
  severity: SeveritySchema.default('sev1'),
});
export type EmergencyOpenInput = z.infer<typeof EmergencyOpenInputSchema>;

export const EmergencyOpenResultSchema = z.strictObject({
  request: BypassRequestSchema,
  credentialId: EmergencyCredentialIdSchema,
  reviewId: z.string(),
  /** Who was paged (notify lists, approvers) and how many webhooks got the critical alert. */
  paged: z.array(PrincipalNameSchema),
  webhooks: z.number().int().nonnegative(),
});
export type EmergencyOpenResult = z.infer<typeof EmergencyOpenResultSchema>;
