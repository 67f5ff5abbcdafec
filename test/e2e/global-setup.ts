import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForReadyLine } from '../support/ready-line';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const STACK_READY_TIMEOUT_MS = 90_000;
const STACK_STOP_TIMEOUT_MS = 15_000;

/** Newest modification time under a directory (skipping the build output). */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    if (name === 'dist' || name === 'node_modules') continue;
    const path = join(dir, name);
    const st = statSync(path);
    newest = Math.max(newest, st.isDirectory() ? newestMtime(path) : st.mtimeMs);
  }
  return newest;
}

/** Build the renderer when dist is missing or older than its sources (or the shared contract). */
function buildRendererIfNeeded(): void {
  const index = join(REPO, 'renderer', 'dist', 'index.html');
  const sources = Math.max(newestMtime(join(REPO, 'renderer')), newestMtime(join(REPO, 'shared')));
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  const result = spawnSync('npm', ['run', 'build:renderer'], { cwd: REPO, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('npm run build:renderer failed');
}

/** The stack runs `breakglass serve` (bin/breakglass.cjs → dist/cli): build it from the sources under test. */
function buildCli(): void {
  const result = spawnSync(process.execPath, [join(REPO, 'build', 'build-cli.mjs')], { cwd: REPO, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('build/build-cli.mjs failed');
}

/**
 * Start the real stack (test/e2e/support/stack.ts) in a child process and hand its StackInfo to
 * the tests through BG_E2E_STACK. Returns the teardown: SIGTERM, and the stack closes the host,
 * stops the store, the keyring and the bus, and deletes its temp dirs.
 */
// eslint-disable-next-line no-restricted-syntax -- Playwright loads a global setup by its default export.
export default async function globalSetup(): Promise<() => Promise<void>> {
  buildRendererIfNeeded();
  buildCli();
  mkdirSync(join(REPO, 'test-results'), { recursive: true });
  const log = createWriteStream(join(REPO, 'test-results', 'e2e-stack.log'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/e2e/support/stack.ts'], {
    cwd: REPO,
    env: { ...process.env, BG_E2E_WATCH_STDIN: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stderr!.pipe(log);
  const info = await waitForReadyLine(child, { what: 'the e2e stack', timeoutMs: STACK_READY_TIMEOUT_MS, diagnostics: () => ' (see test-results/e2e-stack.log)' });
  process.env.BG_E2E_STACK = info;

  return async () => {
    if (child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), STACK_STOP_TIMEOUT_MS);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
    log.end();
  };
}
