import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { AppError } from '../../../../../shared/errors';
import { keyIdFromPublicKeyPem } from '../../../../../shared/node/signing/key-id';
import { fileKeySigner, generateSoftwareKeyPair } from '../../../../../shared/node/signing/software-signer';

const isInvalid = (pattern: RegExp) => (e: unknown) => e instanceof AppError && e.code === 'invalid_input' && pattern.test(e.message);

describe('software signer', () => {
  test('generates P-256 PEM pairs and signs DER ECDSA-SHA256', async () => {
    const { privateKeyPem, publicKeyPem } = generateSoftwareKeyPair();
    assert.match(privateKeyPem, /^-----BEGIN PRIVATE KEY-----/);
    assert.match(publicKeyPem, /^-----BEGIN PUBLIC KEY-----/);
    assert.equal(createPublicKey(publicKeyPem).asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const signer = fileKeySigner(privateKeyPem);
    assert.equal(signer.hardwareBacked, false);
    assert.equal(signer.publicKeyPem, publicKeyPem);
    assert.equal(signer.keyId, keyIdFromPublicKeyPem(publicKeyPem));
    const data = Buffer.from('hello');
    const sig = await signer.sign(data);
    assert.equal(sig[0], 0x30, 'DER SEQUENCE');
    assert.equal(verify('sha256', data, publicKeyPem, sig), true);
    assert.equal(verify('sha256', Buffer.from('hellp'), publicKeyPem, sig), false);
  });

  test('key id is the hex SHA-256 of the DER SPKI', () => {
    const { publicKeyPem } = generateSoftwareKeyPair();
    const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
    assert.equal(keyIdFromPublicKeyPem(publicKeyPem), createHash('sha256').update(der).digest('hex'));
    assert.throws(() => keyIdFromPublicKeyPem('nope'), isInvalid(/not a PEM public key/));
  });

  test('refuses non-P-256 and non-PEM private keys', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    assert.throws(() => fileKeySigner(p384), isInvalid(/wrong curve secp384r1/));
    const ed = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    assert.throws(() => fileKeySigner(ed), isInvalid(/wrong key type ed25519/));
    const { publicKeyPem } = generateSoftwareKeyPair();
    assert.throws(() => fileKeySigner(publicKeyPem), isInvalid(/not a PEM private key/));
    assert.throws(() => fileKeySigner('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'), isInvalid(/not a valid PEM private key/));
  });
});
