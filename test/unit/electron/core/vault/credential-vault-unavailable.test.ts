// The "no OS keychain" path, each case in a fresh child process (libsecret keeps its first bus
// connection), with HOME and the working directory in an empty temp dir to prove nothing is written.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../../../../..');
const CHILD = join(ROOT, 'test/support/vault-child.ts');

async function tryToStoreWithout(envPatch: Record<string, string | undefined>) {
  const home = await mkdtemp(join(tmpdir(), 'bg-nokeychain-'));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, HOME: home, XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config'), XDG_RUNTIME_DIR: home, ...envPatch })) {
    if (v !== undefined) env[k] = v;
  }
  // resolve tsx from the project even though cwd is the empty temp dir
  const { stdout } = await run(process.execPath, ['--import', join(ROOT, 'node_modules/tsx/dist/esm/index.mjs'), CHILD, 'set-token', 'http://127.0.0.1:7410', 'bob', 'bgt_must_not_be_written'], { cwd: home, env });
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as { ok: boolean; code?: string; message?: string };
  return { result, home };
}

describe('credential vault with no OS keychain', () => {
  const homes: string[] = [];
  after(() => Promise.all(homes.map((h) => rm(h, { recursive: true, force: true }))));

  for (const [name, patch] of [
    ['bus address pointing to nothing', { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/breakglass-test-bus', DISPLAY: undefined }],
    ['no session bus at all', { DBUS_SESSION_BUS_ADDRESS: undefined, DISPLAY: undefined }],
  ] as const) {
    test(`${name}: clear 'unavailable' error and no file written`, async () => {
      const { result, home } = await tryToStoreWithout(patch);
      homes.push(home);
      assert.equal(result.ok, false, JSON.stringify(result));
      assert.equal(result.code, 'unavailable');
      assert.match(result.message ?? '', /no OS keychain available: secrets will not be stored in plain files/);
      assert.deepEqual(await readdir(home, { recursive: true }), [], 'nothing may be written');
    });
  }
});
