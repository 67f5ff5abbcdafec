import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8 } from '../../../../../shared/bytes';
import { entryBundle } from '../../../../../shared/ledger/tlog-tiles';
import { entryBundleFromTexts } from '../../../../../shared/node/ledger/entry-bundle-writer';
import { readEntryBundle } from '../../../../../shared/node/ledger/entry-bundle-reader';

test('entryBundleFromTexts writes the bytes entryBundle writes from the encoded texts, any UTF-8 and any size that fits', () => {
  // Groups of ~32k characters are joined: entries on both sides of a group's end, and one longer than a group.
  const texts = ['q'.repeat(20_000), 'r'.repeat(20_000), '', '{"a":1}', '{"who":"Zoë","note":"日本語 ✓ 𝄞"}', 'x'.repeat(255), 'y'.repeat(256), 'é'.repeat(300), 'z'.repeat(0xffff), '\u{1F600}'.repeat(1000)];
  const expected = entryBundle(texts.map(utf8));
  const written = entryBundleFromTexts(texts);
  assert.equal(written.length, expected.length);
  assert.ok(Buffer.from(expected).equals(written));
  assert.equal(entryBundleFromTexts([]).length, 0);
  // Lone surrogates are each written as U+FFFD, also when joined they would make one character.
  for (const split of [['{"a":"x\uD83D', '\uDE00y"}', 'z'], ['\uDE00', '\uD83D'], ['\uD83D'], ['a'.repeat(40_000) + '\uD83D', '\uDE00', 'b']]) {
    assert.ok(Buffer.from(entryBundle(split.map(utf8))).equals(entryBundleFromTexts(split)), JSON.stringify(split));
  }
  // What a verifier reads back: the same texts.
  const copy = written.buffer.slice(written.byteOffset, written.byteOffset + written.length) as ArrayBuffer;
  assert.deepEqual(readEntryBundle(copy, 0, texts.length).map((e) => e.text), texts);
});

test('entryBundleFromTexts refuses an entry whose UTF-8 bytes (not its characters) exceed 65535, naming its size', () => {
  assert.throws(() => entryBundleFromTexts(['ok', 'z'.repeat(0x10000)]), /a ledger entry of 65536 bytes does not fit an entry bundle \(at most 65535\)/);
  // 30,000 characters, 60,000 + 6 bytes: fits; 33,000 two-byte characters do not.
  assert.equal(entryBundleFromTexts(['é'.repeat(30_000)]).length, 2 + 60_000);
  assert.throws(() => entryBundleFromTexts(['é'.repeat(33_000)]), /66000 bytes does not fit/);
});
