// `npm test`: every suite. Node suites (unit, integration) then the Playwright end-to-end
// suite. Tests that need the OS keychain start their own private D-Bus bus and unlocked
// gnome-keyring (test/support/keyring.ts). Ends with one "N passed, N failed" line.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function run(cmd, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      out += chunk.toString();
    });
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

function count(out, re) {
  let n = 0;
  for (const m of out.matchAll(re)) n += Number(m[1]);
  return n;
}

// The machine's part first: installs the Debian packages the suites need when it can (root + apt),
// otherwise names the exact command and stops here instead of failing deep inside a suite.
const prerequisites = spawnSync('bash', [join(root, 'scripts', 'test-prerequisites.sh')], { cwd: root, stdio: 'inherit' });
if (prerequisites.status !== 0) process.exit(prerequisites.status ?? 1);

const stages = [
  ['node', ['test/run-node-tests.mjs', 'all']],
  ['npx', ['playwright', 'test', '-c', 'test/e2e/playwright.config.ts']],
];
let passed = 0;
let failed = 0;
let exit = 0;
for (const [cmd, args] of stages) {
  if (args.includes('playwright') && process.env.BREAKGLASS_SKIP_E2E === '1') continue;
  const { code, out } = await run(cmd, args);
  // node:test's spec reporter ends with "ℹ pass N" / "ℹ fail N"; Playwright with "N passed" / "N failed".
  passed += count(out, /^ℹ pass (\d+)$/gm) + count(out, /^\s+(\d+) passed/gm);
  failed += count(out, /^ℹ fail (\d+)$/gm) + count(out, /^\s+(\d+) failed/gm);
  if (code !== 0) exit = code;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(exit !== 0 || failed > 0 ? 1 : 0);
