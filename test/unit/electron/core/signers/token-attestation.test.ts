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

  test('other tokens: a YubiKey names the commands, tpm2-pkcs11 points at keygen --tpm, an unknown module and software keys are never attested', () => {
    assert.match(pkcs11('/usr/lib/x86_64-linux-gnu/libykcs11.so'), /yubico-piv-tool -a attest -s 9c/);
    assert.match(pkcs11('/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so'), /breakglass keygen --tpm.*--tpm-attestation/);
    assert.match(pkcs11('/opt/vendor/libacme-pkcs11.so'), /libacme-pkcs11\.so\) is not known to produce an attestation: .*claimed hardware only/);
    assert.match(tokenAttestationText({ kind: 'software', pkcs11: null }), /no attestation: it counts as a software key/);
  });
});
