import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TpmChallenge, TpmChallengeInput, TpmEkAttestationInput } from '../../domain/identity';
import { EK_CERT_NV_INDEX, credentialFile, derCertificateFromNv } from '../../tpm/tpm-credential';
import { TPMA_OBJECT, parseTpm2bPublic } from '../../tpm/tpm-structures';
import { tpmCertifyForEnrollment } from './tpm-certify';
import { handleText, tpmTool } from './tpm-keys';

/**
 * The client half of the endorsement-key enrollment (TCG credential activation), through
 * tpm2-tools: read the EK certificate from its NV index and the EK and AK public areas, hand
 * them to the store, and answer its challenge with TPM2_ActivateCredential (the EK authorized by
 * its policy, PolicySecret(TPM_RH_ENDORSEMENT), the AK by its empty auth value).
 */

/** The EK certificate in `nvIndex` (RSA: 0x01c00002, ECC P-256: 0x01c0000a) as PEM. */
export async function readEkCertificate(tcti: string, nvIndex: number = EK_CERT_NV_INDEX.rsa2048): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-tpm-ekcert-'));
  try {
    await tpmTool(tcti, 'tpm2_nvread', [handleText(nvIndex), '-o', 'ek.der'], dir);
    const der = derCertificateFromNv(new Uint8Array(await readFile(join(dir, 'ek.der'))));
    return new X509Certificate(der).toString();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A loaded or persistent object's TPM2B_PUBLIC, as the TPM returns it. */
export async function readPublicArea(tcti: string, handle: number): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-tpm-pub-'));
  try {
    await tpmTool(tcti, 'tpm2_readpublic', ['-c', handleText(handle), '-o', 'object.pub', '-Q'], dir);
    return new Uint8Array(await readFile(join(dir, 'object.pub')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * TPM2_ActivateCredential: the TPM opens the credential with the EK at `ekHandle` and releases
 * it only if the object it is bound to is the AK at `akHandle`. Returns the secret.
 */
export async function activateCredential(tcti: string, opts: { akHandle: number; ekHandle: number; credentialBlob: Uint8Array; encryptedSecret: Uint8Array; ekUserWithAuth?: boolean }): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-tpm-activate-'));
  try {
    await writeFile(join(dir, 'credential'), credentialFile(opts.credentialBlob, opts.encryptedSecret));
    if (opts.ekUserWithAuth) {
      // An EK made with userWithAuth (swtpm's ECC P-384 EK, say) takes its empty auth value.
      await tpmTool(tcti, 'tpm2_activatecredential', ['-c', handleText(opts.akHandle), '-C', handleText(opts.ekHandle), '-i', 'credential', '-o', 'secret', '-Q'], dir);
      return new Uint8Array(await readFile(join(dir, 'secret')));
    }
    // The EK's authPolicy is PolicySecret(endorsement hierarchy): a policy session satisfied by
    // the endorsement hierarchy's (empty) auth value.
    await tpmTool(tcti, 'tpm2_startauthsession', ['--policy-session', '-S', 'session.ctx'], dir);
    try {
      await tpmTool(tcti, 'tpm2_policysecret', ['-S', 'session.ctx', '-c', 'e', '-Q'], dir);
      await tpmTool(tcti, 'tpm2_activatecredential', ['-c', handleText(opts.akHandle), '-C', handleText(opts.ekHandle), '-i', 'credential', '-o', 'secret', '-P', 'session:session.ctx', '-Q'], dir);
    } finally {
      await tpmTool(tcti, 'tpm2_flushcontext', ['session.ctx'], dir).catch(() => undefined);
    }
    return new Uint8Array(await readFile(join(dir, 'secret')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface EkEnrollmentOptions {
  tcti: string;
  /** The approver key (persistent) and its TPM2B_PUBLIC. */
  keyHandle: number;
  publicArea: Uint8Array;
  /** The attestation key (persistent, restricted signing key). */
  akHandle: number;
  /** The RSA EK (persistent; 0x81010001 by TCG provisioning guidance). */
  ekHandle: number;
  /** EK certificate intermediates (PEM) between the EK certificate and the manufacturer's root, if any. */
  ekIntermediates: string[];
  /** The NV index of the EK certificate (default RSA 0x01c00002; ECC P-256 0x01c0000a). */
  ekCertNvIndex?: number;
  principal: string;
  now: Date;
  /** Asks the store for a challenge (POST /v1/approvers/:principal/tpm-challenges). */
  challenge(input: TpmChallengeInput): Promise<TpmChallenge>;
}

/** Certify the approver key with the AK, obtain the store's challenge and answer it: what `admin approver enroll` takes. */
export async function ekEnrollmentAttestation(opts: EkEnrollmentOptions): Promise<TpmEkAttestationInput> {
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  const certification = await tpmCertifyForEnrollment({ tcti: opts.tcti, keyHandle: opts.keyHandle, akHandle: opts.akHandle, publicArea: opts.publicArea, principal: opts.principal, now: opts.now });
  const ekCertificate = await readEkCertificate(opts.tcti, opts.ekCertNvIndex);
  const ekPublic = await readPublicArea(opts.tcti, opts.ekHandle);
  const ekUserWithAuth = (parseTpm2bPublic(ekPublic).objectAttributes & TPMA_OBJECT.userWithAuth) !== 0;
  const akPublic = await readPublicArea(opts.tcti, opts.akHandle);
  const challenge = await opts.challenge({ ekCertificates: [ekCertificate, ...opts.ekIntermediates], ekPublic: b64(ekPublic), akPublic: b64(akPublic) });
  const secret = await activateCredential(opts.tcti, { akHandle: opts.akHandle, ekHandle: opts.ekHandle, credentialBlob: Buffer.from(challenge.credentialBlob, 'base64'), encryptedSecret: Buffer.from(challenge.encryptedSecret, 'base64'), ekUserWithAuth });
  return { kind: 'tpm-ek', ...certification, akPublic: b64(akPublic), challengeId: challenge.challengeId, secret: b64(secret) };
}
