import { canonicalJsonBytes } from '../canonical-json';
import type { CanonicalRequest } from '../domain/request';
import { toHex } from '../bytes';

/** A SHA-256 implementation, injected so this stays pure (Node's crypto, WebCrypto, a JS one...). */
export type Sha256 = (bytes: Uint8Array) => Uint8Array;

/**
 * `sha256:<hex>` over the canonical JSON of the immutable request. Every decision signs this,
 * so a signature can never be replayed onto another request. The caller must pass exactly the
 * CanonicalRequest fields (extra fields would change the digest).
 */
export function requestDigest(canonicalRequest: CanonicalRequest, sha256: Sha256): string {
  return `sha256:${toHex(sha256(canonicalJsonBytes(canonicalRequest)))}`;
}
