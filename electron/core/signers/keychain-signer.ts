import { AppError } from '../../../shared/errors';
import type { DecisionSigner } from '../../../shared/node/signing/signer';
import { fileKeySigner, generateSoftwareKeyPair } from '../../../shared/node/signing/software-signer';
import type { CredentialVault } from '../vault/credential-vault';

/** Where a keychain signer's key lives: one entry per (store, principal). */
export interface KeychainSignerTarget {
  vault: CredentialVault;
  storeUrl: string;
  principal: string;
}

/**
 * A software ECDSA P-256 signer whose private key lives in the OS keychain. The key is read
 * from the keychain for each signature and dropped right after, so the only long-lived copy
 * is the keychain's; the console shows `publicKeyPem` for enrollment.
 */
export async function loadKeychainSigner(target: KeychainSignerTarget): Promise<DecisionSigner | null> {
  const pem = await target.vault.getSigningKey(target.storeUrl, target.principal);
  if (pem === null) return null;
  return keychainBacked(target, publicHalf(pem));
}

/**
 * The keychain signer for (store, principal), generating and storing a new key on first use.
 * `created` tells the console to show the public key for enrollment.
 */
export async function ensureKeychainSigner(target: KeychainSignerTarget): Promise<{ signer: DecisionSigner; created: boolean }> {
  const existing = await loadKeychainSigner(target);
  if (existing) return { signer: existing, created: false };
  return { signer: await createKeychainSigner(target), created: true };
}

/**
 * Generate a new key and store it in the keychain, replacing any previous one (key rotation:
 * the old key must then be revoked with the store).
 */
export async function createKeychainSigner(target: KeychainSignerTarget): Promise<DecisionSigner> {
  const { privateKeyPem } = generateSoftwareKeyPair();
  await target.vault.setSigningKey(target.storeUrl, target.principal, privateKeyPem);
  return keychainBacked(target, publicHalf(privateKeyPem));
}

function publicHalf(privateKeyPem: string): Pick<DecisionSigner, 'keyId' | 'publicKeyPem'> {
  try {
    const { keyId, publicKeyPem } = fileKeySigner(privateKeyPem);
    return { keyId, publicKeyPem };
  } catch (error) {
    throw new AppError('internal', `the signing key in the keychain is unreadable (${(error as Error).message}); delete it and generate a new one`);
  }
}

function keychainBacked(target: KeychainSignerTarget, key: Pick<DecisionSigner, 'keyId' | 'publicKeyPem'>): DecisionSigner {
  return {
    keyId: key.keyId,
    publicKeyPem: key.publicKeyPem,
    hardwareBacked: false,
    sign: async (data) => {
      const pem = await target.vault.getSigningKey(target.storeUrl, target.principal);
      if (pem === null) throw new AppError('not_found', `the signing key ${key.keyId} is no longer in the keychain: nothing was signed`);
      const signer = fileKeySigner(pem);
      if (signer.keyId !== key.keyId) {
        throw new AppError('conflict', `the keychain now holds a different signing key (${signer.keyId}, not ${key.keyId}): nothing was signed; reload the console`);
      }
      return signer.sign(data);
    },
  };
}
