import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CredentialVault, normalizeStoreUrl, vaultAccount } from '../../../../../electron/core/vault/credential-vault';
import { AppError } from '../../../../../shared/errors';
import { generateSoftwareKeyPair } from '../../../../../shared/node/signing/software-signer';
import { startTestKeyring, type TestKeyring } from '../../../../support/keyring';

const run = promisify(execFile);
const STORE = 'https://grants.example.com:8443/';
const CHILD = join(import.meta.dirname, '../../../../support/vault-child.ts');

async function child(keyring: TestKeyring, ...args: string[]): Promise<{ ok: boolean; value?: unknown; code?: string; message?: string }> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', CHILD, ...args], { env: { ...process.env, ...keyring.env } });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

describe('credential vault over a real gnome-keyring', () => {
  let keyring: TestKeyring;
  let vault: CredentialVault;

  before(async () => {
    keyring = await startTestKeyring();
    // libsecret reads the bus address at its first connection: set it before opening.
    Object.assign(process.env, keyring.env);
    vault = await CredentialVault.open();
  });
  after(() => keyring?.stop());

  test('stores, reads and deletes the API token per (store, principal)', async () => {
    assert.equal(await vault.getToken(STORE, 'bob'), null);
    await vault.setToken(STORE, 'bob', 'bgt_bob_secret_1');
    await vault.setToken(STORE, 'carol', 'bgt_carol_secret');
    await vault.setToken('http://127.0.0.1:7410', 'bob', 'bgt_local_bob');
    assert.equal(await vault.getToken(STORE, 'bob'), 'bgt_bob_secret_1');
    assert.equal(await vault.getToken(STORE, 'carol'), 'bgt_carol_secret');
    assert.equal(await vault.getToken('http://127.0.0.1:7410/', 'bob'), 'bgt_local_bob');
    // the same store typed differently is the same entry
    assert.equal(await vault.getToken('HTTPS://Grants.Example.com:8443', 'bob'), 'bgt_bob_secret_1');
    await vault.setToken(STORE, 'bob', 'bgt_bob_secret_2');
    assert.equal(await vault.getToken(STORE, 'bob'), 'bgt_bob_secret_2');
    assert.equal(await vault.deleteToken(STORE, 'bob'), true);
    assert.equal(await vault.getToken(STORE, 'bob'), null);
    assert.equal(await vault.getToken(STORE, 'carol'), 'bgt_carol_secret');
    assert.equal(await vault.deleteToken(STORE, 'bob'), false);
  });

  test('the signing key is a separate entry from the token', async () => {
    const { privateKeyPem } = generateSoftwareKeyPair();
    await vault.setToken(STORE, 'dave', 'bgt_dave');
    await vault.setSigningKey(STORE, 'dave', privateKeyPem);
    assert.equal(await vault.getSigningKey(STORE, 'dave'), privateKeyPem);
    assert.equal(await vault.getToken(STORE, 'dave'), 'bgt_dave');
    await vault.deleteSigningKey(STORE, 'dave');
    assert.equal(await vault.getSigningKey(STORE, 'dave'), null);
    assert.equal(await vault.getToken(STORE, 'dave'), 'bgt_dave');
  });

  test('secrets live in the keychain service, visible to another process, never in clear on disk', async () => {
    const secret = 'bgt_cross_process_' + Date.now();
    const set = await child(keyring, 'set-token', STORE, 'erin', secret);
    assert.deepEqual(set, { ok: true, value: null });
    assert.equal(await vault.getToken(STORE, 'erin'), secret);
    const got = await child(keyring, 'get-token', STORE.replace(/\/$/, ''), 'erin');
    assert.equal(got.value, secret);
    // gnome-keyring's own files are encrypted with the keyring password: the token is not in them.
    const files = await filesUnder(keyring.dir);
    assert.ok(files.some((f) => f.endsWith('.keyring')), `expected gnome-keyring files, got ${files.join(', ')}`);
    for (const file of files) {
      if ((await stat(file)).size > 10_000_000) continue;
      assert.equal((await readFile(file)).includes(secret), false, `${file} contains the token in clear`);
    }
  });

  test('bad names are refused before touching the keychain', async () => {
    await assert.rejects(vault.setToken('ftp://x', 'bob', 't'), (e: unknown) => e instanceof AppError && e.code === 'invalid_input');
    await assert.rejects(vault.setToken('not a url', 'bob', 't'), (e: unknown) => e instanceof AppError && e.code === 'invalid_input');
    await assert.rejects(vault.setToken('https://u:p@x', 'bob', 't'), (e: unknown) => e instanceof AppError && /credentials/.test(e.message));
    await assert.rejects(vault.setToken(STORE, 'bob|admin', 't'), (e: unknown) => e instanceof AppError && e.code === 'invalid_input');
    await assert.rejects(vault.setToken(STORE, 'bob', ''), (e: unknown) => e instanceof AppError && /empty/.test(e.message));
  });
});

describe('vault account names', () => {
  test('are `${storeUrl}|${principal}|kind` with a normalized URL', () => {
    assert.equal(vaultAccount('http://127.0.0.1:7410/', 'bob', 'token'), 'http://127.0.0.1:7410|bob|token');
    assert.equal(vaultAccount('HTTPS://Store.Example:443/base/', 'bob', 'signing-key'), 'https://store.example/base|bob|signing-key');
    assert.equal(normalizeStoreUrl('http://h:80'), 'http://h');
  });
});

describe('without a keychain', () => {
  test('a keychain call that never answers is reported as unavailable', async () => {
    const hung = { getPassword: () => new Promise<never>(() => {}), setPassword: async () => {}, deletePassword: async () => true };
    await assert.rejects(CredentialVault.open({ backend: hung, timeoutMs: 100 }), (e: unknown) => {
      assert.ok(e instanceof AppError);
      assert.equal(e.code, 'unavailable');
      assert.match(e.message, /did not answer within 100 ms/);
      return true;
    });
  });
});
