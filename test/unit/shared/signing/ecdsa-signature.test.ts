import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { ecdsaDerToRaw, ecdsaRawToDer } from '../../../../shared/signing/ecdsa-signature';

describe('ECDSA DER <-> raw r||s', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

  test('matches Node ieee-p1363 and DER encodings over many signatures (covers short and high-bit integers)', () => {
    for (let i = 0; i < 200; i++) {
      const data = Buffer.from(`message ${i}`);
      const der = sign('sha256', data, privateKey);
      const raw = ecdsaDerToRaw(der);
      assert.equal(raw.length, 64);
      assert.equal(verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw), true);
      assert.deepEqual(Buffer.from(ecdsaRawToDer(raw)), der);
      const raw2 = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      assert.equal(verify('sha256', data, publicKey, ecdsaRawToDer(raw2)), true);
    }
  });

  test('leading zero bytes in r and s become minimal DER integers', () => {
    const raw = new Uint8Array(64);
    raw[31] = 1;
    raw[32] = 0x80;
    const der = ecdsaRawToDer(raw);
    // SEQUENCE { INTEGER 1, INTEGER 0x0080...(33 bytes) }
    assert.equal(der[0], 0x30);
    assert.deepEqual([...der.subarray(2, 5)], [0x02, 0x01, 0x01]);
    assert.deepEqual([...der.subarray(5, 8)], [0x02, 0x21, 0x00]);
    assert.deepEqual(ecdsaDerToRaw(der), raw);
  });

  test('malformed DER is rejected', () => {
    assert.throws(() => ecdsaDerToRaw(Uint8Array.of(0x31, 0x00)), /expected SEQUENCE/);
    assert.throws(() => ecdsaDerToRaw(Uint8Array.of(0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00)), /length does not match/);
    assert.throws(() => ecdsaDerToRaw(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01)), /expected INTEGER/);
    const tooLong = Uint8Array.from([0x30, 0x27, 0x02, 0x22, ...new Array(34).fill(0x11), 0x02, 0x01, 0x01]);
    assert.throws(() => ecdsaDerToRaw(tooLong), /longer than 32/);
    assert.throws(() => ecdsaRawToDer(new Uint8Array(63)), /odd or zero length/);
  });
});
