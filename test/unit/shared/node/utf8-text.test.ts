import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8Text } from '../../../../shared/node/utf8-text';
import { seededRandom } from '../../../support/seeded-random';

/**
 * utf8Text decodes chunk by chunk (ASCII chunks as Latin-1): it must give exactly what
 * Buffer#toString('utf8') gives, for valid text and for every kind of broken sequence, wherever
 * the chunks are cut.
 */
const INTERESTING = [0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xe0, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];

test('utf8Text equals toString("utf8") on random bytes, cut into chunks of 1 to 6 bytes', () => {
  const { random, int } = seededRandom(16);
  for (let k = 0; k < 20_000; k++) {
    const bytes = Buffer.alloc(1 + int(14));
    for (let i = 0; i < bytes.length; i++) bytes[i] = random() < 0.7 ? INTERESTING[int(INTERESTING.length)]! : int(256);
    const expected = bytes.toString('utf8');
    for (let chunk = 1; chunk <= 6; chunk++) assert.equal(utf8Text(bytes, chunk), expected, `${bytes.toString('hex')} in chunks of ${chunk}`);
  }
});

test('utf8Text reads a long mostly-ASCII text with characters of every length across chunk cuts', () => {
  const text = `${'{"entries":["a"],'.repeat(300)}— é 𝄞 ${'x'.repeat(70_000)}€ done`;
  const bytes = Buffer.from(text);
  assert.equal(utf8Text(bytes), text);
  for (const chunk of [7, 64, 1000]) assert.equal(utf8Text(bytes, chunk), text);
  assert.equal(utf8Text(Buffer.from('plain ascii')), 'plain ascii');
  assert.equal(utf8Text(Buffer.alloc(0)), '');
});
