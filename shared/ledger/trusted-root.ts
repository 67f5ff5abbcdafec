import { toBase64 } from '../bytes';
import { pemToDer } from './pem';

/**
 * Sigstore trust material for the ledger, as JSON of the protobuf-specs TrustedRoot and of the
 * public-key map @sigstore/verify's toTrustMaterial(root, keys) takes for public-key hints.
 */
export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';

export interface TrustedRootInput {
  /** Checkpoint origin = note key name. The stock verifier matches it against baseUrl. */
  origin: string;
  logPublicKeyPem: string;
  /** SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key): logId and checkpointKeyId (its first 4 bytes = note key hint). */
  logId: Uint8Array;
  /** When the log key came into use (ISO time); entries integrated before it are rejected. */
  validFrom: string;
}

export function ledgerTrustedRoot(input: TrustedRootInput): Record<string, unknown> {
  const keyId = { keyId: toBase64(input.logId) };
  return {
    mediaType: TRUSTED_ROOT_MEDIA_TYPE,
    tlogs: [
      {
        baseUrl: `https://${input.origin}`,
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: toBase64(pemToDer(input.logPublicKeyPem)), keyDetails: 'PKIX_ED25519', validFor: { start: input.validFrom } },
        logId: keyId,
        checkpointKeyId: keyId,
      },
    ],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  };
}

export interface ApproverKeyRecord {
  keyId: string;
  publicKeyPem: string;
  enrolledAt: string;
  revokedAt: string | null;
}

function keyDetailsOf(publicKeyPem: string): string {
  // ECDSA P-256 SPKI DER is 91 bytes; Ed25519 SPKI DER is 44 bytes.
  const der = pemToDer(publicKeyPem);
  return der.length === 44 ? 'PKIX_ED25519' : 'PKIX_ECDSA_P256_SHA_256';
}

/**
 * The approver keys as @sigstore/verify public keys, keyed by the bundle hint (key id), valid
 * from enrollment until revocation: a decision's tlog timestamp must fall inside that window.
 */
export function approverPublicKeys(keys: ApproverKeyRecord[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const key of keys) {
    // Tlog timestamps have whole-second precision: start the window at the enrollment's second.
    const validFor: Record<string, string> = { start: floorToSecond(key.enrolledAt) };
    if (key.revokedAt) validFor.end = key.revokedAt;
    out[key.keyId] = { rawBytes: toBase64(pemToDer(key.publicKeyPem)), keyDetails: keyDetailsOf(key.publicKeyPem), validFor };
  }
  return out;
}

function floorToSecond(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new TypeError(`not an ISO time: ${iso}`);
  return new Date(Math.floor(ms / 1000) * 1000).toISOString();
}
