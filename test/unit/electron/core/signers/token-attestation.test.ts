import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tokenAttestationText } from '../../../../../electron/core/signers/token-attestation';

const pkcs11 = (modulePath: string) => tokenAttestationText({ kind: 'pkcs11', pkcs11: { modulePath } });

describe('what the console says a token can attest', () => {
  test('SoftHSM2 says plainly that it has no attestation and the key is recorded as claimed', () => {
    const text = pkcs11('/usr/lib/softhsm/libsofthsm2.so');
    assert.match(text, /^SoftHSM2 has no attestation: this key will be recorded as claimed/);
    assert.match(text, /never as attested/);
  });

  test('other tokens: a YubiKey names the commands, tpm2-pkcs11 points at the console\'s TPM choice, an unknown module and software keys are never attested', () => {
    assert.match(pkcs11('/usr/lib/x86_64-linux-gnu/libykcs11.so'), /yubico-piv-tool -a attest -s 9c/);
    assert.match(pkcs11('/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so'), /choose "TPM 2\.0 \(this machine\)" instead.*only claimed hardware/);
    assert.match(pkcs11('/opt/vendor/libacme-pkcs11.so'), /libacme-pkcs11\.so\) is not known to produce an attestation: .*claimed hardware only/);
    assert.match(tokenAttestationText({ kind: 'software', pkcs11: null }), /no attestation: it counts as a software key/);
  });

  test('a TPM key names the attestation key that certified it and the hour a certification lasts', () => {
    const text = tokenAttestationText({ kind: 'tpm', pkcs11: null, tpm: { akHandle: '0x81010001' } });
    assert.match(text, /^Made in this machine's TPM and certified there by the attestation key 0x81010001 \(TPM2_Certify\)/);
    assert.match(text, /accepted for an hour: certify again/);
    const ek = tokenAttestationText({ kind: 'tpm', pkcs11: null, tpm: { akHandle: '0x81000101', anchor: 'ek' } });
    assert.match(ek, /certified there by the attestation key 0x81000101 \(TPM2_Certify\), and the store's challenge answered by this TPM's endorsement key/);
    assert.match(ek, /against its tpm-ek roots.*accepted once, within the hour/);
  });
});
