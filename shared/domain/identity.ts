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

const CertificatePemSchema = z.string().max(8000).includes('BEGIN CERTIFICATE', { message: 'must be a PEM certificate (BEGIN CERTIFICATE)' });

/**
 * What a token says about a key it generated. `piv`: the certificates as a YubiKey gives them,
 * the key's attestation certificate first, then the device's attestation certificate (slot f9)
 * and any intermediates, up to (not including) a root the policy names.
 */
export const KeyAttestationInputSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('piv'), certificates: z.array(CertificatePemSchema).min(2).max(4) }),
]);
export type KeyAttestationInput = z.infer<typeof KeyAttestationInputSchema>;

/** A verified attestation, as recorded with the key and in its ledger entry. */
export const KeyAttestationSchema = z.strictObject({
  kind: z.enum(['piv']),
  /** The policy root (attestation.roots[].id) the chain ended at. */
  root: z.string(),
  /** The device's serial number. */
  serial: z.string(),
  /** PIV: PIN policy (never | once | always) and touch policy (never | always | cached). */
  policy: z.record(z.string(), z.string()),
});
export type KeyAttestation = z.infer<typeof KeyAttestationSchema>;

/** How much the store knows about where a key lives: `attested` (verified), `claimed` (--hardware alone) or `software`. */
export type KeyHardware = 'attested' | 'claimed' | 'software';
export function keyHardware(key: { hardwareBacked: boolean; attestation?: KeyAttestation | null }): KeyHardware {
  return key.attestation ? 'attested' : key.hardwareBacked ? 'claimed' : 'software';
}

export const KeyEnrollInputSchema = z.strictObject({
  /** SPKI PEM of an ECDSA P-256 (or Ed25519) public key. */
  publicKeyPem: z.string().min(50).max(4000).includes('BEGIN PUBLIC KEY', { message: 'must be a PEM public key (BEGIN PUBLIC KEY)' }),
  /** The key lives on a PKCS#11 token (YubiKey PIV, smart card, TPM, HSM) and cannot be exported. */
  hardwareBacked: z.boolean().default(false),
  label: textField({ kind: 'line', max: 128 }).optional(),
  /** The token's attestation of the key (verified against the policy's attestation roots); implies hardwareBacked. */
  attestation: KeyAttestationInputSchema.optional(),
});
export type KeyEnrollInput = z.infer<typeof KeyEnrollInputSchema>;

export const EnrolledKeySchema = z.strictObject({
  keyId: z.string(),
  principal: PrincipalNameSchema,
  publicKeyPem: z.string(),
  hardwareBacked: z.boolean(),
  /** The verified attestation; null (or absent, from an older store) when none was given: a hardwareBacked key is then only claimed. */
  attestation: KeyAttestationSchema.nullable().optional(),
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
