import { isAscii } from 'node:buffer';
import { TextDecoder } from 'node:util';
import { AppError } from '../../errors';
import { TILE_WIDTH } from '../../ledger/tlog-tiles';
import { sha256OneShot } from './node-crypto';

/**
 * The entries of one tlog-tiles entry bundle (shared/ledger/tlog-tiles.ts: each entry a 2-byte
 * big-endian length and its bytes) as the ledger verifier reads them: the leaf hash
 * SHA-256(0x00 ‖ bytes) of the exact bytes the store sent, and their text. No JSON page to parse
 * and no text to encode again before hashing: the byte before each entry (the low byte of its
 * length, read first) is overwritten with 0x00 so the leaf input is hashed where it lies.
 */
export interface BundleEntry {
  /** The entry's UTF-8 text; null when its bytes are not valid UTF-8. */
  text: string | null;
  leaf: Uint8Array;
}

/** Fatal: bytes that are not UTF-8 are no entry's canonical form. A BOM stays in the text (and fails JSON.parse). */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Read bundle `index` of `width` entries; the buffer is overwritten (see above). A bundle that
 * holds another number of entries, or is cut inside one, is the store's fault: refused, naming it.
 */
export function readEntryBundle(body: ArrayBuffer, index: number, width: number): BundleEntry[] {
  const bytes = Buffer.from(body);
  const out: BundleEntry[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 2 > bytes.length) throw cutShort(index, out.length);
    const end = at + 2 + ((bytes[at]! << 8) | bytes[at + 1]!);
    if (end > bytes.length) throw cutShort(index, out.length);
    bytes[at + 1] = 0x00;
    const leaf = sha256OneShot(bytes.subarray(at + 1, end));
    const entry = bytes.subarray(at + 2, end);
    let text: string | null;
    if (isAscii(entry)) text = entry.toString('latin1');
    else {
      try {
        text = UTF8.decode(entry);
      } catch {
        text = null;
      }
    }
    out.push({ text, leaf });
    at = end;
  }
  if (out.length !== width) throw new AppError('verification_failed', `the store's entry bundle ${index} (entries from ${index * TILE_WIDTH}) holds ${out.length} entries, not the ${width} asked for`);
  return out;
}

function cutShort(index: number, read: number): AppError {
  return new AppError('verification_failed', `the store's entry bundle ${index} is cut short inside entry ${index * TILE_WIDTH + read} (each entry is a 2-byte length and that many bytes)`);
}
