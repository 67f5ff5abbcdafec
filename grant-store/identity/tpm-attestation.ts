import { createHash, createPublicKey, verify, constants, type KeyObject } from 'node:crypto';
import { TPM_CERTIFY_MAX_AGE_MS, TPM_CERTIFY_MAX_SKEW_MS, tpmEnrollmentChallenge, type KeyAttestation, type TpmAttestationInput } from '../../shared/domain/identity';
import type { AttestationRoot } from '../../shared/domain/policy';
import {
  TPM_ALG,
  TPM_ECC_CURVES,
  TPM_GENERATED_VALUE,
  TPM_HASH_NAMES,
  TPM_ST_ATTEST_CERTIFY,
  firmwareVersionText,
  objectAttributeFlags,
  parseTpm2bPublic,
  parseTpmsAttest,
  parseTpmtSignature,
  type TpmPublic,
  type TpmSignature,
  type TpmsAttestCertify,
} from '../../shared/tpm/tpm-structures';
import { enrolledSpki, refuse, spkiDer, verifyChainToRoot } from './attestation-chain';

/**
 * Verifies a TPM 2.0 key certification (TPM2_Certify) for an approver key, the checks the
 * WebAuthn "tpm" attestation statement format makes, in this order, each refusal naming what
 * failed:
 * 1. the attestation key's certificate chains to a `tpm` root of the policy (the CA that issued
 *    it checked the TPM's endorsement key) and is marked for attestation (EKU 2.23.133.8.3);
 * 2. the TPMS_ATTEST starts with TPM_GENERATED_VALUE and is of type TPM_ST_ATTEST_CERTIFY: only
 *    the TPM writes that magic into what a restricted attestation key signs;
 * 3. the AK's signature over the TPMS_ATTEST verifies;
 * 4. extraData is SHA-256 of this enrollment's challenge (principal, issuedAt) and issuedAt is
 *    recent: the certification was made for this enrollment, not replayed;
 * 5. the certified name equals nameAlg ‖ H(TPMT_PUBLIC) of the public area handed in, and that
 *    area's key is exactly the enrolled public key;
 * 6. the key is fixedTPM, fixedParent and sensitiveDataOrigin (generated in this TPM and never
 *    exportable) and a signing key.
 */

/** tcg-kp-AIKCertificate: the EKU a CA puts on an attestation key certificate (TCG EK Credential Profile). */
export const TCG_KP_AIK_CERTIFICATE = '2.23.133.8.3';

function decode(b64: string): Uint8Array {
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

/** The key in a TPMT_PUBLIC as a node KeyObject. */
export function tpmPublicKeyObject(pub: TpmPublic): KeyObject {
  const k = pub.key;
  if (k.type === 'ecc') {
    const crv = TPM_ECC_CURVES[k.curve];
    if (!crv) refuse(`the certified key is on TPM curve 0x${k.curve.toString(16)}, not NIST P-256, P-384 or P-521`);
    const size = { 'P-256': 32, 'P-384': 48, 'P-521': 66 }[crv];
    const pad = (b: Uint8Array) => Buffer.concat([Buffer.alloc(Math.max(0, size - b.length)), Buffer.from(b)]).toString('base64url');
    return createPublicKey({ key: { kty: 'EC', crv, x: pad(k.x), y: pad(k.y) }, format: 'jwk' });
  }
  const e = Buffer.alloc(4);
  e.writeUInt32BE(k.exponent);
  return createPublicKey({ key: { kty: 'RSA', n: Buffer.from(k.modulus).toString('base64url'), e: e.subarray(e.findIndex((b) => b !== 0)).toString('base64url') }, format: 'jwk' });
}

/** An unsigned big-endian integer, left-padded to `size` bytes (IEEE P1363 r ‖ s). */
function fixed(b: Uint8Array, size: number): Buffer {
  const trimmed = Buffer.from(b.subarray(Math.max(0, b.findIndex((x) => x !== 0))));
  if (trimmed.length > size) refuse('the ECDSA signature values are longer than the curve allows');
  return Buffer.concat([Buffer.alloc(size - trimmed.length), trimmed]);
}

function verifySignature(sig: TpmSignature, data: Uint8Array, akKey: KeyObject): boolean {
  const hash = TPM_HASH_NAMES[sig.hashAlg];
  if (!hash) refuse(`the signature uses TPM hash algorithm 0x${sig.hashAlg.toString(16)}, not SHA-1/256/384/512`);
  if (sig.kind === 'ecdsa') {
    if (akKey.asymmetricKeyType !== 'ec') refuse('the signature is ECDSA but the attestation key is an RSA key');
    const size = { prime256v1: 32, secp384r1: 48, secp521r1: 66 }[akKey.asymmetricKeyDetails?.namedCurve ?? ''] ?? 32;
    return verify(hash, data, { key: akKey, dsaEncoding: 'ieee-p1363' }, Buffer.concat([fixed(sig.r, size), fixed(sig.s, size)]));
  }
  if (akKey.asymmetricKeyType !== 'rsa') refuse('the signature is RSA but the attestation key is another key type');
  const padding = sig.sigAlg === TPM_ALG.RSAPSS ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO } : { padding: constants.RSA_PKCS1_PADDING };
  return verify(hash, data, { key: akKey, ...padding }, sig.sig);
}

export function parsed<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    refuse(`${what} cannot be read: ${(error as Error).message}`);
  }
}

/** The TPM name of a public area: nameAlg ‖ H(TPMT_PUBLIC); a 400 when nameAlg is no hash we know. */
export function tpmObjectName(pub: TpmPublic, what: string): Buffer {
  const nameHash = TPM_HASH_NAMES[pub.nameAlg];
  if (!nameHash) refuse(`${what}'s nameAlg 0x${pub.nameAlg.toString(16)} is not SHA-1/256/384/512`);
  return Buffer.concat([Buffer.from([pub.nameAlg >> 8, pub.nameAlg & 0xff]), createHash(nameHash).update(pub.bytes).digest()]);
}

/** What a verified TPM2_Certify says about the certified key. */
export interface VerifiedCertification {
  flags: ReturnType<typeof objectAttributeFlags>;
  attest: TpmsAttestCertify;
  objectAttributes: number;
}

/**
 * Checks 2 to 6 above: a TPM2_Certify made by the attestation key `akKey` (however the AK was
 * vouched for), for this enrollment, of exactly `publicKeyPem`, a TPM-generated signing key.
 */
export function verifyCertification(input: Pick<TpmAttestationInput, 'public' | 'certifyInfo' | 'signature' | 'issuedAt'>, publicKeyPem: string, akKey: KeyObject, ctx: { principal: string; now: Date }): VerifiedCertification {
  const certifyInfo = decode(input.certifyInfo);
  const attest: TpmsAttestCertify = parsed('certifyInfo (TPMS_ATTEST)', () => parseTpmsAttest(certifyInfo));
  if (attest.magic !== TPM_GENERATED_VALUE) refuse(`bad magic 0x${attest.magic.toString(16).padStart(8, '0')} in certifyInfo: a TPMS_ATTEST the TPM made starts with TPM_GENERATED_VALUE 0xff544347`);
  if (attest.type !== TPM_ST_ATTEST_CERTIFY) refuse(`certifyInfo is of type 0x${attest.type.toString(16)}, not TPM_ST_ATTEST_CERTIFY (0x8017): it is not a TPM2_Certify`);

  const signature = parsed('signature (TPMT_SIGNATURE)', () => parseTpmtSignature(decode(input.signature)));
  if (!verifySignature(signature, certifyInfo, akKey)) refuse('the signature over certifyInfo does not verify with the attestation key: the certification was altered or signed by another key');

  const issuedAt = new Date(input.issuedAt);
  const age = ctx.now.getTime() - issuedAt.getTime();
  if (age > TPM_CERTIFY_MAX_AGE_MS) refuse(`stale nonce: the certification was made for ${input.issuedAt}, more than ${TPM_CERTIFY_MAX_AGE_MS / 60_000} minutes before ${ctx.now.toISOString()}; certify the key again`);
  if (age < -TPM_CERTIFY_MAX_SKEW_MS) refuse(`the certification's issuedAt ${input.issuedAt} is in the future (store clock ${ctx.now.toISOString()})`);
  const expected = createHash('sha256').update(tpmEnrollmentChallenge(ctx.principal, input.issuedAt)).digest();
  if (!expected.equals(attest.extraData)) refuse(`extraData does not bind this enrollment: it must be SHA-256 of the enrollment challenge for principal ${ctx.principal} at ${input.issuedAt} (a certification made for another principal, time or purpose)`);

  const pub = parsed('public (TPM2B_PUBLIC)', () => parseTpm2bPublic(decode(input.public)));
  const name = tpmObjectName(pub, 'the key');
  if (!name.equals(attest.name)) refuse(`name mismatch: the certified name ${Buffer.from(attest.name).toString('hex')} is not the name of the public area handed in (${name.toString('hex')})`);
  let certified: Buffer;
  try {
    certified = spkiDer(tpmPublicKeyObject(pub));
  } catch (error) {
    if ((error as { code?: string }).code === 'invalid_input') throw error;
    refuse(`the certified public area's key cannot be read (${(error as Error).message})`);
  }
  if (!certified.equals(enrolledSpki(publicKeyPem))) refuse('the TPM certified another public key than the one being enrolled');

  const flags = objectAttributeFlags(pub.objectAttributes);
  for (const required of ['fixedTPM', 'fixedParent', 'sensitiveDataOrigin'] as const) {
    if (!flags[required]) refuse(`the key is not ${required}: it was not generated in this TPM or can leave it (objectAttributes 0x${pub.objectAttributes.toString(16).padStart(8, '0')})`);
  }
  if (!flags.sign) refuse('the certified key is not a signing key (objectAttributes.sign is clear)');
  return { flags, attest, objectAttributes: pub.objectAttributes };
}

/** The `policy` a TPM attestation records: the certified key's attributes and the TPM's firmware version. */
export function certificationPolicy(c: VerifiedCertification): Record<string, string | boolean> {
  return {
    fixedTPM: c.flags.fixedTPM,
    fixedParent: c.flags.fixedParent,
    sensitiveDataOrigin: c.flags.sensitiveDataOrigin,
    userWithAuth: c.flags.userWithAuth,
    adminWithPolicy: c.flags.adminWithPolicy,
    noDA: c.flags.noDA,
    firmwareVersion: firmwareVersionText(c.attest.firmwareVersion),
  };
}

/** Verify a TPM certification for `publicKeyPem`, enrolled for `principal`, at `now` (the AK vouched for by a `tpm` root: an attestation CA). */
export function verifyTpmAttestation(input: TpmAttestationInput, publicKeyPem: string, ctx: { principal: string; roots: readonly AttestationRoot[]; now: Date }): KeyAttestation {
  const { chain, root } = verifyChainToRoot(input.certificates, 'tpm', ctx.roots, ctx.now, 'the attestation key certificate');
  const ak = chain[0]!;
  if (ak.ca) refuse('the attestation key certificate is a CA certificate, not an attestation key (basicConstraints CA:TRUE)');
  const eku = ak.keyUsage ?? [];
  if (!eku.includes(TCG_KP_AIK_CERTIFICATE)) refuse(`the attestation key certificate is not marked for attestation (extended key usage ${TCG_KP_AIK_CERTIFICATE}, tcg-kp-AIKCertificate, is missing)`);
  const certification = verifyCertification(input, publicKeyPem, ak.publicKey, ctx);
  return { kind: 'tpm', root: root.id, serial: ak.serialNumber.toLowerCase(), policy: certificationPolicy(certification) };
}
