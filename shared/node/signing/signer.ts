/**
 * Anything that can sign a decision: a software key (file or OS keychain) or a PKCS#11 token.
 * The private key never leaves the implementation; callers see only the public half.
 */
export interface DecisionSigner {
  /** Lowercase hex SHA-256 of the DER SubjectPublicKeyInfo (see key-id.ts); the bundle's key hint. */
  keyId: string;
  /** SPKI PEM ("BEGIN PUBLIC KEY") of the signing key, as enrolled with the store. */
  publicKeyPem: string;
  /** True when the key lives on a token and cannot be exported (tiers may require it). */
  hardwareBacked: boolean;
  /**
   * ASN.1 DER ECDSA signature over `data` hashed with SHA-256. The caller passes the whole
   * message (here: the DSSE pre-authentication encoding), not a digest.
   */
  sign(data: Uint8Array): Promise<Uint8Array>;
}
