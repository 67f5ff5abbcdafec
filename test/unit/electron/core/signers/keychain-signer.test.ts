import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createKeychainSigner, ensureKeychainSigner, loadKeychainSigner, type KeychainSignerTarget } from '../../../../../electron/core/signers/keychain-signer';
import { CredentialVault } from '../../../../../electron/core/vault/credential-vault';
import { AppError } from '../../../../../shared/errors';
import { fileKeySigner } from '../../../../../shared/node/signing/software-signer';
import { signDecision } from '../../../../../shared/node/signing/sign-decision';
import { verifyDecisionBundle } from '../../../../../shared/node/signing/verify-decision';
import { statementFixture } from '../../../../support/decision-fixtures';
import { startTestKeyring, type TestKeyring } from '../../../../support/keyring';

describe('keychain signer over a real gnome-keyring', () => {
  let keyring: TestKeyring;
  let target: KeychainSignerTarget;

  before(async () => {
    keyring = await startTestKeyring();
    Object.assign(process.env, keyring.env);
    target = { vault: await CredentialVault.open(), storeUrl: 'http://127.0.0.1:7410', principal: 'bob' };
  });
  after(() => keyring?.stop());

  test('first use generates a P-256 key into the keychain; later uses load the same key', async () => {
    assert.equal(await loadKeychainSigner(target), null);
    const first = await ensureKeychainSigner(target);
    assert.equal(first.created, true);
    assert.equal(first.signer.hardwareBacked, false);
    const pem = await target.vault.getSigningKey(target.storeUrl, target.principal);
    assert.ok(pem, 'the private key is in the keychain');
    assert.equal(fileKeySigner(pem).keyId, first.signer.keyId);
    const again = await ensureKeychainSigner(target);
    assert.equal(again.created, false);
    assert.equal(again.signer.keyId, first.signer.keyId);
    assert.equal(again.signer.publicKeyPem, first.signer.publicKeyPem);
    // another principal gets another key
    const carol = await ensureKeychainSigner({ ...target, principal: 'carol' });
    assert.notEqual(carol.signer.keyId, first.signer.keyId);
  });

  test('signs decisions that verify against its public key', async () => {
    const { signer } = await ensureKeychainSigner(target);
    const statement = statementFixture({ approver: 'bob' });
    const bundle = await signDecision(statement, signer);
    const verified = await verifyDecisionBundle(bundle, (id) => (id === signer.keyId ? { publicKeyPem: signer.publicKeyPem } : undefined));
    assert.deepEqual(verified.statement, statement);
  });

  test('refuses to sign once the key is gone from the keychain or replaced', async () => {
    const { signer } = await ensureKeychainSigner({ ...target, principal: 'dave' });
    await createKeychainSigner({ ...target, principal: 'dave' });
    await assert.rejects(signer.sign(Buffer.from('x')), (e: unknown) => e instanceof AppError && e.code === 'conflict' && /different signing key/.test(e.message));
    await target.vault.deleteSigningKey(target.storeUrl, 'dave');
    await assert.rejects(signer.sign(Buffer.from('x')), (e: unknown) => e instanceof AppError && e.code === 'not_found' && /no longer in the keychain/.test(e.message));
  });

  test('a corrupt keychain entry is reported, not used', async () => {
    await target.vault.setSigningKey(target.storeUrl, 'erin', 'not a key');
    await assert.rejects(loadKeychainSigner({ ...target, principal: 'erin' }), (e: unknown) => e instanceof AppError && /unreadable/.test(e.message));
  });
});
