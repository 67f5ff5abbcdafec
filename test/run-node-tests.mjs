// Runs the node:test suites under test/<kind>/ (unit | integration | all) with the TypeScript
// loader. Node 20's --test takes no globs, so the files are listed here.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const kinds = process.argv[2] && process.argv[2] !== 'all' ? [process.argv[2]] : ['unit', 'integration'];
const filter = process.argv[3];

function walk(dir) {
  let out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(walk(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const files = kinds
  .flatMap((kind) => walk(join(root, 'test', kind)))
  .filter((f) => !filter || f.includes(filter))
  .sort()
  .map((f) => relative(root, f));
if (files.length === 0) {
  console.error(`no test files found for ${kinds.join(', ')}${filter ? ` matching ${filter}` : ''}`);
  process.exit(1);
}
// Integration suites drive the real `breakglass` (bin/breakglass.cjs runs the build in dist/cli):
// build it from the sources under test, so a stale build is never what passes.
if (files.some((f) => f.startsWith(join('test', 'integration')))) {
  const built = spawnSync(process.execPath, [join(root, 'build', 'build-cli.mjs')], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status ?? 1);
}
const concurrency = process.env.BREAKGLASS_TEST_CONCURRENCY ?? '2';
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
