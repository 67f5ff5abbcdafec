import { AppError } from '../../../shared/errors';
import type { TpmStatus } from '../../../shared/ipc/contract';
import { loadFileKeySigner } from '../../../shared/node/signing/key-files';
import type { DecisionSigner } from '../../../shared/node/signing/signer';
import type { ConsoleLogger } from '../logger';
import { pinCancelled, type PinPrompt } from '../pin-prompt';
import type { KeychainAccess } from '../session/keychain-access';
import type { Profile, ProfileKey } from '../session/profile-store';
import type { HardwareSigner, Pkcs11KeyRef, SignerProvider } from '../signer-provider';
import type { ConsoleTpm, TpmChallengeAsk, TpmKeyChoice } from './console-tpm';
import type { PinRequest } from './pkcs11-signer';

export interface SigningKeysDeps {
  keychain: KeychainAccess;
  provider: SignerProvider;
  pinPrompt: PinPrompt;
  /** The PIN cache window from the settings, read when a hardware signer opens. */
  pinCacheMs: () => Promise<number>;
  /** This machine's TPM, as main configuration reaches it. */
  tpm: ConsoleTpm;
  logger: ConsoleLogger;
}

/**
 * The approver's signing key: a software key in the OS keychain, a key on a PKCS#11 token, or a
 * key in this machine's TPM (no PIN: its auth value is empty, as `keygen --tpm` makes it).
 * Every signature names its purpose when it is asked for (`signerFor(profile, purpose)`), and a
 * PIN prompt shows that purpose: nothing about "what is being signed" is kept between calls, so
 * two signatures under way at once each show their own text.
 */
export class SigningKeys {
  /** The open token signer (it holds the PIN cache); reopened after a settings change or sign-out. */
  private hardware: HardwareSigner | undefined;

  constructor(private readonly deps: SigningKeysDeps) {}

  /** Create (or reuse) the software key for (store, principal) in the keychain. */
  async setupSoftwareKey(storeUrl: string, principal: string): Promise<ProfileKey> {
    const vault = await this.deps.keychain.require();
    const signer = await this.deps.provider.keychainSigner({ vault, storeUrl, principal }, true);
    if (!signer) throw new AppError('internal', 'the keychain did not keep the new signing key');
    return { kind: 'software', keyId: signer.keyId, publicKeyPem: signer.publicKeyPem, hardwareBacked: false, pkcs11: null, file: null, tpm: null };
  }

  /**
   * The software-file signer: a key file the console was started with (the demo's approver keys
   * where no OS keychain exists). The caller must have checked the path is one of those offered.
   */
  async setupFileKey(path: string): Promise<ProfileKey> {
    const signer = await loadFileKeySigner(path);
    return { kind: 'file', keyId: signer.keyId, publicKeyPem: signer.publicKeyPem, hardwareBacked: false, pkcs11: null, file: { path }, tpm: null };
  }

  /** Generate a key on the token, or select an existing one; the PIN prompt says which. */
  async setupHardwareKey(ref: Pkcs11KeyRef, mode: 'generate' | 'select'): Promise<ProfileKey> {
    const purpose = `${mode === 'generate' ? 'create' : 'select'} the signing key "${ref.keyLabel}" on token "${ref.tokenLabel}"`;
    const signer = await this.deps.provider.pkcs11Signer({ ...ref, mode, getPin: this.pinAsker(ref, purpose), pinCacheMs: await this.deps.pinCacheMs() });
    this.replaceHardware(signer);
    return { kind: 'pkcs11', keyId: signer.keyId, publicKeyPem: signer.publicKeyPem, hardwareBacked: true, pkcs11: ref, file: null, tpm: null };
  }

  /** This machine's TPM: can a key be made and certified there, and if not why. */
  tpmStatus(): Promise<TpmStatus> {
    return this.deps.tpm.status();
  }

  /** Make or pick an approver key in the TPM and certify it for `principal` (console-tpm.ts); `challenge` asks the store (EK anchor). */
  setupTpmKey(principal: string, choice: TpmKeyChoice, challenge: TpmChallengeAsk): Promise<ProfileKey> {
    return this.deps.tpm.setupKey(principal, choice, challenge);
  }

  /** A fresh certification of the profile's TPM key (refused for any other key). */
  certifyTpmKeyAgain(principal: string, key: ProfileKey, challenge: TpmChallengeAsk): Promise<ProfileKey> {
    return this.deps.tpm.certifyAgain(principal, key, challenge);
  }

  /** A signer for the profile's key whose PIN prompt (if any) says `purpose`. */
  async signerFor(profile: Profile, purpose: string): Promise<DecisionSigner> {
    if (profile.key.kind === 'software') {
      const vault = await this.deps.keychain.require();
      const signer = await this.deps.provider.keychainSigner({ vault, storeUrl: profile.storeUrl, principal: profile.principal }, false);
      if (!signer) throw new AppError('unavailable', 'the signing key is missing from the keychain: run setup again to create one');
      return signer;
    }
    if (profile.key.kind === 'tpm') return this.deps.tpm.signer(profile.key);
    if (profile.key.kind === 'file') {
      if (!profile.key.file) throw new AppError('internal', 'the console profile names a key file without its path');
      // Read for every signature, like the keychain key: a file replaced under us is refused, not used.
      const signer = await loadFileKeySigner(profile.key.file.path);
      if (signer.keyId !== profile.key.keyId) {
        throw new AppError('conflict', `the key file ${profile.key.file.path} now holds a different key (${signer.keyId}, not ${profile.key.keyId}): nothing was signed; set the console up again`);
      }
      return signer;
    }
    const ref = profile.key.pkcs11;
    if (!ref) throw new AppError('internal', 'the console profile names a PKCS#11 key without its token');
    this.hardware ??= await this.deps.provider.pkcs11Signer({
      ...ref,
      mode: 'use',
      // Signatures go through withPinPrompt below; this one answers nothing by itself.
      getPin: () => Promise.reject(pinCancelled('no signature is under way')),
      pinCacheMs: await this.deps.pinCacheMs(),
    });
    if (this.hardware.keyId !== profile.key.keyId) {
      throw new AppError('verification_failed', `the key "${ref.keyLabel}" on token "${ref.tokenLabel}" is not the one set up (${profile.key.keyId}): refusing to sign`);
    }
    return this.hardware.withPinPrompt(this.pinAsker(ref, purpose));
  }

  async forgetSoftwareKey(storeUrl: string, principal: string): Promise<void> {
    const vault = this.deps.keychain.opened;
    if (vault) await vault.deleteSigningKey(storeUrl, principal);
  }

  /** Forget the open token signer and its cached PIN (sign-out, PIN cache setting changed, quit). */
  reset(): void {
    this.replaceHardware(undefined);
  }

  private replaceHardware(next: HardwareSigner | undefined): void {
    this.hardware?.clearPinCache();
    this.hardware = next;
  }

  private pinAsker(ref: Pkcs11KeyRef, purpose: string): (request: PinRequest) => Promise<string> {
    return async (request) => {
      const pin = await this.deps.pinPrompt.ask({ purpose, tokenLabel: ref.tokenLabel, keyLabel: ref.keyLabel, attempt: request.attempt, previousError: request.previousError });
      if (!pin) throw pinCancelled();
      return pin;
    };
  }
}
