import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { base64ToBytes, bytesEqual, bytesToBase64, bytesToHex, hexToBytes } from '../../../../shared/signing/bytes';

describe('byte encodings', () => {
  test('base64 matches Node for every length 0..64 and round-trips', () => {
    for (let n = 0; n <= 64; n++) {
      const bytes = randomBytes(n);
      const b64 = bytesToBase64(bytes);
      assert.equal(b64, bytes.toString('base64'));
      assert.deepEqual(Buffer.from(base64ToBytes(b64)), bytes);
      assert.deepEqual(Buffer.from(base64ToBytes(bytes.toString('base64url'))), bytes);
    }
  });

  test('base64 decoding rejects characters outside the alphabet', () => {
    assert.throws(() => base64ToBytes('ab$d'), /unexpected character/);
    assert.throws(() => base64ToBytes('abcde'), /bad length/);
  });

  test('hex round-trips and rejects garbage', () => {
    const bytes = randomBytes(33);
    assert.equal(bytesToHex(bytes), bytes.toString('hex'));
    assert.deepEqual(Buffer.from(hexToBytes(bytes.toString('hex'))), bytes);
    assert.throws(() => hexToBytes('abc'));
    assert.throws(() => hexToBytes('zz'));
  });

  test('bytesEqual', () => {
    assert.equal(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2)), true);
    assert.equal(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3)), false);
    assert.equal(bytesEqual(Uint8Array.of(1), Uint8Array.of(1, 2)), false);
  });
});
