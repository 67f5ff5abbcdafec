import { entryTooLargeForBundle, MAX_BUNDLED_ENTRY_BYTES } from '../../ledger/tlog-tiles';

/**
 * Texts are joined and encoded in groups of at most this many characters: a string over ~128 KB
 * (a whole bundle joined) is allocated in V8's large-object space, in the old generation, and a
 * stream of them set off mark-compact collections in the store (measured: serving 1M entries'
 * bundles so cost ~20 % more CPU than writing entry by entry).
 */
const JOIN_CHARS = 32 * 1024;

/**
 * The entry bundle (shared/ledger/tlog-tiles.ts `entryBundle`: each entry a 2-byte big-endian
 * length and its UTF-8 bytes) of the stored canonical texts, written into one buffer of the
 * exact size with no per-entry byte array: the texts, joined a group at a time, are encoded by a
 * few writes at the end of the buffer, and each entry is then moved down behind its length (a
 * memmove). The same bytes as `entryBundle(texts.map(utf8))` (tested).
 */
export function entryBundleFromTexts(texts: readonly string[]): Buffer {
  const lengths = new Array<number>(texts.length);
  let bytes = 0;
  for (let i = 0; i < texts.length; i++) {
    const n = Buffer.byteLength(texts[i]!, 'utf8');
    if (n > MAX_BUNDLED_ENTRY_BYTES) throw entryTooLargeForBundle(n);
    lengths[i] = n;
    bytes += n;
  }
  const out = Buffer.allocUnsafe(2 * texts.length + bytes);
  let from = 2 * texts.length;
  for (let i = 0; i < texts.length; ) {
    let j = i;
    let chars = 0;
    let groupBytes = 0;
    do {
      chars += texts[j]!.length;
      groupBytes += lengths[j]!;
      j++;
    } while (j < texts.length && chars + texts[j]!.length <= JOIN_CHARS);
    // The UTF-8 of joined texts is the UTF-8 of each in turn unless one ends in a lone high
    // surrogate and the next starts with a lone low one (joined they make one 4-byte character):
    // then fewer bytes are written, and each text is written on its own instead.
    const written = out.write(j === i + 1 ? texts[i]! : texts.slice(i, j).join(''), from, groupBytes, 'utf8');
    if (written !== groupBytes) return writeEach(texts, lengths, out);
    from += groupBytes;
    i = j;
  }
  from = 2 * texts.length;
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    const n = lengths[i]!;
    out[at] = n >> 8;
    out[at + 1] = n & 0xff;
    // Down or in place: the entry's new start (2 bytes per entry so far, and the entries before it) is never past its old one.
    out.copyWithin(at + 2, from, from + n);
    from += n;
    at += 2 + n;
  }
  return out;
}

function writeEach(texts: readonly string[], lengths: readonly number[], out: Buffer): Buffer {
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    const n = lengths[i]!;
    out[at] = n >> 8;
    out[at + 1] = n & 0xff;
    out.write(texts[i]!, at + 2, n, 'utf8');
    at += 2 + n;
  }
  return out;
}
