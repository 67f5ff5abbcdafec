import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants, createHash, createHmac, createPublicKey, diffieHellman, generateKeyPairSync, privateDecrypt, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { credentialBlobFor, kdfa, kdfe, makeCredential } from '../../../../grant-store/identity/tpm-credential';
import { IDENTITY_LABEL, credentialFile, parseCredentialFile } from '../../../../shared/tpm/tpm-credential';
import { TpmReader } from '../../../../shared/tpm/tpm-structures';
import { requireSwtpm } from '../../../support/swtpm';

// TPM2_MakeCredential computed by the store, checked byte for byte against tpm2-tools'
// `tpm2_makecredential` (offline, -T none) for an RSA "EK" whose private key the test holds: the
// test recovers the seed tpm2-tools chose (OAEP, label IDENTITY\0) and the store's credential
// blob for that seed must be the very bytes tpm2-tools wrote. The asymmetric half is checked by
// decrypting the store's encrypted seed, and (integration) by a real TPM's ActivateCredential.

const AK_NAME = Buffer.from('000b' + createHash('sha256').update('an attestation key public area').digest('hex'), 'hex');

describe('TPM2_MakeCredential in software (Part 1, 24)', () => {
  let dir: string;
  before(async () => {
    requireSwtpm();
    dir = await mkdtemp(join(tmpdir(), 'bg-mkcred-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('KDFa is SP 800-108 counter mode over HMAC with the label NUL-terminated and the bit count last', () => {
    const key = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    // Written out from the definition: K(i) = HMAC(key, [i]32 ‖ "STORAGE" ‖ 0x00 ‖ contextU ‖ [384]32).
    const expected = Buffer.concat([1, 2].map((i) => createHmac('sha256', key).update(Buffer.from([0, 0, 0, i])).update('STORAGE\0').update(AK_NAME).update(Buffer.from([0, 0, 0x01, 0x80])).digest())).subarray(0, 48);
    assert.deepEqual(kdfa('sha256', key, 'STORAGE', AK_NAME, Buffer.alloc(0), 384), expected);
    assert.equal(kdfa('sha256', key, 'INTEGRITY', Buffer.alloc(0), Buffer.alloc(0), 256).length, 32);
  });

  for (const secretBytes of [32, 16, 1]) {
    test(`the credential blob equals tpm2_makecredential's, byte for byte (${secretBytes}-byte secret)`, async () => {
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      await writeFile(join(dir, 'ek.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
      const secret = randomBytes(secretBytes);
      await writeFile(join(dir, 'secret'), secret);
      // -G rsa with a PEM key: tpm2-tools applies the default TCG EK template (SHA-256, AES-128-CFB).
      execFileSync('tpm2_makecredential', ['-T', 'none', '-G', 'rsa', '-u', join(dir, 'ek.pem'), '-s', join(dir, 'secret'), '-n', AK_NAME.toString('hex'), '-o', join(dir, 'cred.out')], { stdio: ['ignore', 'ignore', 'pipe'] });
      const theirs = parseCredentialFile(new Uint8Array(await readFile(join(dir, 'cred.out'))));
      const oaep = { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: IDENTITY_LABEL };
      const seed = privateDecrypt(oaep, Buffer.from(theirs.encryptedSecret.subarray(2)));
      assert.equal(seed.length, 32, 'the seed is the size of the nameAlg digest');

      const protector = { nameAlg: 'sha256' as const, symmetricKeyBits: 128 };
      assert.equal(credentialBlobFor(protector, AK_NAME, secret, seed).toString('hex'), Buffer.from(theirs.credentialBlob).toString('hex'));

      const ours = makeCredential({ key: publicKey, ...protector }, AK_NAME, secret);
      assert.equal(ours.encryptedSecret.readUInt16BE(0), 256);
      const ourSeed = privateDecrypt(oaep, ours.encryptedSecret.subarray(2));
      assert.deepEqual(ours.credentialBlob, credentialBlobFor(protector, AK_NAME, secret, ourSeed));
      // Another AK name gives another blob: the name is bound in both the key and the HMAC.
      const otherName = Buffer.from(AK_NAME);
      otherName[5]! ^= 1;
      assert.notDeepEqual(credentialBlobFor(protector, otherName, secret, seed), ours.credentialBlob);
      // The file the CLI hands tpm2_activatecredential is the one tpm2-tools writes.
      assert.deepEqual(Buffer.from(credentialFile(theirs.credentialBlob, theirs.encryptedSecret)), await readFile(join(dir, 'cred.out')));
    });
  }

  /** The seed an ECC credential carries, recovered with the EK's private key from the ephemeral point in encryptedSecret. */
  function eccSeed(ekPrivate: KeyObject, ekPublic: KeyObject, encryptedSecret: Uint8Array): Buffer {
    const outer = new TpmReader(encryptedSecret, 'encryptedSecret');
    const point = new TpmReader(outer.sized('secret'), 'TPMS_ECC_POINT');
    const x = Buffer.from(point.sized('x'));
    const y = Buffer.from(point.sized('y'));
    const ephemeral = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: x.toString('base64url'), y: y.toString('base64url') }, format: 'jwk' });
    const z = diffieHellman({ privateKey: ekPrivate, publicKey: ephemeral });
    return kdfe('sha256', z, 'IDENTITY', x, Buffer.from(ekPublic.export({ format: 'jwk' }).x!, 'base64url'), 256);
  }

  test("ECC EK: the credential blob equals tpm2_makecredential's, byte for byte, for the seed shared through the ephemeral key (KDFe)", async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(join(dir, 'ek-ecc.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    const secret = randomBytes(32);
    await writeFile(join(dir, 'secret'), secret);
    // -G ecc with a PEM key: the default TCG ECC EK template (P-256, SHA-256, AES-128-CFB).
    execFileSync('tpm2_makecredential', ['-T', 'none', '-G', 'ecc', '-u', join(dir, 'ek-ecc.pem'), '-s', join(dir, 'secret'), '-n', AK_NAME.toString('hex'), '-o', join(dir, 'cred-ecc.out')], { stdio: ['ignore', 'ignore', 'pipe'] });
    const theirs = parseCredentialFile(new Uint8Array(await readFile(join(dir, 'cred-ecc.out'))));
    const protector = { nameAlg: 'sha256' as const, symmetricKeyBits: 128 };
    const seed = eccSeed(privateKey, publicKey, theirs.encryptedSecret);
    assert.equal(credentialBlobFor(protector, AK_NAME, secret, seed).toString('hex'), Buffer.from(theirs.credentialBlob).toString('hex'));

    const ours = makeCredential({ key: publicKey, ...protector }, AK_NAME, secret);
    assert.deepEqual(ours.credentialBlob, credentialBlobFor(protector, AK_NAME, secret, eccSeed(privateKey, publicKey, ours.encryptedSecret)));
  });

  test('KDFe is the concatenation KDF over the hash: H([i]32 ‖ Z ‖ label ‖ 0x00 ‖ partyU ‖ partyV)', () => {
    const z = Buffer.alloc(32, 7);
    const expected = Buffer.concat([1, 2].map((i) => createHash('sha256').update(Buffer.from([0, 0, 0, i])).update(z).update('IDENTITY\0').update('u').update('v').digest())).subarray(0, 40);
    assert.deepEqual(kdfe('sha256', z, 'IDENTITY', Buffer.from('u'), Buffer.from('v'), 320), expected);
  });

  test('a credential longer than the nameAlg digest is refused', () => {
    assert.throws(() => credentialBlobFor({ nameAlg: 'sha256', symmetricKeyBits: 128 }, AK_NAME, Buffer.alloc(33), Buffer.alloc(32)), /at most 32/);
  });
});
