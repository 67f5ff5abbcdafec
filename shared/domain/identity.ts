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

/** Base64 of a TPM structure, as the TPM returns it (big-endian, TPM 2.0 Part 2). */
const TpmBytesSchema = (max: number) => z.string().max(max).regex(/^[A-Za-z0-9+/]+={0,2}$/, { message: 'must be base64' });
const TpmChallengeIdSchema = z.string().regex(/^tpmc_[0-9a-f]{32}$/, { message: 'must be a challenge id tpmc_ + 32 hex' });

/**
 * What a token says about a key it generated.
 *
 * `piv`: the certificates as a YubiKey gives them, the key's attestation certificate first, then
 * the device's attestation certificate (slot f9) and any intermediates, up to (not including) a
 * root the policy names.
 *
 * `tpm`: a TPM2_Certify of the key by an attestation key (AK): `public` is the key's TPM2B_PUBLIC
 * (as `tpm2_create -u` writes it), `certifyInfo` the TPMS_ATTEST and `signature` the
 * TPMT_SIGNATURE the TPM returned, `certificates` the AK's certificate then any intermediates up
 * to a `tpm` root of the policy. The certification's qualifying data must be
 * SHA-256(tpmEnrollmentChallenge(principal, issuedAt)), made at most TPM_CERTIFY_MAX_AGE_MS
 * before the store sees it.
 */
export const KeyAttestationInputSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('piv'), certificates: z.array(CertificatePemSchema).min(2).max(4) }),
  z.strictObject({
    kind: z.literal('tpm'),
    public: TpmBytesSchema(2000),
    certifyInfo: TpmBytesSchema(2000),
    signature: TpmBytesSchema(2000),
    /** When the challenge bound into the certification was made (the certifier's clock). */
    issuedAt: TimestampSchema,
    certificates: z.array(CertificatePemSchema).min(1).max(4),
  }),
  z.strictObject({
    kind: z.literal('tpm-ek'),
    /** The approver key's TPM2B_PUBLIC, TPMS_ATTEST and TPMT_SIGNATURE of TPM2_Certify by the AK, as for `tpm`. */
    public: TpmBytesSchema(2000),
    certifyInfo: TpmBytesSchema(2000),
    signature: TpmBytesSchema(2000),
    issuedAt: TimestampSchema,
    /** The attestation key's TPM2B_PUBLIC: the one the challenge was made for (its name must match). */
    akPublic: TpmBytesSchema(2000),
    /** The challenge the store issued (POST /v1/approvers/:principal/tpm-challenges). */
    challengeId: TpmChallengeIdSchema,
    /** What TPM2_ActivateCredential released: the secret the store encrypted to the EK, base64. */
    secret: TpmBytesSchema(100),
  }),
]);
export type KeyAttestationInput = z.infer<typeof KeyAttestationInputSchema>;
export type TpmAttestationInput = Extract<KeyAttestationInput, { kind: 'tpm' }>;
export type TpmEkAttestationInput = Extract<KeyAttestationInput, { kind: 'tpm-ek' }>;

/**
 * The first half of the endorsement-key enrollment (TCG credential activation, as
 * go-attestation and Keylime do it): the TPM's EK certificate (read from NV, RSA 0x01c00002),
 * then any intermediates up to a `tpm-ek` root of the policy (the TPM manufacturer's); the EK's
 * TPM2B_PUBLIC; the attestation key's TPM2B_PUBLIC. The store answers with a credential only
 * that TPM can open, and only for that AK (TPM2_MakeCredential).
 */
export const TpmChallengeInputSchema = z.strictObject({
  ekCertificates: z.array(CertificatePemSchema).min(1).max(4),
  ekPublic: TpmBytesSchema(2000),
  akPublic: TpmBytesSchema(2000),
});
export type TpmChallengeInput = z.infer<typeof TpmChallengeInputSchema>;

/** The store's challenge: TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET for TPM2_ActivateCredential. */
export const TpmChallengeSchema = z.strictObject({
  challengeId: TpmChallengeIdSchema,
  principal: PrincipalNameSchema,
  /** The AK's name (hex nameAlg ‖ digest) the credential is bound to. */
  akName: z.string().regex(/^[0-9a-f]+$/),
  /** TPM2B_ID_OBJECT (size included), base64. */
  credentialBlob: z.string(),
  /** TPM2B_ENCRYPTED_SECRET (size included), base64. */
  encryptedSecret: z.string(),
  expiresAt: TimestampSchema,
});
export type TpmChallenge = z.infer<typeof TpmChallengeSchema>;

/**
 * How long a TPM challenge can be answered by an enrollment: the same window as a TPM
 * certification's (the admin carries the answer from the approver's machine). Checked against
 * the store's clock; a challenge is answered once.
 */
export const TPM_CHALLENGE_TTL_MS = 60 * 60_000;

/**
 * Unexpired TPM challenges one principal may hold at once: each is kept by the store (with the
 * EK certificates it was asked with) until it expires, so without a bound any approver could
 * grow the store without end by asking over and over.
 */
export const TPM_CHALLENGES_OPEN_MAX = 10;

/**
 * How long a TPM certification stays usable for enrollment: long enough for an admin to carry
 * the files from the approver's machine to the CLI, short enough that an old certification (of a
 * key since moved or revoked) cannot be replayed. Checked against the store's clock.
 */
export const TPM_CERTIFY_MAX_AGE_MS = 60 * 60_000;
/** Clock skew tolerated between the certifying machine and the store. */
export const TPM_CERTIFY_MAX_SKEW_MS = 5 * 60_000;

/**
 * The text whose SHA-256 a TPM certification must carry as its qualifying data (extraData):
 * it binds the certification to the principal being enrolled and to a time, so a certify blob
 * made for one approver, or long ago, is refused.
 */
export function tpmEnrollmentChallenge(principal: string, issuedAt: string): string {
  return `breakglass key enrollment v1\nprincipal=${principal}\nissuedAt=${issuedAt}\n`;
}

/** A verified attestation, as recorded with the key and in its ledger entry. */
export const KeyAttestationSchema = z.strictObject({
  kind: z.enum(['piv', 'tpm']),
  /** The policy root (attestation.roots[].id) the chain ended at. */
  root: z.string(),
  /**
   * PIV: the device's serial number. TPM: the attestation key certificate's serial (hex): the
   * attestation CA's record of the TPM (endorsement key) it vouched for.
   */
  serial: z.string(),
  /**
   * PIV: PIN policy (never | once | always) and touch policy (never | always | cached).
   * TPM: the key's object attributes (fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth,
   * adminWithPolicy, noDA: true | false) and the TPM's firmwareVersion.
   */
  policy: z.record(z.string(), z.union([z.string(), z.boolean()])),
  /**
   * TPM anchored in the endorsement key (root kind `tpm-ek`): the EK certificate that vouched
   * for the TPM the attestation key proved to live in (credential activation). Absent on the
   * AK-CA path (root kind `tpm`) and for PIV.
   */
  ek: z
    .strictObject({
      /** The EK certificate's issuer DN and serial (hex): with the root, the TPM's identity. */
      issuer: z.string(),
      serial: z.string(),
      /** SHA-256 of the EK certificate's DER, hex. */
      fingerprint: z.string(),
      /** From the certificate's subjectAltName (TCG EK Credential Profile): TPM manufacturer, model, version, when present. */
      manufacturer: z.string().optional(),
      model: z.string().optional(),
      version: z.string().optional(),
      /** The attestation key's name (hex) that TPM2_ActivateCredential proved resident in that TPM. */
      akName: z.string(),
    })
    .optional(),
});
export type KeyAttestation = z.infer<typeof KeyAttestationSchema>;

/** How much the store knows about where a key lives: `attested` (verified), `claimed` (--hardware alone) or `software`. */
export const KeyHardwareSchema = z.enum(['attested', 'claimed', 'software']);
export type KeyHardware = z.infer<typeof KeyHardwareSchema>;
export function keyHardware(key: { hardwareBacked: boolean; attestation?: Pick<KeyAttestation, 'kind' | 'serial'> | null }): KeyHardware {
  return key.attestation ? 'attested' : key.hardwareBacked ? 'claimed' : 'software';
}

/** Which attestation a key (or an approval signed with it) rests on: enough to say `attested (tpm, serial …)`. */
export const AttestationRefSchema = z.strictObject({ kind: z.enum(['piv', 'tpm']), serial: z.string() });
export type AttestationRef = z.infer<typeof AttestationRefSchema>;

/**
 * The one label the CLI, the console and ledger views show for a key: `attested (tpm, serial
 * 5a17c0de01)`, `claimed, not attested` (hardware by the admin's word: enrolled with
 * --hardware, no attestation) or `software`.
 */
export function keyHardwareLabel(key: { hardwareBacked: boolean; attestation?: Pick<KeyAttestation, 'kind' | 'serial'> | null }): string {
  const a = key.attestation;
  if (a) return `attested (${a.kind}, serial ${a.serial})`;
  return key.hardwareBacked ? CLAIMED_LABEL : 'software';
}

/** A key enrolled as hardware without an attestation: said in words that do not read as success. */
export const CLAIMED_LABEL = 'claimed, not attested';

/** What a decision record says about its signing key (`hardware`, and `attestation` when attested). */
export function signingKeyFacts(key: { hardwareBacked: boolean; attestation?: Pick<KeyAttestation, 'kind' | 'serial'> | null }): { hardware: KeyHardware; attestation?: AttestationRef } {
  const a = key.attestation;
  return a ? { hardware: 'attested', attestation: { kind: a.kind, serial: a.serial } } : { hardware: keyHardware(key) };
}

/** What an attestation's policy says, for display: `PIN once, touch always` or `fixedTPM, fixedParent, …` (the attributes that are set). */
export function attestationPolicyText(a: Pick<KeyAttestation, 'policy'>): string {
  return Object.entries(a.policy)
    .filter(([, v]) => v !== false)
    .map(([k, v]) => (v === true ? k : `${k === 'pin' ? 'PIN' : k} ${v}`))
    .join(', ');
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
