import type { TpmAttestationInput } from '../../domain/identity';
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
