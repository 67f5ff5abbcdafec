import { constants, createCipheriv, createHash, createHmac, diffieHellman, generateKeyPairSync, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { IDENTITY_LABEL, tpm2b } from '../../shared/tpm/tpm-credential';

/**
 * TPM2_MakeCredential in software (TPM 2.0 Library Part 1, 24 "Credential Protection"; Part 3,
 * 12.6). For an RSA endorsement key:
 *
 *   seed            random, the size of the EK's nameAlg digest
 *   encryptedSecret RSA-OAEP(EK, seed, hash = EK nameAlg, label "IDENTITY\0")        (24.4, B.10.3)
 *   symKey          KDFa(nameAlg, seed, "STORAGE", AK name, ∅, EK symmetric keyBits) (24.4)
 *   encIdentity     AES-CFB(symKey, IV = 0, TPM2B_DIGEST(credential))                (24.4)
 *   HMACkey         KDFa(nameAlg, seed, "INTEGRITY", ∅, ∅, digest bits)              (24.5)
 *   outerHMAC       HMAC(nameAlg, HMACkey, encIdentity ‖ AK name)                    (24.5)
 *   credentialBlob  TPM2B_ID_OBJECT = TPM2B_DIGEST(outerHMAC) ‖ encIdentity
 *
 * For an ECC endorsement key the seed is shared instead of encrypted (Part 1, C.6.4 and 11.4.10.3):
 * an ephemeral key pair on the EK's curve, Z = x of ECDH(ephemeral, EK), seed = KDFe(nameAlg, Z,
 * "IDENTITY", ephemeral x, EK x, digest bits), encryptedSecret = TPMS_ECC_POINT of the ephemeral key.
 *
 * Only a TPM holding the EK's private part can recover the seed, and TPM2_ActivateCredential
 * releases the credential only when the object named by `akName` is loaded in that same TPM.
 * Checked byte for byte against tpm2-tools' `tpm2_makecredential` (test/unit/grant-store/identity/tpm-credential.test.ts).
 */

export type TpmHashName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

const DIGEST_BYTES: Record<TpmHashName, number> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
}

/**
 * KDFa (Part 1, 11.4.10.2), SP 800-108 counter mode with HMAC:
 * K(i) = HMAC(key, [i]32 ‖ label ‖ 0x00 ‖ contextU ‖ contextV ‖ [bits]32), concatenated and cut to `bits`.
 */
export function kdfa(hash: TpmHashName, key: Uint8Array, label: string, contextU: Uint8Array, contextV: Uint8Array, bits: number): Buffer {
  if (bits <= 0 || bits % 8 !== 0) throw new Error(`KDFa: ${bits} bits is not a whole number of bytes`);
  const bytes = bits / 8;
  const out: Buffer[] = [];
  let have = 0;
  for (let i = 1; have < bytes; i++) {
    const block = createHmac(hash, key).update(u32(i)).update(label).update(Buffer.from([0])).update(contextU).update(contextV).update(u32(bits)).digest();
    out.push(block);
    have += block.length;
  }
  return Buffer.concat(out).subarray(0, bytes);
}

/**
 * KDFe (Part 1, 11.4.10.3), SP 800-56A concatenation KDF:
 * H([i]32 ‖ Z ‖ label ‖ 0x00 ‖ partyUInfo ‖ partyVInfo), concatenated and cut to `bits`.
 */
export function kdfe(hash: TpmHashName, z: Uint8Array, label: string, partyUInfo: Uint8Array, partyVInfo: Uint8Array, bits: number): Buffer {
  if (bits <= 0 || bits % 8 !== 0) throw new Error(`KDFe: ${bits} bits is not a whole number of bytes`);
  const out: Buffer[] = [];
  let have = 0;
  for (let i = 1; have < bits / 8; i++) {
    const block = createHash(hash).update(u32(i)).update(z).update(label).update(Buffer.from([0])).update(partyUInfo).update(partyVInfo).digest();
    out.push(block);
    have += block.length;
  }
  return Buffer.concat(out).subarray(0, bits / 8);
}

/** The ECC seed of a credential from an ephemeral key: what the TPM recomputes with the EK's private key. */
export function eccCredentialSeed(nameAlg: TpmHashName, ephemeralPrivate: KeyObject, ekPublic: KeyObject, ephemeralX: Uint8Array, ekX: Uint8Array): Buffer {
  const z = diffieHellman({ privateKey: ephemeralPrivate, publicKey: ekPublic });
  return kdfe(nameAlg, z, 'IDENTITY', ephemeralX, ekX, DIGEST_BYTES[nameAlg] * 8);
}

export interface CredentialProtector {
  /** The EK's public key (RSA or ECC). */
  key: KeyObject;
  /** The EK's nameAlg: the hash of KDFa, the HMAC and OAEP. */
  nameAlg: TpmHashName;
  /** The EK's symmetric key size (AES-CFB), from its TPMT_PUBLIC: 128 for the standard EK template. */
  symmetricKeyBits: number;
}

export interface MadeCredential {
  /** TPM2B_ID_OBJECT, size included. */
  credentialBlob: Buffer;
  /** TPM2B_ENCRYPTED_SECRET, size included. */
  encryptedSecret: Buffer;
}

/** The credential part of MakeCredential for a given seed (deterministic: what the tests compare). */
export function credentialBlobFor(protector: Omit<CredentialProtector, 'key'>, akName: Uint8Array, credential: Uint8Array, seed: Uint8Array): Buffer {
  const digestBytes = DIGEST_BYTES[protector.nameAlg];
  if (credential.length > digestBytes) throw new Error(`the credential is ${credential.length} bytes; with ${protector.nameAlg} it may be at most ${digestBytes}`);
  const symKey = kdfa(protector.nameAlg, seed, 'STORAGE', akName, new Uint8Array(0), protector.symmetricKeyBits);
  const cipher = createCipheriv(`aes-${protector.symmetricKeyBits}-cfb`, symKey, Buffer.alloc(16));
  const encIdentity = Buffer.concat([cipher.update(tpm2b(credential)), cipher.final()]);
  const hmacKey = kdfa(protector.nameAlg, seed, 'INTEGRITY', new Uint8Array(0), new Uint8Array(0), digestBytes * 8);
  const outerHmac = createHmac(protector.nameAlg, hmacKey).update(encIdentity).update(akName).digest();
  return Buffer.from(tpm2b(Buffer.concat([tpm2b(outerHmac), encIdentity])));
}

/** TPM2_MakeCredential: `credential` (the secret) bound to `akName`, protected by the EK (RSA: OAEP; ECC: ECDH). */
export function makeCredential(protector: CredentialProtector, akName: Uint8Array, credential: Uint8Array, seed?: Uint8Array): MadeCredential {
  if (![128, 192, 256].includes(protector.symmetricKeyBits)) throw new Error(`an AES key of ${protector.symmetricKeyBits} bits does not exist`);
  if (protector.key.asymmetricKeyType === 'ec') {
    if (seed) throw new Error('an ECC credential seed comes from the ephemeral key, it cannot be given');
    const curve = protector.key.asymmetricKeyDetails?.namedCurve;
    const ephemeral = generateKeyPairSync('ec', { namedCurve: curve! });
    const ephemeralJwk = ephemeral.publicKey.export({ format: 'jwk' });
    const ekJwk = protector.key.export({ format: 'jwk' });
    const [x, y, ekX] = [ephemeralJwk.x!, ephemeralJwk.y!, ekJwk.x!].map((c) => Buffer.from(c, 'base64url'));
    const eccSeed = eccCredentialSeed(protector.nameAlg, ephemeral.privateKey, protector.key, x!, ekX!);
    return { credentialBlob: credentialBlobFor(protector, akName, credential, eccSeed), encryptedSecret: Buffer.from(tpm2b(Buffer.concat([tpm2b(x!), tpm2b(y!)]))) };
  }
  if (protector.key.asymmetricKeyType !== 'rsa') throw new Error(`MakeCredential takes an RSA or ECC endorsement key, not ${protector.key.asymmetricKeyType}`);
  const rsaSeed = seed ?? randomBytes(DIGEST_BYTES[protector.nameAlg]);
  const encrypted = publicEncrypt({ key: protector.key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: protector.nameAlg, oaepLabel: IDENTITY_LABEL }, rsaSeed);
  return { credentialBlob: credentialBlobFor(protector, akName, credential, rsaSeed), encryptedSecret: Buffer.from(tpm2b(encrypted)) };
}
