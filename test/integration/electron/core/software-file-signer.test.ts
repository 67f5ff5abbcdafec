import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { composeConsole, type ConsoleCore } from '../../../../electron/core/compose-console';
import { pinCancelled } from '../../../../electron/core/pin-prompt';
import { parseSoftwareKeyFiles } from '../../../../electron/core/session/session-service';
import { keychainUnavailable } from '../../../../electron/core/vault/secret-backend';
import { writeKeyPairFiles } from '../../../../shared/node/signing/key-files';
import { startStoreFixture, type StoreFixture } from '../../../support/grant-store-fixture';
import { fileRequest } from '../../grant-store/workflow-helpers';
import { memoryKeychain } from './memory-keychain';

const code = (expected: string) => (e: Error & { code?: string }) => e.code === expected;

/**
 * The software-file signer (`npm start`'s demo keys where no OS keychain exists): offered only
 * while the keychain is unavailable, only the files the console was started with, only for the
 * principal they belong to; it signs real decisions, and a keychain console never offers it.
 */
describe('software-file signer (no OS keychain)', () => {
  let store: StoreFixture;
  let dir: string;
  let service: ConsoleCore;
  let bobFile: string;
  let carolFile: string;

  before(async () => {
    store = await startStoreFixture();
    dir = await mkdtemp(join(tmpdir(), 'bg-file-signer-'));
    await mkdir(join(dir, 'keys'), { mode: 0o700 });
    const bob = await writeKeyPairFiles(join(dir, 'keys', 'bob.pem'));
    const carol = await writeKeyPairFiles(join(dir, 'keys', 'carol.pem'));
    bobFile = bob.privateKeyPath;
    carolFile = carol.privateKeyPath;
    const enrolled = await store.call('POST', '/v1/admin/approvers/bob/keys', { token: store.adminToken, body: { publicKeyPem: bob.publicKeyPem, hardwareBacked: false } });
    assert.equal(enrolled.status, 201, enrolled.text);
    service = composeConsole({
      dataDir: join(dir, 'console'),
      logger: pino({ level: 'silent' }),
      host: 'browser',
      pinPrompt: { ask: () => Promise.reject(pinCancelled()) },
      openVault: () => Promise.reject(keychainUnavailable('no Secret Service in this test')),
      softwareKeyFiles: [
        { principal: 'bob', path: bobFile },
        { principal: 'carol', path: carolFile },
      ],
    });
    await service.start();
  });

  after(async () => {
    await service.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('the session offers the key files (with key ids) and says there is no keychain', async () => {
    const session = await service.handlers['console:main:get-session']({});
    assert.equal(session.keychain.available, false);
    assert.match(session.keychain.message ?? '', /no Secret Service in this test/);
    assert.deepEqual(
      session.softwareKeyFiles.map((f) => [f.principal, f.path]),
      [
        ['bob', bobFile],
        ['carol', carolFile],
      ],
    );
    assert.ok(session.softwareKeyFiles.every((f) => f.keyId.length > 0));
  });

  test('no silent fallback: a keychain key without a keychain, a file not offered, or another principal\'s file is refused and nothing is written', async () => {
    const token = await store.token('bob', ['approver']);
    await assert.rejects(service.handlers['console:main:setup']({ storeUrl: store.url, token, key: { kind: 'software' } }), code('unavailable'));
    await assert.rejects(service.handlers['console:main:setup']({ storeUrl: store.url, token, key: { kind: 'file', path: join(dir, 'keys', 'other.pem') } }), (e: Error & { code?: string }) => e.code === 'invalid_input' && /not one of the key files/.test(e.message));
    await assert.rejects(service.handlers['console:main:setup']({ storeUrl: store.url, token, key: { kind: 'file', path: carolFile } }), (e: Error & { code?: string }) => e.code === 'invalid_input' && /carol's, but this token is bob's/.test(e.message));
    assert.equal(existsSync(join(dir, 'console', 'console.json')), false, 'no profile written');
    assert.equal((await service.handlers['console:main:get-session']({})).configured, false);
  });

  test('bob\'s key file signs a real approval; the session names the file', async () => {
    const token = await store.token('bob', ['approver']);
    const session = await service.handlers['console:main:setup']({ storeUrl: store.url, token, key: { kind: 'file', path: bobFile } });
    assert.equal(session.configured, true);
    assert.equal(session.key?.kind, 'file');
    assert.equal(session.key?.hardwareBacked, false);
    assert.deepEqual(session.key?.file, { path: bobFile });
    assert.equal(session.key?.enrolled, true);
    const alice = await store.token('alice', ['requester']);
    const request = await fileRequest(store, alice, { gate: 'ci-tests', severity: 'sev3', scope: { repo: 'ledger-svc', branch: 'main' } });
    const approved = await service.handlers['console:main:approve']({ id: request.id, digest: request.digest, ttl: '15m', comment: 'signed with the demo key file' });
    assert.equal(approved.request.state, 'active');
  });

  test('a console with a keychain never offers the files, and refuses them at setup', async () => {
    const keychain = memoryKeychain();
    const withKeychain = composeConsole({
      dataDir: join(dir, 'console-keychain'),
      logger: pino({ level: 'silent' }),
      host: 'browser',
      pinPrompt: { ask: () => Promise.reject(pinCancelled()) },
      openVault: keychain.openVault,
      softwareKeyFiles: [{ principal: 'bob', path: bobFile }],
    });
    await withKeychain.start();
    try {
      assert.deepEqual((await withKeychain.handlers['console:main:get-session']({})).softwareKeyFiles, []);
      const token = await store.token('bob', ['approver']);
      await assert.rejects(withKeychain.handlers['console:main:setup']({ storeUrl: store.url, token, key: { kind: 'file', path: bobFile } }), (e: Error & { code?: string }) => e.code === 'invalid_input' && /keychain is available/.test(e.message));
    } finally {
      await withKeychain.stop();
    }
  });

  test('BREAKGLASS_SOFTWARE_KEY_FILES (the Electron console\'s copy of the list) is parsed strictly', () => {
    assert.deepEqual(parseSoftwareKeyFiles(undefined), []);
    assert.deepEqual(parseSoftwareKeyFiles('[{"principal":"bob","path":"/tmp/bob.pem"}]'), [{ principal: 'bob', path: '/tmp/bob.pem' }]);
    for (const bad of ['bob=/tmp/bob.pem', '[{"principal":"bob","path":"bob.pem"}]', '[{"principal":"bob"}]', '{}']) {
      assert.throws(() => parseSoftwareKeyFiles(bad), /BREAKGLASS_SOFTWARE_KEY_FILES must be JSON/, bad);
    }
  });
});
