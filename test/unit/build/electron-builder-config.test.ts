import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('../../../', import.meta.url));
interface BuilderConfig {
  appId: string;
  asar: boolean;
  afterPack: string;
  files: string[];
  extraMetadata: { main: string };
  linux: { target: string[]; icon: string };
  mac: { target: string[]; hardenedRuntime: boolean; entitlements: string; entitlementsInherit: string; icon: string };
  win: { target: string[]; icon: string };
}
const config = require(join(root, 'build/electron-builder.config.cjs')) as BuilderConfig;
const afterPack = require(join(root, 'build/after-pack.cjs')) as ((context: unknown) => Promise<void>) & { FUSES: Record<string, unknown> };
const fuses = require('@electron/fuses') as typeof import('@electron/fuses');

test('the electron-builder config validates against electron-builder\'s own JSON schema', () => {
  const schema = JSON.parse(readFileSync(join(root, 'node_modules/app-builder-lib/scheme.json'), 'utf8'));
  const ajv = new Ajv({ strict: false, allErrors: true });
  // electron-builder's schema uses a `typeof` keyword for hook functions.
  ajv.addKeyword({ keyword: 'typeof', validate: (expected: string, data: unknown) => typeof data === expected });
  const validate = ajv.compile(schema);
  const valid = validate(config);
  assert.equal(valid, true, JSON.stringify(validate.errors, null, 2));
  // The schema must be able to fail: a typo'd key is rejected.
  assert.equal(validate({ ...config, asarr: true }), false);
});

test('targets, hardened runtime, asar, icons and hooks are what the issue asks for, and every referenced file exists', () => {
  assert.equal(config.appId, 'dev.breakglass.console');
  assert.equal(config.asar, true);
  assert.deepEqual(config.linux.target, ['AppImage', 'deb']);
  assert.deepEqual(config.mac.target, ['dmg']);
  assert.equal(config.mac.hardenedRuntime, true);
  assert.deepEqual(config.win.target, ['nsis']);
  for (const file of [config.mac.entitlements, config.mac.entitlementsInherit, config.mac.icon, config.win.icon, 'build/icons/tray/tray.png', 'build/icons/tray/tray@2x.png']) {
    assert.ok(existsSync(join(root, file)), `${file} exists`);
  }
  for (const size of [16, 32, 48, 64, 128, 256, 512]) assert.ok(existsSync(join(root, config.linux.icon, `${size}x${size}.png`)), `linux icon ${size}`);
  assert.ok(existsSync(config.afterPack), 'afterPack hook exists');
  const entitlements = readFileSync(join(root, config.mac.entitlements), 'utf8');
  assert.doesNotMatch(entitlements, /disable-library-validation|get-task-allow|allow-dyld-environment-variables/);
  assert.equal(config.extraMetadata.main, 'electron/main/main.cjs');
  assert.ok(config.files.includes('renderer/dist/**'));
});

test('the PNG icons are valid PNGs of the size their name says', () => {
  for (const size of [16, 256, 1024]) {
    const png = readFileSync(join(root, `build/icons/${size}x${size}.png`));
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(png.readUInt32BE(16), size);
    assert.equal(png.readUInt32BE(20), size);
  }
});

test('the fuse settings turn off RunAsNode, NODE_OPTIONS and --inspect and turn on asar-only loading with integrity', () => {
  const { FuseV1Options } = fuses;
  assert.equal(afterPack.FUSES[FuseV1Options.RunAsNode], false);
  assert.equal(afterPack.FUSES[FuseV1Options.EnableNodeOptionsEnvironmentVariable], false);
  assert.equal(afterPack.FUSES[FuseV1Options.EnableNodeCliInspectArguments], false);
  assert.equal(afterPack.FUSES[FuseV1Options.OnlyLoadAppFromAsar], true);
  assert.equal(afterPack.FUSES[FuseV1Options.EnableEmbeddedAsarIntegrityValidation], true);
  assert.equal(afterPack.FUSES[FuseV1Options.GrantFileProtocolExtraPrivileges], false);
});

test('the afterPack hook flips those fuses in a packaged binary (a fake one carrying a fuse wire)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bg-fuses-'));
  try {
    const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
    const ENABLE = 49;
    const WIRE_LENGTH = 8;
    // Electron's defaults: every fuse enabled except the ones off by default.
    const wire = Buffer.from([1, WIRE_LENGTH, ...Array(WIRE_LENGTH).fill(ENABLE)]);
    const binary = Buffer.concat([Buffer.from('\x7fELF fake electron binary '), Buffer.from(SENTINEL), wire, Buffer.from(' trailing bytes')]);
    const executable = join(dir, 'breakglass-console');
    await writeFile(executable, binary);
    await afterPack({ electronPlatformName: 'linux', arch: 1, appOutDir: dir, packager: { executableName: 'breakglass-console', appInfo: { productFilename: 'Breakglass' } } });
    const current = await fuses.getCurrentFuseWire(executable);
    const { FuseV1Options } = fuses;
    const DISABLE = 48;
    assert.equal(current[FuseV1Options.RunAsNode], DISABLE);
    assert.equal(current[FuseV1Options.EnableNodeOptionsEnvironmentVariable], DISABLE);
    assert.equal(current[FuseV1Options.EnableNodeCliInspectArguments], DISABLE);
    assert.equal(current[FuseV1Options.OnlyLoadAppFromAsar], ENABLE);
    assert.equal(current[FuseV1Options.EnableEmbeddedAsarIntegrityValidation], ENABLE);
    assert.equal((await readFile(executable)).length, binary.length, 'only bytes of the wire changed');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
