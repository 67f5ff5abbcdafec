import { basename } from 'node:path';

/**
 * What a signing key's token can say about where the key lives, in one plain sentence for the
 * setup and settings screens: the store counts a key as `attested` only from an attestation it
 * verified (docs/policy.md, "Attested hardware keys"), so the console says which tokens make one
 * and which never can.
 */
export function tokenAttestationText(key: { kind: 'software' | 'pkcs11' | 'file'; pkcs11: { modulePath: string } | null }): string {
  if (key.kind !== 'pkcs11' || !key.pkcs11) return 'A software key has no attestation: it counts as a software key, never as hardware.';
  const module = basename(key.pkcs11.modulePath);
  if (module.includes('softhsm')) {
    return 'SoftHSM2 has no attestation: this key will be recorded as claimed (claimed, not attested), never as attested, so it cannot approve on a tier with attestationRequired.';
  }
  if (module.includes('ykcs11') || module.includes('opensc')) {
    return 'A YubiKey attests its PIV keys: export the key attestation with `yubico-piv-tool -a attest -s 9c > 9c-attest.pem` and the device certificate with `yubico-piv-tool -a read-certificate -s f9 > f9.pem`, and enroll with `--attestation 9c-attest.pem f9.pem` (other PIV cards may have no attestation).';
  }
  if (module.includes('tpm2_pkcs11')) {
    return 'A TPM can certify its keys (TPM2_Certify by an attestation key your attestation CA certified); the console does not run the certification itself: make it with `breakglass keygen --tpm` on this machine and enroll with `--tpm-attestation`. Without it the key is only claimed hardware.';
  }
  return `This PKCS#11 module (${module}) is not known to produce an attestation: the key can be enrolled as claimed hardware only.`;
}
