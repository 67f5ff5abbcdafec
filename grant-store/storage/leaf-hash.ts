import { leafOfText } from '../../shared/ledger/tree-hasher';
import { nodeTreeHasher } from '../../shared/node/ledger/node-crypto';

/**
 * RFC 6962 leaf hash of an entry's canonical text, SHA-256(0x00 ‖ utf8(text)), as the Buffer the
 * database drivers store: the shared hasher's one-shot form (no Buffer of the text, no Hash
 * object: 1.0 µs against 3.5 µs an entry here), viewed without a copy.
 */
export function leafHashOfText(text: string): Buffer {
  const leaf = leafOfText(nodeTreeHasher, text);
  return Buffer.from(leaf.buffer, leaf.byteOffset, leaf.byteLength);
}
