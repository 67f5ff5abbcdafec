import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { bytesEqual, fromBase64, fromBase64Lenient, fromHex, toBase64, toHex } from '../../../shared/bytes';

describe('byte encodings', () => {
  test('base64 matches Node for every length 0..64 and round-trips', () => {
    for (let n = 0; n <= 64; n++) {
      const bytes = randomBytes(n);
      const b64 = toBase64(bytes);
      assert.equal(b64, bytes.toString('base64'));
      assert.deepEqual(Buffer.from(fromBase64Lenient(b64)), bytes);
      assert.deepEqual(Buffer.from(fromBase64Lenient(bytes.toString('base64url'))), bytes);
    }
  });

  test('strict base64 round-trips and rejects URL-safe, unpadded and non-canonical text', () => {
    for (let n = 0; n <= 64; n++) {
      const bytes = randomBytes(n);
      assert.deepEqual(Buffer.from(fromBase64(bytes.toString('base64'))), bytes);
    }
    assert.throws(() => fromBase64('-_-_'), /invalid base64/);
    assert.throws(() => fromBase64('QQ'), /invalid base64/);
    assert.throws(() => fromBase64('QR=='), /non-canonical/);
  });

  test('base64 decoding rejects characters outside the alphabet', () => {
    assert.throws(() => fromBase64Lenient('ab$d'), /unexpected character/);
    assert.throws(() => fromBase64Lenient('abcde'), /bad length/);
  });

  test('hex round-trips and rejects garbage', () => {
    const bytes = randomBytes(33);
    assert.equal(toHex(bytes), bytes.toString('hex'));
    assert.deepEqual(Buffer.from(fromHex(bytes.toString('hex'))), bytes);
    assert.throws(() => fromHex('abc'));
    assert.throws(() => fromHex('zz'));
  });

  test('bytesEqual', () => {
    assert.equal(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2)), true);
    assert.equal(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3)), false);
    assert.equal(bytesEqual(Uint8Array.of(1), Uint8Array.of(1, 2)), false);
  });
});
