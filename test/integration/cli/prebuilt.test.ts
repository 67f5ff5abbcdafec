import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BIN, builtModules, ROOT, runTracingModules } from './cli-harness';

const DIST = join(ROOT, 'dist', 'cli');

describe('the prebuilt CLI (dist/cli, built by npm install / npm run build:cli)', () => {
  const temp: string[] = [];
  after(async () => {
    for (const dir of temp) await rm(dir, { recursive: true, force: true });
  });

  test('bin/breakglass.mjs runs the build: no TypeScript source, no tsx loader at run time', async () => {
    const run = await runTracingModules(['--version']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^\d+\.\d+\.\d+\n$/);
    assert.ok(run.loaded.some((u) => u.endsWith('/dist/cli/main.mjs')), run.loaded.join('\n'));
    assert.deepEqual(
      run.loaded.filter((u) => u.endsWith('.ts') || u.includes('/node_modules/tsx/')),
      [],
    );
    const built = await readdir(DIST);
    for (const name of built.filter((n) => n.endsWith('.mjs'))) {
      const text = await readFile(join(DIST, name), 'utf8');
      assert.doesNotMatch(text, /from\s*"[^"]+\.ts"|import\("[^"]+\.ts"\)/, `${name} imports TypeScript`);
    }
  });

  test('--version loads no verb and not zod; check loads its own verb and none of the others', async () => {
    const version = await runTracingModules(['--version']);
    const versionModules = builtModules(version.loaded);
    assert.ok(versionModules.every((m) => m === 'main' || m === 'chunk'), versionModules.join(', '));
    for (const url of version.loaded.filter((u) => u.includes('/dist/cli/'))) {
      assert.doesNotMatch(await readFile(new URL(url), 'utf8'), /ZodError|\$ZodType/, `${url} is zod`);
    }
    assert.ok(!version.loaded.some((u) => u.includes('/node_modules/')), 'no package from node_modules');

    // No store needed: without a token, check stops at its usage error after loading its verb.
    const check = await runTracingModules(['check', '--gate', 'g', '--subject', 'repo=a']);
    assert.equal(check.code, 2);
    const checkModules = builtModules(check.loaded);
    assert.ok(checkModules.includes('check'), checkModules.join(', '));
    for (const other of ['serve', 'server', 'decide', 'ledger', 'admin', 'request', 'report', 'review', 'status']) assert.ok(!checkModules.includes(other), `check loaded ${other}`);
    assert.ok(!check.loaded.some((u) => /node_modules\/(fastify|better-sqlite3|pg|pino|@sigstore)\//.test(u)), check.loaded.filter((u) => u.includes('node_modules')).join('\n'));
    // A gate's cold start: no config.yaml here, so no YAML parser; the check routes, not the whole contract table.
    assert.ok(!check.loaded.some((u) => u.includes('/node_modules/yaml/')), 'check loaded the YAML parser without a config.yaml');
    for (const url of check.loaded.filter((u) => u.includes('/dist/cli/'))) {
      assert.doesNotMatch(await readFile(new URL(url), 'utf8'), /\/v1\/reports\//, `${url} holds the contract table`);
    }
  });

  test('without a build, the command says what to do (exit 2) instead of a stack trace', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bg-nobuild-'));
    temp.push(dir);
    await mkdir(join(dir, 'bin'));
    await copyFile(BIN, join(dir, 'bin', 'breakglass.mjs'));
    const result = spawnSync(process.execPath, [join(dir, 'bin', 'breakglass.mjs'), '--version'], { encoding: 'utf8' });
    assert.equal(result.status, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /the breakglass CLI is not built \(dist\/cli\/main\.mjs is missing\)/);
    assert.match(result.stderr, /run `npm install` \(it builds the CLI\) or `npm run build:cli`/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });
});
