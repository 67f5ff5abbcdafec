import type { DecisionSigner } from '../../shared/node/signing/signer';
import { ensureKeychainSigner, loadKeychainSigner } from './signers/keychain-signer';
import { openPkcs11Signer, type PinRequest } from './signers/pkcs11-signer';
import type { CredentialVault } from './vault/credential-vault';

/** Where a hardware key lives. */
export interface Pkcs11KeyRef {
  modulePath: string;
  tokenLabel: string;
  keyLabel: string;
}

export interface HardwareSigner extends DecisionSigner {
  clearPinCache(): void;
  /** The same key, asking `getPin` when a signature made through it needs the PIN (see Pkcs11Signer). */
  withPinPrompt(getPin: (request: PinRequest) => Promise<string>): DecisionSigner;
}

/**
 * How the console gets signers: the signing helper's keychain signer (software key in the OS
 * keychain) and PKCS#11 signer (pkcs11js is loaded on demand, so a build without it still runs).
 * An interface so tests can substitute a provider.
 */
export interface SignerProvider {
  /** The keychain key for (store, principal); `create` generates and stores one when missing. */
  keychainSigner(target: { vault: CredentialVault; storeUrl: string; principal: string }, create: boolean): Promise<DecisionSigner | null>;
  /**
   * A signer on a PKCS#11 token. `generate` creates a new non-extractable P-256 key with the label,
   * `select`/`use` open an existing one. `getPin` is asked whenever the token needs a login; the
   * PIN is cached in memory for `pinCacheMs` (0 = ask every time).
   */
  pkcs11Signer(options: Pkcs11KeyRef & { mode: 'generate' | 'select' | 'use'; getPin: (request: PinRequest) => Promise<string>; pinCacheMs: number }): Promise<HardwareSigner>;
}

/**
 * The real provider. `allowedPkcs11Modules` are module paths allowed besides the well-known
 * system modules (see signers/pkcs11-allow-list); main-process configuration only.
 */
export function createSignerProvider(config: { allowedPkcs11Modules?: readonly string[] } = {}): SignerProvider {
  return {
    async keychainSigner(target, create) {
      if (create) return (await ensureKeychainSigner(target)).signer;
      return loadKeychainSigner(target);
    },
    pkcs11Signer: (options) => openPkcs11Signer({ ...options, allowedModulePaths: config.allowedPkcs11Modules ?? [] }),
  };
}

export const defaultSignerProvider: SignerProvider = createSignerProvider();
