import { TpmReader } from './tpm-structures';

/**
 * The wire shapes of TCG credential activation (TPM 2.0 Library Part 1, 24 "Credential
 * Protection"; Part 3, TPM2_MakeCredential / TPM2_ActivateCredential), pure: the store computes
 * the credential with node:crypto (grant-store/identity/tpm-credential.ts), the CLI hands it to
 * `tpm2_activatecredential` in the file format tpm2-tools reads.
 */

/** NV indexes of the EK certificates (TCG EK Credential Profile 2.0, 2.2.1.4: low range; ECC P-384 from the high range, where swtpm puts its ECC EK's). */
export const EK_CERT_NV_INDEX = { rsa2048: 0x01c00002, eccP256: 0x01c0000a, eccP384: 0x01c00016 } as const;
/** The persistent handle the TCG provisioning guidance gives the RSA EK. */
export const EK_RSA_PERSISTENT_HANDLE = 0x81010001;

/** The OAEP label that protects the seed of a credential: "IDENTITY" with its terminating NUL (Part 1, 24.4). */
export const IDENTITY_LABEL = Uint8Array.from([...'IDENTITY'].map((c) => c.charCodeAt(0)).concat(0));

/** The header tpm2-tools writes before a credential (`tpm2_makecredential -o`): magic, then version 1. */
const CREDENTIAL_FILE_MAGIC = 0xbadcc0de;
const CREDENTIAL_FILE_VERSION = 1;

function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

/** A TPM2B: a 16-bit size, then the bytes. */
export function tpm2b(bytes: Uint8Array): Uint8Array {
  if (bytes.length > 0xffff) throw new Error(`a TPM2B holds at most 65535 bytes, not ${bytes.length}`);
  return Uint8Array.from([(bytes.length >>> 8) & 0xff, bytes.length & 0xff, ...bytes]);
}

/**
 * The file `tpm2_activatecredential -i` reads: header, TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET.
 * Both arguments are the TPM2B encodings (size included), as the store's challenge carries them.
 */
export function credentialFile(credentialBlob: Uint8Array, encryptedSecret: Uint8Array): Uint8Array {
  return Uint8Array.from([...u32(CREDENTIAL_FILE_MAGIC), ...u32(CREDENTIAL_FILE_VERSION), ...credentialBlob, ...encryptedSecret]);
}

/** Split a credential file (as `tpm2_makecredential -o` writes it) into its two TPM2B (size included). */
export function parseCredentialFile(bytes: Uint8Array): { credentialBlob: Uint8Array; encryptedSecret: Uint8Array } {
  const r = new TpmReader(bytes, 'the credential file');
  const magic = r.u32('magic');
  if (magic !== CREDENTIAL_FILE_MAGIC) throw new Error(`the credential file starts with 0x${magic.toString(16)}, not 0xbadcc0de`);
  const version = r.u32('version');
  if (version !== CREDENTIAL_FILE_VERSION) throw new Error(`credential file version ${version}, not 1`);
  const blobStart = r.offset;
  r.sized('credentialBlob');
  const secretStart = r.offset;
  r.sized('secret');
  r.end();
  return { credentialBlob: bytes.slice(blobStart, secretStart), encryptedSecret: bytes.slice(secretStart) };
}

/**
 * A DER certificate as read from an NV index: the index may be larger than the certificate
 * (padding), so the certificate's own outer length says where it ends.
 */
export function derCertificateFromNv(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 4 || bytes[0] !== 0x30) throw new Error('the NV index does not hold a DER certificate (no SEQUENCE at its start)');
  const first = bytes[1]!;
  let length = first;
  let header = 2;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n === 0 || n > 3) throw new Error('the NV index does not hold a DER certificate (bad length)');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + bytes[2 + i]!;
    header = 2 + n;
  }
  if (header + length > bytes.length) throw new Error(`the certificate in the NV index is cut short (${bytes.length} of ${header + length} bytes)`);
  return bytes.slice(0, header + length);
}
