import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
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

  test('the package bin (bin/breakglass.cjs) runs the build: no TypeScript source, no tsx loader at run time', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { bin: { breakglass: string } };
    assert.equal(join(ROOT, pkg.bin.breakglass), BIN);
    for (const args of [['--version'], ['check', '--gate', 'g', '--subject', 'repo=a']]) {
      const run = await runTracingModules(args, { BREAKGLASS_STORE: 'http://127.0.0.1:9', BREAKGLASS_TOKEN: 't' });
      assert.equal(run.code, args[0] === 'check' ? 1 : 0, run.stdout);
      assert.ok(run.loaded.some((u) => u.endsWith('/bin/breakglass.cjs')), run.loaded.join('\n'));
      assert.ok(run.loaded.some((u) => u.endsWith(args[0] === 'check' ? '/dist/cli/fast-check.cjs' : '/dist/cli/main.mjs')), run.loaded.join('\n'));
      assert.deepEqual(
        run.loaded.filter((u) => /\.[cm]?ts$/.test(u) || u.includes('/node_modules/tsx/')),
        [],
      );
    }
    const built = await readdir(DIST);
    for (const name of built.filter((n) => /\.[cm]js$/.test(n))) {
      const text = await readFile(join(DIST, name), 'utf8');
      assert.doesNotMatch(text, /from\s*"[^"]+\.ts"|(import|require)\("[^"]+\.ts"\)/, `${name} imports TypeScript`);
    }
  });

  test('the module tracer sees what CommonJS requires as well as what ES modules import (else the tests above could not fail)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bg-trace-'));
    temp.push(dir);
    // A CommonJS script that requires node:http, zod from node_modules, and a TypeScript file through tsx.
    await writeFile(join(dir, 'probe.ts'), 'export const probe: number = 1;\n');
    const script = join(dir, 'probe.cjs');
    await writeFile(
      script,
      `const fromRepo = require('node:module').createRequire(${JSON.stringify(join(ROOT, 'package.json'))});\n` +
        "require('node:http');\nfromRepo('zod');\nfromRepo('tsx/cjs/api').register();\nrequire('./probe.ts');\n",
    );
    const run = await runTracingModules([], {}, script);
    assert.equal(run.code, 0, run.stdout);
    assert.ok(run.loaded.some((u) => u.endsWith('/probe.cjs')), run.loaded.join('\n'));
    assert.ok(run.loaded.some((u) => u.includes('/node_modules/zod/')), run.loaded.join('\n'));
    assert.ok(run.loaded.some((u) => u.includes('/node_modules/tsx/')), run.loaded.join('\n'));
    assert.ok(run.loaded.some((u) => u.endsWith('/probe.ts')), run.loaded.join('\n'));
    assert.ok(run.loaded.includes('node:http'), run.loaded.join('\n'));
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

  test('ledger verify --incremental calls its routes without loading the contract table or the domain schemas', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bg-verify-trace-'));
    temp.push(dir);
    // Nothing listens on port 9: the run stops at its first call, after loading what it needs to make it.
    const run = await runTracingModules(['ledger', 'verify', '--incremental', '--json'], { BREAKGLASS_STORE: 'http://127.0.0.1:9', BREAKGLASS_TOKEN: 't', XDG_CONFIG_HOME: dir, XDG_STATE_HOME: dir });
    assert.equal(run.code, 1, run.stdout);
    const modules = builtModules(run.loaded);
    assert.ok(modules.includes('ledger'), modules.join(', '));
    for (const url of run.loaded.filter((u) => u.includes('/dist/cli/'))) {
      const text = await readFile(new URL(url), 'utf8');
      assert.doesNotMatch(text, /\/v1\/reports\//, `${url} holds the contract table`);
      assert.doesNotMatch(text, /AdmissionReview/, `${url} holds the admission schemas (shared/http/responses.ts)`);
    }
  });

  test('without a build, the command says what to do (exit 2) instead of a stack trace', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bg-nobuild-'));
    temp.push(dir);
    await mkdir(join(dir, 'bin'));
    await copyFile(BIN, join(dir, 'bin', 'breakglass.cjs'));
    // --version runs the full CLI; check tries the fast path first.
    for (const [args, file] of [
      [['--version'], 'main.mjs'],
      [['check', '--gate', 'g', '--subject', 'repo=a', '--token', 't'], 'fast-check.cjs'],
    ] as const) {
      const result = spawnSync(process.execPath, [join(dir, 'bin', 'breakglass.cjs'), ...args], { encoding: 'utf8' });
      assert.equal(result.status, 2, result.stderr);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, new RegExp(`the breakglass CLI is not built \\(dist/cli/${file.replace('.', '\\.')} is missing\\)`));
      assert.match(result.stderr, /run `npm install` \(it builds the CLI\) or `npm run build:cli`/);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    }
  });
});
