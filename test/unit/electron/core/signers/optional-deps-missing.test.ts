// keytar and pkcs11js are optional dependencies: without them the console must say what is
// missing instead of crashing or falling back to plain files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../../../../..');

test('without keytar and pkcs11js installed: clear unavailable errors, nothing written', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'bg-nodeps-'));
  t.after(() => rm(home, { recursive: true, force: true }));
  const { stdout } = await run(
    process.execPath,
    ['--import', join(ROOT, 'node_modules/tsx/dist/esm/index.mjs'), '--import', join(ROOT, 'test/support/hide-modules.mjs'), join(ROOT, 'test/support/optional-deps-child.ts')],
    { cwd: home, env: { ...process.env, HOME: home, BREAKGLASS_HIDE_MODULES: 'keytar,pkcs11js' } },
  );
  const results = JSON.parse(stdout.trim().split('\n').pop()!);
  assert.equal(results.vault.code, 'unavailable');
  assert.match(results.vault.message, /no OS keychain available: secrets will not be stored in plain files.*keytar module could not be loaded/);
  assert.equal(results.pkcs11.code, 'unavailable');
  assert.match(results.pkcs11.message, /hardware-key signing is not available: the optional pkcs11js module could not be loaded/);
  assert.deepEqual(await readdir(home, { recursive: true }), []);
});
