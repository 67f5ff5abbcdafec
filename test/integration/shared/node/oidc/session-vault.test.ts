// Where a signed-in CLI keeps its session: the real OS keychain (gnome-keyring on a private
// D-Bus) or, without one, files of mode 0600 in the state directory.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AppError } from '../../../../../shared/errors';
import { openSessionVault, type StoredSignIn } from '../../../../../shared/node/oidc/session-vault';
import { startTestKeyring, type TestKeyring } from '../../../../support/keyring';

const STORE = 'https://grants.example.com:8443/';

function signIn(storeUrl = STORE): StoredSignIn {
  return {
    version: 1,
    storeUrl,
    session: `bgs_${'s'.repeat(43)}`,
    info: { id: 'ses_0123456789abcdef', principal: 'alice@example.com', roles: ['requester'], team: 'payments', approverGroups: [], issuer: 'https://login.example.com', createdAt: '2026-01-01T00:00:00.000Z', expiresAt: '2026-01-01T01:00:00.000Z' },
    idp: { issuer: 'https://login.example.com', clientId: 'breakglass', refreshToken: `rt-${'r'.repeat(40)}` },
  };
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bg-vault-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('file session vault (no keychain)', () => {
  test('files of mode 0600 in a 0700 directory; one per store (trailing slash ignored); removed on logout', async () => {
    const vault = await openSessionVault({ stateDir: dir, backend: null });
    assert.equal(vault.kind, 'file');
    assert.match(vault.where, /sessions \(files of mode 0600\)$/);
    await vault.save(signIn());
    const [file] = await readdir(join(dir, 'sessions'));
    assert.equal((await stat(join(dir, 'sessions', file!))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'sessions'))).mode & 0o777, 0o700);
    assert.deepEqual(await vault.load('https://grants.example.com:8443'), signIn());
    assert.equal(await vault.load('https://other.example.com'), undefined);
    assert.equal(await vault.remove(STORE), true);
    assert.equal(await vault.remove(STORE), false);
    assert.equal(await vault.load(STORE), undefined);
  });

  test('a session file others can read is refused (as ssh refuses such a key); a damaged one says what to do', async () => {
    const vault = await openSessionVault({ stateDir: dir, backend: null });
    await vault.save(signIn());
    const [file] = await readdir(join(dir, 'sessions'));
    const path = join(dir, 'sessions', file!);
    await chmod(path, 0o644);
    await assert.rejects(vault.load(STORE), (error: unknown) => error instanceof AppError && error.code === 'forbidden' && /readable by others \(mode 0644\): run chmod 600/.test(error.message));
    await writeFile(path, '{"version":1}', { mode: 0o600 });
    await chmod(path, 0o600);
    await assert.rejects(vault.load(STORE), /not in the expected shape: run breakglass logout, then breakglass login/);
    await vault.remove(STORE);
  });
});

describe('keychain session vault (real gnome-keyring)', () => {
  let keyring: TestKeyring;
  before(async () => {
    keyring = await startTestKeyring();
    // libsecret reads the bus address at its first connection: set it before keytar loads.
    Object.assign(process.env, keyring.env);
  });
  after(() => keyring.stop());

  test('the session lives in the keychain, not in a file', async () => {
    const stateDir = join(dir, 'keychain-state');
    const vault = await openSessionVault({ stateDir });
    assert.equal(vault.kind, 'keychain', vault.keychainProblem);
    assert.equal(vault.where, 'the OS keychain');
    await vault.save(signIn());
    assert.deepEqual(await vault.load(STORE), signIn());
    await assert.rejects(readdir(stateDir), /ENOENT/, 'nothing written to the state directory');
    for (const name of await readdir(keyring.dir, { recursive: true })) {
      const path = join(keyring.dir, name);
      if (!(await stat(path)).isFile()) continue;
      assert.ok(!(await readFile(path)).includes(Buffer.from(signIn().session)), `the session token is not in plain text in ${name}`);
    }
    assert.equal(await vault.remove(STORE), true);
    assert.equal(await vault.load(STORE), undefined);
  });
});
