import { basename } from 'node:path';

/**
 * What a signing key's token can say about where the key lives, in one plain sentence for the
 * setup and settings screens: the store counts a key as `attested` only from an attestation it
 * verified (docs/policy.md, "Attested hardware keys"), so the console says which tokens make one
 * and which never can.
 */
export function tokenAttestationText(key: { kind: 'software' | 'pkcs11' | 'tpm' | 'file'; pkcs11: { modulePath: string } | null; tpm?: { akHandle: string; anchor?: 'ek' | 'ak-certificate' } | null }): string {
  if (key.kind === 'tpm') {
    const ak = key.tpm ? `the attestation key ${key.tpm.akHandle}` : 'an attestation key';
    if (key.tpm?.anchor === 'ek') {
      return `Made in this machine's TPM, certified there by ${ak} (TPM2_Certify), and the store's challenge answered by this TPM's endorsement key (TPM2_ActivateCredential): hand the admin the public key and the certification; the store checks the EK certificate against its tpm-ek roots and records the key as attested. The certification is accepted once, within the hour: certify again if it runs out.`;
    }
    return `Made in this machine's TPM and certified there by ${ak} (TPM2_Certify): hand the admin the public key and the certification; the store verifies it against its tpm roots and records the key as attested. A certification is accepted for an hour: certify again if it runs out.`;
  }
  if (key.kind !== 'pkcs11' || !key.pkcs11) return 'A software key has no attestation: it counts as a software key, never as hardware.';
  const module = basename(key.pkcs11.modulePath);
  if (module.includes('softhsm')) {
    return 'SoftHSM2 has no attestation: this key will be recorded as claimed (claimed, not attested), never as attested, so it cannot approve on a tier with attestationRequired.';
  }
  if (module.includes('ykcs11') || module.includes('opensc')) {
    return 'A YubiKey attests its PIV keys: export the key attestation with `yubico-piv-tool -a attest -s 9c > 9c-attest.pem` and the device certificate with `yubico-piv-tool -a read-certificate -s f9 > f9.pem`, and enroll with `--attestation 9c-attest.pem f9.pem` (other PIV cards may have no attestation).';
  }
  if (module.includes('tpm2_pkcs11')) {
    return 'tpm2-pkcs11 keys are not certified by the console: choose "TPM 2.0 (this machine)" instead, which makes the key in the TPM and certifies it with the attestation key (as `breakglass keygen --tpm`). A tpm2-pkcs11 key is only claimed hardware.';
  }
  return `This PKCS#11 module (${module}) is not known to produce an attestation: the key can be enrolled as claimed hardware only.`;
}
