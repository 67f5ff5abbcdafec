import { X509Certificate, createPublicKey } from 'node:crypto';
import { AppError } from '../../../shared/errors';
import type { TpmAttestationInput } from '../../../shared/domain/identity';
import type { ParsedChannelInput, TpmStatus } from '../../../shared/ipc/contract';
import { keyIdFromPublicKeyPem } from '../../../shared/node/signing/key-id';
import type { DecisionSigner } from '../../../shared/node/signing/signer';
import { tpmEnrollmentAttestation } from '../../../shared/node/tpm/tpm-certify';
import { createAttestedTpmKey } from '../../../shared/node/tpm/tpm-enrollment';
import { handleText, tpmKeySigner } from '../../../shared/node/tpm/tpm-keys';
import { DEFAULT_TPM_PARENT_HANDLE, freeApproverKeyHandle, probeTpm, readTpmPublicKeyPem, readTpmSigningKey, tpmToolFailure, type TpmProbe } from '../../../shared/node/tpm/tpm-probe';
import type { ConsoleClock } from '../clock';
import type { ConsoleLogger } from '../logger';
import type { ProfileKey } from '../session/profile-store';

export type TpmKeyChoice = Extract<ParsedChannelInput<'console:main:setup'>['key'], { kind: 'tpm' }>;

export interface ConsoleTpmDeps {
  /**
   * How main reaches the TPM (TPM2TOOLS_TCTI, else device:/dev/tpmrm0, as `keygen --tpm`).
   * Main-process configuration only: a TCTI names a library tpm2-tools load, so renderer input
   * never reaches it, and a profile naming another TPM is refused rather than followed.
   */
  tcti: string;
  /** The storage parent new keys are made under (default 0x81000001, as `keygen --tpm`). */
  parentHandle?: number;
  clock: ConsoleClock;
  logger: ConsoleLogger;
}

/**
 * The console's TPM 2.0 keys, in the main process: probe the TPM, make (or pick) an approver key
 * there and certify it by an attestation key with the same shared code as `breakglass keygen
 * --tpm` (shared/node/tpm), certify it again when the hour an enrollment may take has passed, and
 * sign inside the TPM (tpm2_sign). The private key never leaves the TPM; what the profile and
 * the renderer get is the handle, the public key and the certification.
 */
export class ConsoleTpm {
  private readonly parentHandle: number;

  constructor(private readonly deps: ConsoleTpmDeps) {
    this.parentHandle = deps.parentHandle ?? DEFAULT_TPM_PARENT_HANDLE;
  }

  get tcti(): string {
    return this.deps.tcti;
  }

  async status(): Promise<TpmStatus> {
    const probe = await this.probe();
    if (!probe.available) return { available: false, reason: probe.reason, tcti: probe.tcti, manufacturer: null, firmwareVersion: null, attestationKeys: [], signingKeys: [], nextHandle: null };
    return {
      available: true,
      reason: null,
      tcti: probe.tcti,
      manufacturer: probe.manufacturer,
      firmwareVersion: probe.firmwareVersion,
      attestationKeys: probe.objects.filter((o) => o.role === 'attestation').map((o) => o.handle),
      signingKeys: probe.objects.filter((o) => o.role === 'signing').map((o) => o.handle),
      nextHandle: handleText(freeApproverKeyHandle(probe.objects)),
    };
  }

  /** Make (generate) or pick (select) the approver key for `principal` and certify it now. */
  async setupKey(principal: string, choice: TpmKeyChoice): Promise<ProfileKey> {
    const probe = await this.probe();
    if (!probe.available) throw new AppError('unavailable', probe.reason, { fieldErrors: [{ path: 'key.kind', message: probe.reason }] });
    const akHandle = Number(choice.akHandle);
    const aks = probe.objects.filter((o) => o.role === 'attestation').map((o) => o.handle);
    if (!aks.includes(handleText(akHandle))) {
      const message = `${handleText(akHandle)} is not an attestation key in this TPM (attestation keys here: ${aks.join(', ')})`;
      throw new AppError('invalid_input', message, { fieldErrors: [{ path: 'key.akHandle', message }] });
    }
    await this.checkAkCertificate(akHandle, choice.akCertificates);
    const now = this.deps.clock.now();
    try {
      if (choice.mode === 'generate') {
        const handle = choice.handle === undefined ? freeApproverKeyHandle(probe.objects) : Number(choice.handle);
        if (probe.objects.some((o) => o.handle === handleText(handle))) {
          const message = `${handleText(handle)} already holds an object in this TPM: choose a free handle, or use the key there`;
          throw new AppError('conflict', message, { fieldErrors: [{ path: 'key.handle', message }] });
        }
        const { key, attestation } = await createAttestedTpmKey({ tcti: this.tcti, parentHandle: this.parentHandle, handle, akHandle, akCertificates: choice.akCertificates, principal, now });
        this.deps.logger.info({ tcti: this.tcti, handle: key.handle, akHandle: choice.akHandle }, 'made an approver key in the TPM and certified it');
        return profileKey(this.tcti, key.handle, key.publicKeyPem, choice.akHandle, choice.akCertificates, attestation);
      }
      const handle = Number(choice.handle);
      const existing = await readTpmSigningKey(this.tcti, handle);
      const attestation = await tpmEnrollmentAttestation({ tcti: this.tcti, keyHandle: handle, akHandle, publicArea: existing.publicArea, akCertificates: choice.akCertificates, principal, now });
      return profileKey(this.tcti, handleText(handle), existing.publicKeyPem, choice.akHandle, choice.akCertificates, attestation);
    } catch (error) {
      throw this.refused(error);
    }
  }

  /** A fresh certification of `key` for `principal` by the same attestation key. */
  async certifyAgain(principal: string, key: ProfileKey): Promise<ProfileKey> {
    const tpm = this.ownKey(key);
    try {
      const publicArea = new Uint8Array(Buffer.from(tpm.certification.kind === 'tpm' ? tpm.certification.public : '', 'base64'));
      const attestation = await tpmEnrollmentAttestation({ tcti: this.tcti, keyHandle: Number(tpm.handle), akHandle: Number(tpm.akHandle), publicArea, akCertificates: tpm.akCertificates, principal, now: this.deps.clock.now() });
      return profileKey(this.tcti, tpm.handle, key.publicKeyPem, tpm.akHandle, tpm.akCertificates, attestation);
    } catch (error) {
      throw this.refused(error);
    }
  }

  /** The signer for the profile's TPM key: ECDSA P-256 inside the TPM, through the shared TPM signer. */
  signer(key: ProfileKey): DecisionSigner {
    const tpm = this.ownKey(key);
    return tpmKeySigner({ kind: 'breakglass-tpm-key', tcti: this.tcti, handle: tpm.handle, publicKeyPem: key.publicKeyPem });
  }

  private ownKey(key: ProfileKey): NonNullable<ProfileKey['tpm']> {
    if (key.kind !== 'tpm' || !key.tpm) throw new AppError('invalid_input', 'the signing key is not a TPM key: set up a TPM key first');
    if (key.tpm.tcti !== this.tcti) {
      throw new AppError('unavailable', `the signing key was made in the TPM ${key.tpm.tcti}, but this console reaches ${this.tcti} (TPM2TOOLS_TCTI): start it with the same TPM, or set up a key again`);
    }
    return key.tpm;
  }

  /** The AK certificate (the first one) must certify the attestation key at `akHandle`, or the store refuses the enrollment later. */
  private async checkAkCertificate(akHandle: number, certificates: readonly string[]): Promise<void> {
    const fail = (message: string) => new AppError('invalid_input', message, { fieldErrors: [{ path: 'key.akCertificates', message }] });
    let certified: string;
    try {
      certified = new X509Certificate(certificates[0]!).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    } catch (error) {
      throw fail(`the first certificate cannot be read: ${(error as Error).message}`);
    }
    let actual: string;
    try {
      actual = createPublicKey(await readTpmPublicKeyPem(this.tcti, akHandle)).export({ type: 'spki', format: 'der' }).toString('base64');
    } catch (error) {
      throw this.refused(error);
    }
    if (certified !== actual) throw fail(`the first certificate is not the certificate of the attestation key at ${handleText(akHandle)}: it certifies another key`);
  }

  private async probe(): Promise<TpmProbe> {
    try {
      return await probeTpm(this.tcti, this.parentHandle);
    } catch (error) {
      this.deps.logger.warn({ err: error, tcti: this.tcti }, 'the TPM probe failed');
      return { available: false, tcti: this.tcti, reason: `the TPM (${this.tcti}) could not be read: ${tpmToolFailure(error)}` };
    }
  }

  private refused(error: unknown): AppError {
    if (error instanceof AppError) return error;
    return new AppError('unavailable', `the TPM (${this.tcti}) refused: ${tpmToolFailure(error)}`);
  }
}

function profileKey(tcti: string, handle: string, publicKeyPem: string, akHandle: string, akCertificates: string[], certification: TpmAttestationInput): ProfileKey {
  return {
    kind: 'tpm',
    keyId: keyIdFromPublicKeyPem(publicKeyPem),
    publicKeyPem,
    hardwareBacked: true,
    pkcs11: null,
    file: null,
    tpm: { tcti, handle, akHandle: akHandle.toLowerCase(), akCertificates, certification },
  };
}
