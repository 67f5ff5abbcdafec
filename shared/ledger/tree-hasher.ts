import { concatBytes, utf8 } from '../bytes';

/**
 * SHA-256 of one byte string. Injected so shared/ledger stays pure: the store and the CLI pass
 * node:crypto, the renderer could pass a WebCrypto-backed or JS implementation.
 */
export type Sha256 = (data: Uint8Array) => Uint8Array;

/** RFC 6962 §2.1 / RFC 9162 §2.1.1 domain separation prefixes. */
const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);
export const HASH_SIZE = 32;

export interface TreeHasher {
  /** SHA-256(0x00 ‖ data): the hash of one leaf. */
  leaf(data: Uint8Array): Uint8Array;
  /** SHA-256(0x01 ‖ left ‖ right): an interior node. */
  node(left: Uint8Array, right: Uint8Array): Uint8Array;
  /** MTH({}) = SHA-256(""): the root of the empty tree. */
  emptyRoot(): Uint8Array;
  sha256: Sha256;
  /**
   * SHA-256(0x00 ‖ UTF-8 of text): the leaf of an entry's text, without building the byte
   * string first (a verifier hashes every entry this way). Absent: leaf(utf8(text)).
   */
  leafOfText?(text: string): Uint8Array;
}

/** The leaf hash of an entry's text with whatever the hasher offers. */
export function leafOfText(hasher: TreeHasher, text: string): Uint8Array {
  return hasher.leafOfText ? hasher.leafOfText(text) : hasher.leaf(utf8(text));
}

export function treeHasher(sha256: Sha256): TreeHasher {
  return {
    sha256,
    leaf: (data) => sha256(concatBytes(LEAF_PREFIX, data)),
    node: (left, right) => sha256(concatBytes(NODE_PREFIX, left, right)),
    emptyRoot: () => sha256(new Uint8Array(0)),
  };
}
