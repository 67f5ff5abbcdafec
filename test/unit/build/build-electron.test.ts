import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mainContract } from '../../../shared/ipc/contract';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const FAKE = fileURLToPath(new URL('./fake-electron-runtime.cjs', import.meta.url));

test('build:electron bundles main and preloads as CommonJS; the preloads require nothing but electron', async () => {
  const built = spawnSync(process.execPath, ['build/build-electron.mjs'], { cwd: root, encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  for (const name of ['preload', 'pin-preload']) {
    const code = await readFile(join(root, 'electron/main/dist', `${name}.cjs`), 'utf8');
    const requires = [...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(requires)], ['electron'], `${name} (sandboxed) requires only electron`);
    assert.doesNotMatch(code, /\bzod\b/, `${name} does not bundle the schemas`);
  }
  const main = await readFile(join(root, 'electron/main/dist/main.cjs'), 'utf8');
  for (const external of ['keytar', 'pkcs11js']) assert.match(main, new RegExp(`require\\("${external}"\\)|import\\("${external}"\\)`), `${external} stays external (native)`);
});

test('the bundled main process (package.json "main") boots under a stand-in electron: single instance, app:// scheme, every channel bound, hidden secure window', async () => {
  const userData = await mkdtemp(join(tmpdir(), 'bg-bundle-'));
  try {
    const script = `const Module = require('node:module'); const resolve = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) { return request === 'electron' ? ${JSON.stringify(FAKE)} : resolve.call(this, request, ...rest); };
      require(${JSON.stringify(join(root, 'electron/main/main.cjs'))});`;
    const run = spawnSync(process.execPath, ['-e', script], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, APP_ROOT: root, USER_DATA: userData, EXPECTED_CHANNELS: String(Object.keys(mainContract).length), DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent' },
    });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    const report = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as {
      handled: string[];
      schemes: Array<{ scheme: string; privileges: { secure: boolean; standard: boolean } }>;
      protocols: string[];
      windows: Array<{ show: boolean; url: string; webPreferences: Record<string, unknown> }>;
      singleInstance: boolean;
    };
    assert.equal(report.singleInstance, true);
    assert.deepEqual(report.schemes.map((s) => s.scheme), ['app']);
    assert.deepEqual(report.protocols, ['app']);
    for (const channel of Object.keys(mainContract)) assert.ok(report.handled.includes(channel), `${channel} bound in the bundle`);
    const window = report.windows[0]!;
    assert.equal(window.show, false);
    assert.equal(window.url, 'app://console/');
    assert.equal(window.webPreferences.sandbox, true);
    assert.equal(window.webPreferences.contextIsolation, true);
    assert.equal(window.webPreferences.nodeIntegration, false);
    assert.equal(window.webPreferences.preload, join(root, 'electron/main/dist/preload.cjs'));
  } finally {
    await rm(userData, { recursive: true, force: true });
  }
});
