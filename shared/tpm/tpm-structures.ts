/**
 * The TPM 2.0 structures a key certification carries, read byte by byte as TPM 2.0 Library
 * Part 2 ("Structures") lays them out: big-endian integers, TPM2B_* as a 16-bit size then that
 * many bytes. Only what a TPM2_Certify of a signing key needs: TPMT_PUBLIC (ECC and RSA),
 * TPMS_ATTEST with TPMS_CERTIFY_INFO, TPMT_SIGNATURE (ECDSA, RSASSA, RSAPSS).
 *
 * Pure (no node: imports): the store verifies with it, the console and tests build certify
 * commands and split the TPM's answer with it.
 */

/** TPM_GENERATED_VALUE: every TPMS_ATTEST the TPM signs starts with it (Part 2, 6.2). */
export const TPM_GENERATED_VALUE = 0xff544347;
/** TPM_ST_ATTEST_CERTIFY: the TPMS_ATTEST of TPM2_Certify (Part 2, 6.9). */
export const TPM_ST_ATTEST_CERTIFY = 0x8017;

/** TPM_ALG_ID values used here (Part 2, 6.3). */
export const TPM_ALG = {
  RSA: 0x0001,
  SHA1: 0x0004,
  SHA256: 0x000b,
  SHA384: 0x000c,
  SHA512: 0x000d,
  NULL: 0x0010,
  RSASSA: 0x0014,
  RSAPSS: 0x0016,
  ECDSA: 0x0018,
  ECDAA: 0x001a,
  ECC: 0x0023,
  AES: 0x0006,
  CFB: 0x0043,
} as const;

/** TPM hash algorithm → the name node:crypto and WebCrypto know it by. */
export const TPM_HASH_NAMES: Record<number, 'sha1' | 'sha256' | 'sha384' | 'sha512'> = {
  [TPM_ALG.SHA1]: 'sha1',
  [TPM_ALG.SHA256]: 'sha256',
  [TPM_ALG.SHA384]: 'sha384',
  [TPM_ALG.SHA512]: 'sha512',
};

/** TPM_ECC_CURVE → JWK curve name (Part 2, 6.4). */
export const TPM_ECC_CURVES: Record<number, 'P-256' | 'P-384' | 'P-521'> = { 0x0003: 'P-256', 0x0004: 'P-384', 0x0005: 'P-521' };

/** TPMA_OBJECT bits (Part 2, 8.3) that say where a key came from and who may use it. */
export const TPMA_OBJECT = {
  fixedTPM: 1 << 1,
  stClear: 1 << 2,
  fixedParent: 1 << 4,
  sensitiveDataOrigin: 1 << 5,
  userWithAuth: 1 << 6,
  adminWithPolicy: 1 << 7,
  noDA: 1 << 10,
  encryptedDuplication: 1 << 11,
  restricted: 1 << 16,
  decrypt: 1 << 17,
  sign: 1 << 18,
} as const;

/** A cursor over TPM bytes; every read names the field, so a short buffer says what was cut. */
export class TpmReader {
  private at = 0;
  constructor(
    readonly bytes: Uint8Array,
    private readonly what: string,
  ) {}

  get offset(): number {
    return this.at;
  }

  private need(n: number, field: string): void {
    if (this.at + n > this.bytes.length) throw new Error(`${this.what} is truncated at ${field} (byte ${this.at}, needs ${n} more, has ${this.bytes.length - this.at})`);
  }

  u8(field: string): number {
    this.need(1, field);
    return this.bytes[this.at++]!;
  }

  u16(field: string): number {
    this.need(2, field);
    const v = (this.bytes[this.at]! << 8) | this.bytes[this.at + 1]!;
    this.at += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = ((this.bytes[this.at]! << 24) >>> 0) + ((this.bytes[this.at + 1]! << 16) | (this.bytes[this.at + 2]! << 8) | this.bytes[this.at + 3]!);
    this.at += 4;
    return v;
  }

  u64(field: string): bigint {
    const hi = this.u32(field);
    return (BigInt(hi) << 32n) | BigInt(this.u32(field));
  }

  raw(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  /** A TPM2B_*: a 16-bit size, then that many bytes. */
  sized(field: string): Uint8Array {
    return this.raw(this.u16(`${field}.size`), field);
  }

  /** The structure must end here: trailing bytes mean it is not what it claims to be. */
  end(): void {
    if (this.at !== this.bytes.length) throw new Error(`${this.what} has ${this.bytes.length - this.at} unexpected trailing bytes after byte ${this.at}`);
  }
}

export type TpmPublicKey = { type: 'ecc'; curve: number; x: Uint8Array; y: Uint8Array } | { type: 'rsa'; bits: number; exponent: number; modulus: Uint8Array };

/** TPMT_PUBLIC (Part 2, 12.2.4). `bytes` is the exact encoding: the name is hashed over it. */
export interface TpmPublic {
  bytes: Uint8Array;
  nameAlg: number;
  objectAttributes: number;
  key: TpmPublicKey;
  /** parameters.symmetric (TPMT_SYM_DEF_OBJECT): a storage key's (an EK's) symmetric algorithm; null for TPM_ALG_NULL. */
  symmetric?: { algorithm: number; keyBits: number; mode: number } | null;
}

function readSymmetric(r: TpmReader): TpmPublic['symmetric'] {
  const algorithm = r.u16('parameters.symmetric.algorithm');
  if (algorithm === TPM_ALG.NULL) return null;
  return { algorithm, keyBits: r.u16('parameters.symmetric.keyBits'), mode: r.u16('parameters.symmetric.mode') };
}

function skipScheme(r: TpmReader): void {
  const scheme = r.u16('parameters.scheme.scheme');
  if (scheme !== TPM_ALG.NULL) {
    r.u16('parameters.scheme.hashAlg');
    if (scheme === TPM_ALG.ECDAA) r.u16('parameters.scheme.count');
  }
}

/** Read a TPMT_PUBLIC from `r`. */
export function readTpmtPublic(r: TpmReader): TpmPublic {
  const start = r.offset;
  const type = r.u16('type');
  const nameAlg = r.u16('nameAlg');
  const objectAttributes = r.u32('objectAttributes');
  r.sized('authPolicy');
  let key: TpmPublicKey;
  let symmetric: TpmPublic['symmetric'];
  if (type === TPM_ALG.ECC) {
    symmetric = readSymmetric(r);
    skipScheme(r);
    const curve = r.u16('parameters.curveID');
    if (r.u16('parameters.kdf.scheme') !== TPM_ALG.NULL) r.u16('parameters.kdf.hashAlg');
    key = { type: 'ecc', curve, x: r.sized('unique.x'), y: r.sized('unique.y') };
  } else if (type === TPM_ALG.RSA) {
    symmetric = readSymmetric(r);
    skipScheme(r);
    const bits = r.u16('parameters.keyBits');
    const exponent = r.u32('parameters.exponent');
    key = { type: 'rsa', bits, exponent: exponent === 0 ? 65537 : exponent, modulus: r.sized('unique.rsa') };
  } else {
    throw new Error(`TPMT_PUBLIC type 0x${type.toString(16).padStart(4, '0')} is neither ECC nor RSA`);
  }
  return { bytes: r.bytes.subarray(start, r.offset), nameAlg, objectAttributes, key, symmetric };
}

/** A TPM2B_PUBLIC (as `tpm2_create -u` writes it): the size must match the TPMT_PUBLIC inside. */
export function parseTpm2bPublic(bytes: Uint8Array): TpmPublic {
  const outer = new TpmReader(bytes, 'the TPM2B_PUBLIC');
  const inner = outer.sized('size');
  outer.end();
  const r = new TpmReader(inner, 'the TPMT_PUBLIC');
  const pub = readTpmtPublic(r);
  r.end();
  return pub;
}

/** TPMS_ATTEST (Part 2, 10.12.12) of a TPM2_Certify: TPMS_CERTIFY_INFO as `attested`. */
export interface TpmsAttestCertify {
  magic: number;
  type: number;
  qualifiedSigner: Uint8Array;
  extraData: Uint8Array;
  clock: { clock: bigint; resetCount: number; restartCount: number; safe: boolean };
  firmwareVersion: bigint;
  /** TPMS_CERTIFY_INFO.name: the certified object's name (nameAlg ‖ H(TPMT_PUBLIC)). */
  name: Uint8Array;
  qualifiedName: Uint8Array;
}

/**
 * Read a TPMS_ATTEST. Magic and type are returned, not checked, so the caller can say which of
 * them is wrong; the attested part is read as TPMS_CERTIFY_INFO only when the type says certify.
 */
export function parseTpmsAttest(bytes: Uint8Array): TpmsAttestCertify {
  const r = new TpmReader(bytes, 'the TPMS_ATTEST');
  const magic = r.u32('magic');
  const type = r.u16('type');
  const qualifiedSigner = r.sized('qualifiedSigner');
  const extraData = r.sized('extraData');
  const clock = { clock: r.u64('clockInfo.clock'), resetCount: r.u32('clockInfo.resetCount'), restartCount: r.u32('clockInfo.restartCount'), safe: r.u8('clockInfo.safe') === 1 };
  const firmwareVersion = r.u64('firmwareVersion');
  let name: Uint8Array = new Uint8Array(0);
  let qualifiedName: Uint8Array = new Uint8Array(0);
  if (magic === TPM_GENERATED_VALUE && type === TPM_ST_ATTEST_CERTIFY) {
    name = r.sized('attested.certify.name');
    qualifiedName = r.sized('attested.certify.qualifiedName');
    r.end();
  }
  return { magic, type, qualifiedSigner, extraData, clock, firmwareVersion, name, qualifiedName };
}

/** TPMT_SIGNATURE (Part 2, 11.3.4): ECDSA (r, s) or RSASSA/RSAPSS (one big number). */
export type TpmSignature = { sigAlg: number; hashAlg: number } & ({ kind: 'ecdsa'; r: Uint8Array; s: Uint8Array } | { kind: 'rsa'; sig: Uint8Array });

export function readTpmtSignature(r: TpmReader): TpmSignature {
  const sigAlg = r.u16('sigAlg');
  const hashAlg = r.u16('hash');
  if (sigAlg === TPM_ALG.ECDSA) return { sigAlg, hashAlg, kind: 'ecdsa', r: r.sized('signatureR'), s: r.sized('signatureS') };
  if (sigAlg === TPM_ALG.RSASSA || sigAlg === TPM_ALG.RSAPSS) return { sigAlg, hashAlg, kind: 'rsa', sig: r.sized('sig') };
  throw new Error(`TPMT_SIGNATURE algorithm 0x${sigAlg.toString(16).padStart(4, '0')} is not ECDSA, RSASSA or RSAPSS`);
}

export function parseTpmtSignature(bytes: Uint8Array): TpmSignature {
  const r = new TpmReader(bytes, 'the TPMT_SIGNATURE');
  const sig = readTpmtSignature(r);
  r.end();
  return sig;
}

/** Which TPMA_OBJECT bits are set, by name. */
export function objectAttributeFlags(attributes: number): Record<keyof typeof TPMA_OBJECT, boolean> {
  return Object.fromEntries(Object.entries(TPMA_OBJECT).map(([name, bit]) => [name, (attributes & bit) !== 0])) as Record<keyof typeof TPMA_OBJECT, boolean>;
}

/** TPM firmwareVersion as the TPM reports it (two 32-bit halves, vendor-defined), hex. */
export function firmwareVersionText(v: bigint): string {
  return `0x${v.toString(16).padStart(16, '0')}`;
}
