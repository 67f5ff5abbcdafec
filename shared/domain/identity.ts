import { z } from 'zod';
import { PrincipalNameSchema, RoleSchema, TimestampSchema } from './common';
import { textField } from './text-hygiene';

export const TokenCreateInputSchema = z.strictObject({
  principal: PrincipalNameSchema,
  roles: z.array(RoleSchema).min(1),
  /** Optional lifetime; a token without one lives until revoked. */
  expiresInDays: z.number().int().min(1).max(3650).optional(),
});
export type TokenCreateInput = z.infer<typeof TokenCreateInputSchema>;

export const TokenInfoSchema = z.strictObject({
  id: z.string(),
  principal: PrincipalNameSchema,
  roles: z.array(RoleSchema),
  createdAt: TimestampSchema,
  expiresAt: TimestampSchema.nullable(),
  revokedAt: TimestampSchema.nullable(),
});
export type TokenInfo = z.infer<typeof TokenInfoSchema>;

/** Returned once at creation; the store keeps only a hash of `token`. */
export const TokenCreatedSchema = z.strictObject({ token: z.string(), info: TokenInfoSchema });

export const KeyEnrollInputSchema = z.strictObject({
  /** SPKI PEM of an ECDSA P-256 (or Ed25519) public key. */
  publicKeyPem: z.string().min(50).max(4000).includes('BEGIN PUBLIC KEY', { message: 'must be a PEM public key (BEGIN PUBLIC KEY)' }),
  /** The key lives on a PKCS#11 token (YubiKey PIV, smart card, TPM, HSM) and cannot be exported. */
  hardwareBacked: z.boolean().default(false),
  label: textField({ kind: 'line', max: 128 }).optional(),
});
export type KeyEnrollInput = z.infer<typeof KeyEnrollInputSchema>;

export const EnrolledKeySchema = z.strictObject({
  keyId: z.string(),
  principal: PrincipalNameSchema,
  publicKeyPem: z.string(),
  hardwareBacked: z.boolean(),
  label: z.string().nullable(),
  enrolledAt: TimestampSchema,
  revokedAt: TimestampSchema.nullable(),
});
export type EnrolledKey = z.infer<typeof EnrolledKeySchema>;

export const WhoAmISchema = z.strictObject({
  principal: PrincipalNameSchema,
  roles: z.array(RoleSchema),
  team: z.string().nullable(),
  approverGroups: z.array(z.string()),
  keys: z.array(EnrolledKeySchema),
});
export type WhoAmI = z.infer<typeof WhoAmISchema>;
