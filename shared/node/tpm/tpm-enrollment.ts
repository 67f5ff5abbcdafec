import type { TpmAttestationInput, TpmEkAttestationInput } from '../../domain/identity';
import { ekEnrollmentAttestation, type EkEnrollmentOptions } from './tpm-ek';
import { tpmEnrollmentAttestation } from './tpm-certify';
import { createTpmKey, handleText, type TpmKeyFile } from './tpm-keys';

/**
 * An approver key made in a TPM and certified for enrollment in one step: the key is created
 * under `parentHandle` (persistent at `handle`), then certified by the attestation key at
 * `akHandle` for `principal` at `now` (the store accepts the certification for
 * TPM_CERTIFY_MAX_AGE_MS).
 */
export async function createAttestedTpmKey(opts: { tcti: string; parentHandle: number; handle: number; akHandle: number; akCertificates: string[]; principal: string; now: Date }): Promise<{ key: TpmKeyFile; attestation: TpmAttestationInput }> {
  const created = await createTpmKey({ tcti: opts.tcti, parentHandle: opts.parentHandle, handle: opts.handle });
  const attestation = await tpmEnrollmentAttestation({ tcti: opts.tcti, keyHandle: created.handle, akHandle: opts.akHandle, publicArea: created.publicArea, akCertificates: opts.akCertificates, principal: opts.principal, now: opts.now });
  return { key: { kind: 'breakglass-tpm-key', tcti: opts.tcti, handle: handleText(created.handle), publicKeyPem: created.publicKeyPem }, attestation };
}

/**
 * The same key, anchored in the TPM's endorsement key instead of an AK certificate: the key is
 * created, certified by the AK, and the store's credential-activation challenge answered
 * (tpm-ek.ts). The attestation must reach `admin approver enroll` within TPM_CHALLENGE_TTL_MS.
 */
export async function createEkAttestedTpmKey(opts: Omit<EkEnrollmentOptions, 'keyHandle' | 'publicArea'> & { parentHandle: number; handle: number }): Promise<{ key: TpmKeyFile; attestation: TpmEkAttestationInput }> {
  const created = await createTpmKey({ tcti: opts.tcti, parentHandle: opts.parentHandle, handle: opts.handle });
  const attestation = await ekEnrollmentAttestation({ ...opts, keyHandle: created.handle, publicArea: created.publicArea });
  return { key: { kind: 'breakglass-tpm-key', tcti: opts.tcti, handle: handleText(created.handle), publicKeyPem: created.publicKeyPem }, attestation };
}
