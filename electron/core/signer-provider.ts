import { AppError } from '../../shared/errors';
import type { DecisionSigner } from '../../shared/node/signing/signer';
import { fileKeySigner, generateSoftwareKeyPair } from '../../shared/node/signing/software-signer';

/** Where a hardware key lives. */
export interface Pkcs11KeyRef {
  modulePath: string;
  tokenLabel: string;
  keyLabel: string;
}

/**
 * How the console gets signers. Narrow so tests can pass a different one; the default uses the
 * signing helper's code (software keys from shared/node/signing, PKCS#11 from
 * electron/core/signers/pkcs11-signer.ts, loaded on demand because pkcs11js is optional).
 */
export interface SignerProvider {
  generateSoftwareKey(): { privateKeyPem: string; publicKeyPem: string };
  softwareSigner(privateKeyPem: string): DecisionSigner;
  /**
   * Open a signer on a PKCS#11 token. `generate` creates a new non-extractable P-256 key with the
   * label (refusing if one exists), `select` requires an existing one, `use` opens the configured
   * key for signing. `getPin` is called whenever the token needs a login.
   */
  pkcs11Signer(ref: Pkcs11KeyRef, mode: 'generate' | 'select' | 'use', getPin: () => Promise<string>): Promise<DecisionSigner>;
}

type Pkcs11Module = {
  openPkcs11Signer?: (options: Pkcs11KeyRef & { mode: 'generate' | 'select' | 'use'; getPin: () => Promise<string> }) => Promise<DecisionSigner>;
};

export const defaultSignerProvider: SignerProvider = {
  generateSoftwareKey: generateSoftwareKeyPair,
  softwareSigner: fileKeySigner,
  async pkcs11Signer(ref, mode, getPin) {
    let mod: Pkcs11Module;
    try {
      // Resolved at run time: the PKCS#11 signer is optional (pkcs11js is an optional dependency).
      const path = './signers/pkcs11-signer';
      mod = (await import(/* @vite-ignore */ path)) as Pkcs11Module;
    } catch (error) {
      throw new AppError('unavailable', `PKCS#11 signing is not available in this build: ${(error as Error).message.split('\n')[0]}`);
    }
    if (typeof mod.openPkcs11Signer !== 'function') throw new AppError('unavailable', 'PKCS#11 signing is not available in this build (no openPkcs11Signer)');
    return mod.openPkcs11Signer({ ...ref, mode, getPin });
  },
};
