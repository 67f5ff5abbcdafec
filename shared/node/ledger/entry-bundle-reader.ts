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
 * A cursor over the entries of entry bundle `index` of `width` entries, or of `bundles`
 * consecutive full bundles from `index` concatenated (`/v1/ledger/entry-bundles`: 256 entries
 * each, the same framing end to end): `next()` reads the next entry into `text` and `leaf` (no
 * object an entry), false once the body is used up. The buffer is overwritten (see above). A body
 * that holds another number of entries, or is cut inside one, is the store's fault: refused,
 * naming the bundle.
 */
export class EntryBundleCursor {
  /** The current entry's UTF-8 text; null when its bytes are not valid UTF-8. */
  text: string | null = null;
  /** The current entry's leaf hash. */
  leaf: Uint8Array = new Uint8Array(0);
  /** Entries read so far. */
  read = 0;
  private readonly bytes: Buffer;
  private at = 0;

  constructor(
    body: ArrayBuffer | Uint8Array,
    private readonly index: number,
    private readonly width: number,
    private readonly bundles = 1,
  ) {
    this.bytes = body instanceof Uint8Array ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : Buffer.from(body);
  }

  next(): boolean {
    const bytes = this.bytes;
    const at = this.at;
    if (at >= bytes.length) {
      if (this.read !== this.width) throw this.wrongCount();
      return false;
    }
    if (at + 2 > bytes.length) throw this.cutShort();
    const end = at + 2 + ((bytes[at]! << 8) | bytes[at + 1]!);
    if (end > bytes.length) throw this.cutShort();
    bytes[at + 1] = 0x00;
    this.leaf = sha256OneShot(bytes.subarray(at + 1, end));
    // Decoded in place (no view of the entry): bytes that are not UTF-8 come out with U+FFFD in
    // their place, so a text without one is the strict decoding; one with it (a real U+FFFD, or
    // bytes that are not UTF-8) is decided by the strict decoder.
    const text = bytes.toString('utf8', at + 2, end);
    if (!text.includes('\ufffd')) this.text = text;
    else {
      try {
        this.text = UTF8.decode(bytes.subarray(at + 2, end));
      } catch {
        this.text = null;
      }
    }
    this.at = end;
    this.read++;
    return true;
  }

  private wrongCount(): AppError {
    const what = this.bundles === 1 ? `entry bundle ${this.index} (entries from ${this.index * TILE_WIDTH}) holds` : `entry bundles ${this.index}..${this.index + this.bundles - 1} (entries from ${this.index * TILE_WIDTH}) hold`;
    return new AppError('verification_failed', `the store's ${what} ${this.read} entries, not the ${this.width} asked for`);
  }

  private cutShort(): AppError {
    const bundle = this.index + Math.floor(this.read / TILE_WIDTH);
    return new AppError('verification_failed', `the store's entry bundle ${bundle} is cut short inside entry ${this.index * TILE_WIDTH + this.read} (each entry is a 2-byte length and that many bytes)`);
  }
}

/**
 * Read bundle `index` of `width` entries at once; the buffer is overwritten (see above). A bundle
 * that holds another number of entries, or is cut inside one, is refused, naming it.
 */
export function readEntryBundle(body: ArrayBuffer, index: number, width: number): BundleEntry[] {
  const cursor = new EntryBundleCursor(body, index, width);
  const out: BundleEntry[] = [];
  while (cursor.next()) out.push({ text: cursor.text, leaf: cursor.leaf });
  return out;
}
