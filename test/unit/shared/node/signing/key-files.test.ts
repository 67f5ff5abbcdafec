import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../../../../shared/errors';
import { keyIdFromPublicKeyPem } from '../../../../../shared/node/signing/key-id';
import { loadFileKeySigner, readPrivateKeyFile, writeKeyPairFiles } from '../../../../../shared/node/signing/key-files';

const appError = (code: string, pattern: RegExp) => (e: unknown) => e instanceof AppError && e.code === code && pattern.test(e.message);

describe('key files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bg-keyfiles-'));
  after(() => rm(dir, { recursive: true, force: true }));

  test('writes a pair into a directory with 0600 / 0644 and reads it back', async () => {
    const keys = join(dir, 'keys');
    const written = await writeKeyPairFiles(`${keys}/`);
    assert.equal(written.privateKeyPath, join(keys, 'breakglass-signing-key.pem'));
    assert.equal(written.publicKeyPath, join(keys, 'breakglass-signing-key.pub.pem'));
    assert.equal((await stat(written.privateKeyPath)).mode & 0o777, 0o600);
    assert.equal((await stat(written.publicKeyPath)).mode & 0o777, 0o644);
    assert.equal(await readFile(written.publicKeyPath, 'utf8'), written.publicKeyPem);
    assert.equal(written.keyId, keyIdFromPublicKeyPem(written.publicKeyPem));
    const signer = await loadFileKeySigner(written.privateKeyPath);
    assert.equal(signer.keyId, written.keyId);
    // existing directory without trailing slash
    await assert.rejects(writeKeyPairFiles(keys), appError('conflict', /already exists/));
  });

  test('a file path puts the public key next to it and never overwrites', async () => {
    const path = join(dir, 'alice.pem');
    const written = await writeKeyPairFiles(path);
    assert.equal(written.privateKeyPath, path);
    assert.equal(written.publicKeyPath, join(dir, 'alice.pub.pem'));
    const before = await readFile(path, 'utf8');
    await assert.rejects(writeKeyPairFiles(path), appError('conflict', /refusing to overwrite/));
    assert.equal(await readFile(path, 'utf8'), before);
    const bare = await writeKeyPairFiles(join(dir, 'bob'));
    assert.equal(bare.publicKeyPath, join(dir, 'bob.pub.pem'));
  });

  test('a missing parent directory for a file path is a clear error and writes nothing', async () => {
    await assert.rejects(writeKeyPairFiles(join(dir, 'nope', 'k.pem')), appError('invalid_input', /does not exist/));
  });

  test('readPrivateKeyFile errors: missing, directory, not PEM, public key, wrong curve', async () => {
    await assert.rejects(readPrivateKeyFile(join(dir, 'missing.pem')), appError('invalid_input', /not found.*missing\.pem/));
    await assert.rejects(readPrivateKeyFile(dir), appError('invalid_input', /is a directory/));
    const junk = join(dir, 'junk.pem');
    await writeFile(junk, 'hello');
    await assert.rejects(readPrivateKeyFile(junk), appError('invalid_input', /junk\.pem: not a PEM private key/));
    const pub = join(dir, 'pub.pem');
    await writeFile(pub, generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }));
    await assert.rejects(readPrivateKeyFile(pub), appError('invalid_input', /not a PEM private key/));
    const p384 = join(dir, 'p384.pem');
    await writeFile(p384, generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await assert.rejects(readPrivateKeyFile(p384), appError('invalid_input', /wrong curve secp384r1/));
    const sec1 = join(dir, 'sec1.pem');
    await writeFile(sec1, generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'sec1', format: 'pem' }));
    assert.match(await readPrivateKeyFile(sec1), /BEGIN EC PRIVATE KEY/);
  });
});
