import { createHash, randomBytes, timingSafeEqual, type X509Certificate } from 'node:crypto';
import { TPM_CHALLENGE_TTL_MS, type KeyAttestation, type TpmChallenge, type TpmChallengeInput, type TpmEkAttestationInput } from '../../shared/domain/identity';
import type { AttestationRoot } from '../../shared/domain/policy';
import { TPM_ALG, TPM_HASH_NAMES, objectAttributeFlags, parseTpm2bPublic, type TpmPublic } from '../../shared/tpm/tpm-structures';
import { refuse, spkiDer, verifyChainToRoot } from './attestation-chain';
import { makeCredential } from './tpm-credential';
import { certificationPolicy, parsed, tpmObjectName, tpmPublicKeyObject, verifyCertification } from './tpm-attestation';

/**
 * TPM attestation anchored in the TPM's endorsement key (policy roots of kind `tpm-ek`), the
 * privacy-CA-free enrollment of TCG credential activation (as go-attestation and Keylime do it):
 *
 * 1. challenge (issueTpmChallenge): the EK certificate chains to a TPM manufacturer's root the
 *    policy names; the EK public area handed in holds that certificate's key and is a restricted
 *    decryption key; the attestation key (AK) is fixedTPM, fixedParent, sensitiveDataOrigin,
 *    restricted and a signing key. The store then makes a credential (TPM2_MakeCredential, in
 *    software) holding a fresh secret, encrypted to the EK and bound to the AK's name.
 * 2. enrollment (verifyEkEnrollment): the secret comes back. Only the TPM holding the EK's
 *    private part opens the credential, and TPM2_ActivateCredential releases it only when the
 *    object of that name is loaded in the same TPM: the AK is resident in the TPM the
 *    manufacturer certified. The approver key's TPM2_Certify by that AK is then checked as on
 *    the AK-CA path (tpm-attestation.ts). A challenge expires (TPM_CHALLENGE_TTL_MS), names its
 *    principal, and is answered once.
 */

/** What the store keeps of an issued challenge (meta `tpm-challenge:<id>`): never the secret itself. */
export interface TpmChallengeRecord {
  v: 1;
  principal: string;
  akName: string;
  ekCertificates: string[];
  secretSha256: string;
  issuedAt: string;
  expiresAt: string;
}

export const TPM_CHALLENGE_META_PREFIX = 'tpm-challenge:';
export const TPM_CHALLENGE_USED_META_PREFIX = 'tpm-challenge-used:';
const SECRET_BYTES = 32;

function decode(b64: string): Buffer {
  return Buffer.from(b64, 'base64');
}

/** TCG EK Credential Profile: the TPM's manufacturer, model and version in the subjectAltName's directoryName. */
const TPM_SAN_OIDS = { manufacturer: '2.23.133.2.1', model: '2.23.133.2.2', version: '2.23.133.2.3' } as const;

/** A value in Node's subjectAltName text: `#` + hex DER (a string type), or the text itself. */
function sanValue(raw: string): string {
  if (!raw.startsWith('#')) return raw;
  const der = Buffer.from(raw.slice(1), 'hex');
  if (der.length < 2 || der[1]! & 0x80) return raw;
  return der.subarray(2, 2 + der[1]!).toString('utf8');
}

function tpmIdentity(cert: X509Certificate): { manufacturer?: string; model?: string; version?: string } {
  const san = (cert.subjectAltName ?? '').replace(/\\u002c/g, ',');
  const out: { manufacturer?: string; model?: string; version?: string } = {};
  for (const [field, oid] of Object.entries(TPM_SAN_OIDS) as [keyof typeof TPM_SAN_OIDS, string][]) {
    const match = new RegExp(`${oid.replace(/\./g, '\\.')}=([^,"+]+)`).exec(san);
    if (match) out[field] = sanValue(match[1]!);
  }
  return out;
}

/** The EK certificate chains to a `tpm-ek` root at `now` and is an end-entity certificate. */
export function verifyEkCertificate(pems: readonly string[], roots: readonly AttestationRoot[], now: Date): { ek: X509Certificate; root: AttestationRoot } {
  const { chain, root } = verifyChainToRoot(pems, 'tpm-ek', roots, now, 'the EK certificate');
  const ek = chain[0]!;
  if (ek.ca) refuse('the EK certificate is a CA certificate (basicConstraints CA:TRUE), not a TPM endorsement key certificate');
  return { ek, root };
}

function tpmPublic(b64: string, what: string): TpmPublic {
  return parsed(what, () => parseTpm2bPublic(new Uint8Array(decode(b64))));
}

/** The AK public area: a restricted signing key generated in and bound to its TPM. */
export function checkAttestationKey(akPublicB64: string): { pub: TpmPublic; name: Buffer } {
  const pub = tpmPublic(akPublicB64, 'akPublic (TPM2B_PUBLIC)');
  const flags = objectAttributeFlags(pub.objectAttributes);
  const attrs = `objectAttributes 0x${pub.objectAttributes.toString(16).padStart(8, '0')}`;
  for (const required of ['fixedTPM', 'fixedParent', 'sensitiveDataOrigin'] as const) {
    if (!flags[required]) refuse(`the attestation key is not ${required}: it was not generated in this TPM or can leave it (${attrs})`);
  }
  if (!flags.restricted) refuse(`the attestation key is not restricted: an unrestricted key signs anything, so its TPM2_Certify proves nothing (${attrs})`);
  if (!flags.sign || flags.decrypt) refuse(`the attestation key must be a signing key and not a decryption key (${attrs})`);
  return { pub, name: tpmObjectName(pub, 'the attestation key') };
}

/** Issue a challenge for `principal`: the credential for the client and the record the store keeps. */
export function issueTpmChallenge(input: TpmChallengeInput, ctx: { principal: string; roots: readonly AttestationRoot[]; now: Date; id: string }): { challenge: TpmChallenge; record: TpmChallengeRecord } {
  const { ek } = verifyEkCertificate(input.ekCertificates, ctx.roots, ctx.now);
  const ekPub = tpmPublic(input.ekPublic, 'ekPublic (TPM2B_PUBLIC)');
  const flags = objectAttributeFlags(ekPub.objectAttributes);
  if (!flags.fixedTPM || !flags.fixedParent || !flags.restricted || !flags.decrypt || flags.sign) {
    refuse(`ekPublic is not an endorsement key: it must be a fixedTPM, fixedParent, restricted decryption key (objectAttributes 0x${ekPub.objectAttributes.toString(16).padStart(8, '0')})`);
  }
  let ekKey: ReturnType<typeof tpmPublicKeyObject>;
  try {
    ekKey = tpmPublicKeyObject(ekPub);
  } catch (error) {
    if ((error as { code?: string }).code === 'invalid_input') throw error;
    refuse(`ekPublic's key cannot be read (${(error as Error).message})`);
  }
  if (!spkiDer(ekKey).equals(spkiDer(ek.publicKey))) refuse('ekPublic holds another key than the EK certificate: the public area is not the certified endorsement key');
  const nameAlg = TPM_HASH_NAMES[ekPub.nameAlg];
  if (!nameAlg) refuse(`the endorsement key's nameAlg 0x${ekPub.nameAlg.toString(16)} is not SHA-1/256/384/512`);
  const sym = ekPub.symmetric;
  if (!sym || sym.algorithm !== TPM_ALG.AES || sym.mode !== TPM_ALG.CFB) refuse('the endorsement key has no AES-CFB symmetric algorithm: it cannot protect a credential (TPM 2.0 Part 1, 24.4)');
  const ak = checkAttestationKey(input.akPublic);

  const secret = randomBytes(SECRET_BYTES);
  const made = makeCredential({ key: ekKey, nameAlg, symmetricKeyBits: sym.keyBits }, ak.name, secret);
  const issuedAt = ctx.now.toISOString();
  const expiresAt = new Date(ctx.now.getTime() + TPM_CHALLENGE_TTL_MS).toISOString();
  return {
    challenge: { challengeId: ctx.id, principal: ctx.principal, akName: ak.name.toString('hex'), credentialBlob: made.credentialBlob.toString('base64'), encryptedSecret: made.encryptedSecret.toString('base64'), expiresAt },
    record: { v: 1, principal: ctx.principal, akName: ak.name.toString('hex'), ekCertificates: [...input.ekCertificates], secretSha256: createHash('sha256').update(secret).digest('hex'), issuedAt, expiresAt },
  };
}

/**
 * The enrollment half: the challenge answered for this principal and AK, with the secret only
 * that TPM could release; then the approver key's certification by that AK. The EK chain is
 * checked again against the policy in force now.
 */
export function verifyEkEnrollment(input: TpmEkAttestationInput, publicKeyPem: string, record: TpmChallengeRecord, ctx: { principal: string; roots: readonly AttestationRoot[]; now: Date }): KeyAttestation {
  if (ctx.now.toISOString() >= record.expiresAt) refuse(`challenge ${input.challengeId} expired at ${record.expiresAt} (store clock ${ctx.now.toISOString()}): run \`breakglass keygen --tpm --ek\` again`);
  if (record.principal !== ctx.principal) refuse(`challenge ${input.challengeId} was issued for principal ${record.principal}, not ${ctx.principal}`);
  const ak = checkAttestationKey(input.akPublic);
  if (ak.name.toString('hex') !== record.akName) refuse(`AK name mismatch: the challenge was made for the attestation key named ${record.akName}, not ${ak.name.toString('hex')}`);
  const secret = decode(input.secret);
  const digest = createHash('sha256').update(secret).digest();
  if (!timingSafeEqual(digest, Buffer.from(record.secretSha256, 'hex'))) refuse(`wrong secret for challenge ${input.challengeId}: it is not what the store encrypted to the EK, so the attestation key was not shown to live in that TPM (TPM2_ActivateCredential)`);
  const { ek, root } = verifyEkCertificate(record.ekCertificates, ctx.roots, ctx.now);
  const certification = verifyCertification(input, publicKeyPem, tpmPublicKeyObject(ak.pub), ctx);
  return {
    kind: 'tpm',
    root: root.id,
    serial: ek.serialNumber.toLowerCase(),
    policy: certificationPolicy(certification),
    ek: {
      issuer: ek.issuer.replace(/\n/g, ', '),
      serial: ek.serialNumber.toLowerCase(),
      fingerprint: createHash('sha256').update(ek.raw).digest('hex'),
      ...tpmIdentity(ek),
      akName: record.akName,
    },
  };
}
