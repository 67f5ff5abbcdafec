import { X509Certificate, createPublicKey } from 'node:crypto';
import { AppError } from '../../../shared/errors';
import type { TpmAttestationInput, TpmChallenge, TpmChallengeInput, TpmEkAttestationInput } from '../../../shared/domain/identity';
import type { ParsedChannelInput, TpmStatus } from '../../../shared/ipc/contract';
import { keyIdFromPublicKeyPem } from '../../../shared/node/signing/key-id';
import type { DecisionSigner } from '../../../shared/node/signing/signer';
import { runTpmTool, tpmEnrollmentAttestation } from '../../../shared/node/tpm/tpm-certify';
import { ekEnrollmentAttestation, readEkCertificate } from '../../../shared/node/tpm/tpm-ek';
import { createAttestedTpmKey, createEkAttestedTpmKey } from '../../../shared/node/tpm/tpm-enrollment';
import { EK_CERT_NV_INDEX, EK_RSA_PERSISTENT_HANDLE } from '../../../shared/tpm/tpm-credential';
import { handleText, tpmKeySigner } from '../../../shared/node/tpm/tpm-keys';
import { DEFAULT_TPM_PARENT_HANDLE, freeApproverKeyHandle, probeTpm, readTpmPublicKeyPem, readTpmSigningKey, tpmToolFailure, type TpmProbe } from '../../../shared/node/tpm/tpm-probe';
import type { ConsoleClock } from '../clock';
import type { ConsoleLogger } from '../logger';
import type { ProfileKey } from '../session/profile-store';

export type TpmKeyChoice = Extract<ParsedChannelInput<'console:main:setup'>['key'], { kind: 'tpm' }>;

/** Asks the store for a credential-activation challenge for the console's own principal (POST /v1/approvers/:principal/tpm-challenges). */
type TpmAnchorChoice = { kind: 'ek'; ekHandle: number; ekIntermediates: string[] } | { kind: 'ak-certificate'; akCertificates: string[] };

export type TpmChallengeAsk = (input: TpmChallengeInput) => Promise<TpmChallenge>;

export interface ConsoleTpmDeps {
  /**
   * How main reaches the TPM (TPM2TOOLS_TCTI, else device:/dev/tpmrm0, as `keygen --tpm`).
   * Main-process configuration only: a TCTI names a library tpm2-tools load, so renderer input
   * never reaches it, and a profile naming another TPM is refused rather than followed.
   */
  tcti: string;
  /** The storage parent new keys are made under (default 0x81000001, as `keygen --tpm`). */
  parentHandle?: number;
  /** The persistent RSA endorsement key (default 0x81010001, as `keygen --tpm --ek`). */
  ekHandle?: number;
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
  private readonly ekHandle: number;

  constructor(private readonly deps: ConsoleTpmDeps) {
    this.parentHandle = deps.parentHandle ?? DEFAULT_TPM_PARENT_HANDLE;
    this.ekHandle = deps.ekHandle ?? EK_RSA_PERSISTENT_HANDLE;
  }

  get tcti(): string {
    return this.deps.tcti;
  }

  async status(): Promise<TpmStatus> {
    const probe = await this.probe();
    const ekHandle = handleText(this.ekHandle);
    if (!probe.available) return { available: false, reason: probe.reason, tcti: probe.tcti, manufacturer: null, firmwareVersion: null, attestationKeys: [], signingKeys: [], nextHandle: null, ek: { available: false, reason: null, handle: ekHandle, issuer: null } };
    return {
      available: true,
      reason: null,
      tcti: probe.tcti,
      manufacturer: probe.manufacturer,
      firmwareVersion: probe.firmwareVersion,
      attestationKeys: probe.objects.filter((o) => o.role === 'attestation').map((o) => o.handle),
      signingKeys: probe.objects.filter((o) => o.role === 'signing').map((o) => o.handle),
      nextHandle: handleText(freeApproverKeyHandle(probe.objects)),
      ek: await this.ekStatus(probe),
    };
  }

  /** Can the key be anchored in the endorsement key: an EK certificate in NV, and the RSA EK persistent. */
  private async ekStatus(probe: Extract<TpmProbe, { available: true }>): Promise<TpmStatus['ek']> {
    const handle = handleText(this.ekHandle);
    const nvIndex = handleText(EK_CERT_NV_INDEX.rsa2048);
    let nvIndexes: number[];
    try {
      // tpm2_getcap lists them as `- 0x1C00002` (no leading zeros).
      nvIndexes = ((await runTpmTool('tpm2_getcap', ['handles-nv-index'], this.tcti)).toString().match(/0x[0-9a-f]+/gi) ?? []).map(Number);
    } catch (error) {
      return { available: false, reason: `the TPM's NV indexes cannot be listed: ${tpmToolFailure(error)}`, handle, issuer: null };
    }
    if (!nvIndexes.includes(EK_CERT_NV_INDEX.rsa2048)) {
      return { available: false, reason: `this TPM has no endorsement key certificate (NV index ${nvIndex} is not defined)`, handle, issuer: null };
    }
    let issuer: string;
    try {
      issuer = new X509Certificate(await readEkCertificate(this.tcti)).issuer.replaceAll('\n', ', ');
    } catch (error) {
      this.deps.logger.info({ err: error, tcti: this.tcti }, 'no EK certificate read from the TPM');
      return { available: false, reason: `the endorsement key certificate (NV index ${nvIndex}) cannot be read: ${tpmToolFailure(error)}`, handle, issuer: null };
    }
    if (!probe.objects.some((o) => o.handle === handle)) {
      return { available: false, reason: `the TPM has an endorsement key certificate but no endorsement key persistent at ${handle}: tpm2_createek -c ${handle} -G rsa`, handle, issuer };
    }
    return { available: true, reason: null, handle, issuer };
  }

  /**
   * Make (generate) or pick (select) the approver key for `principal` and certify it now: with
   * anchor ek, the AK's certification plus the store's challenge (asked through `challenge`)
   * answered by this TPM's EK, as `keygen --tpm --ek`; with ak-certificate, as `keygen --tpm`.
   */
  async setupKey(principal: string, choice: TpmKeyChoice, challenge: TpmChallengeAsk): Promise<ProfileKey> {
    const probe = await this.probe();
    if (!probe.available) throw new AppError('unavailable', probe.reason, { fieldErrors: [{ path: 'key.kind', message: probe.reason }] });
    const akHandle = Number(choice.akHandle);
    const aks = probe.objects.filter((o) => o.role === 'attestation').map((o) => o.handle);
    if (!aks.includes(handleText(akHandle))) {
      const message = `${handleText(akHandle)} is not an attestation key in this TPM (attestation keys here: ${aks.join(', ')})`;
      throw new AppError('invalid_input', message, { fieldErrors: [{ path: 'key.akHandle', message }] });
    }
    const anchor = choice.anchor === 'ek' ? { kind: 'ek' as const, ekHandle: this.ekHandle, ekIntermediates: choice.ekIntermediates ?? [] } : { kind: 'ak-certificate' as const, akCertificates: choice.akCertificates! };
    if (anchor.kind === 'ek') {
      const ek = await this.ekStatus(probe);
      if (!ek.available) throw new AppError('unavailable', ek.reason!, { fieldErrors: [{ path: 'key.anchor', message: ek.reason! }] });
    } else {
      await this.checkAkCertificate(akHandle, anchor.akCertificates);
    }
    const now = this.deps.clock.now();
    try {
      if (choice.mode === 'generate') {
        const handle = choice.handle === undefined ? freeApproverKeyHandle(probe.objects) : Number(choice.handle);
        if (probe.objects.some((o) => o.handle === handleText(handle))) {
          const message = `${handleText(handle)} already holds an object in this TPM: choose a free handle, or use the key there`;
          throw new AppError('conflict', message, { fieldErrors: [{ path: 'key.handle', message }] });
        }
        const common = { tcti: this.tcti, parentHandle: this.parentHandle, handle, akHandle, principal, now };
        const { key, attestation } =
          anchor.kind === 'ek'
            ? await createEkAttestedTpmKey({ ...common, ekHandle: this.ekHandle, ekIntermediates: anchor.ekIntermediates, challenge })
            : await createAttestedTpmKey({ ...common, akCertificates: anchor.akCertificates });
        this.deps.logger.info({ tcti: this.tcti, handle: key.handle, akHandle: choice.akHandle, anchor: anchor.kind }, 'made an approver key in the TPM and certified it');
        return this.profileKey(key.handle, key.publicKeyPem, choice.akHandle, anchor, attestation);
      }
      const handle = Number(choice.handle);
      const existing = await readTpmSigningKey(this.tcti, handle);
      const attestation = await this.certify(anchor, { keyHandle: handle, akHandle, publicArea: existing.publicArea, principal, now, challenge });
      return this.profileKey(handleText(handle), existing.publicKeyPem, choice.akHandle, anchor, attestation);
    } catch (error) {
      throw this.refused(error);
    }
  }

  /** A fresh certification of `key` for `principal` by the same attestation key (and, EK-anchored, a new challenge answered). */
  async certifyAgain(principal: string, key: ProfileKey, challenge: TpmChallengeAsk): Promise<ProfileKey> {
    const tpm = this.ownKey(key);
    const anchor = tpm.anchor === 'ek' ? { kind: 'ek' as const, ekHandle: Number(tpm.ekHandle), ekIntermediates: tpm.ekIntermediates } : { kind: 'ak-certificate' as const, akCertificates: tpm.akCertificates };
    try {
      const publicArea = new Uint8Array(Buffer.from(tpm.certification.public, 'base64'));
      const attestation = await this.certify(anchor, { keyHandle: Number(tpm.handle), akHandle: Number(tpm.akHandle), publicArea, principal, now: this.deps.clock.now(), challenge });
      return this.profileKey(tpm.handle, key.publicKeyPem, tpm.akHandle, anchor, attestation);
    } catch (error) {
      throw this.refused(error);
    }
  }

  /** Certify an existing key: the shared functions `keygen --tpm [--ek]` rests on. */
  private certify(anchor: TpmAnchorChoice, opts: { keyHandle: number; akHandle: number; publicArea: Uint8Array; principal: string; now: Date; challenge: TpmChallengeAsk }): Promise<TpmAttestationInput | TpmEkAttestationInput> {
    const { challenge, ...common } = opts;
    return anchor.kind === 'ek'
      ? ekEnrollmentAttestation({ tcti: this.tcti, ...common, ekHandle: anchor.ekHandle, ekIntermediates: anchor.ekIntermediates, challenge })
      : tpmEnrollmentAttestation({ tcti: this.tcti, ...common, akCertificates: anchor.akCertificates });
  }

  private profileKey(handle: string, publicKeyPem: string, akHandle: string, anchor: TpmAnchorChoice, certification: TpmAttestationInput | TpmEkAttestationInput): ProfileKey {
    return {
      kind: 'tpm',
      keyId: keyIdFromPublicKeyPem(publicKeyPem),
      publicKeyPem,
      hardwareBacked: true,
      pkcs11: null,
      file: null,
      tpm: {
        tcti: this.tcti,
        handle,
        akHandle: akHandle.toLowerCase(),
        anchor: anchor.kind,
        akCertificates: anchor.kind === 'ak-certificate' ? anchor.akCertificates : [],
        ekHandle: anchor.kind === 'ek' ? handleText(anchor.ekHandle) : null,
        ekIntermediates: anchor.kind === 'ek' ? anchor.ekIntermediates : [],
        certification,
      },
    };
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
