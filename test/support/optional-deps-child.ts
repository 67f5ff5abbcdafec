// Child for the "optional dependency missing" tests: tries the keychain vault and the PKCS#11
// signer and prints one JSON line per attempt.
import { openPkcs11Signer } from '../../electron/core/signers/pkcs11-signer';
import { CredentialVault } from '../../electron/core/vault/credential-vault';

const results: Record<string, { code?: string; message: string }> = {};
try {
  await CredentialVault.open({ timeoutMs: 5000 });
  results.vault = { message: 'opened' };
} catch (error) {
  results.vault = { code: (error as { code?: string }).code, message: (error as Error).message };
}
try {
  await openPkcs11Signer({ modulePath: '/usr/lib/softhsm/libsofthsm2.so', keyLabel: 'k', getPin: async () => '1234' });
  results.pkcs11 = { message: 'opened' };
} catch (error) {
  results.pkcs11 = { code: (error as { code?: string }).code, message: (error as Error).message };
}
console.log(JSON.stringify(results));
