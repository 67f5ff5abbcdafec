import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, symlink, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test, type Page } from '@playwright/test';
import { startTestKeyring, type TestKeyring } from '../support/keyring';
import { screenshot } from './support/helpers';

/**
 * A newcomer's first approval, exactly as the README says: `npm start` on a headless Linux machine
 * (no DISPLAY, so the browser-host fallback) and an approval in the console, three ways:
 * - no Secret Service answering and no gnome-keyring installed: the console offers the demo's key
 *   files as a clearly labelled software-file signer;
 * - no Secret Service answering, gnome-keyring installed: the demo starts its own on a private
 *   D-Bus session and the console keeps its token and key there;
 * - the user's own gnome-keyring running: the console uses it, the demo starts nothing.
 * Each case gets its own demo dir and ports; the demo is stopped with Ctrl-C (SIGINT) afterwards.
 */
test.describe.configure({ mode: 'serial' });

const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** First start compiles the store with tsx and seeds the demo; allow for a loaded machine. */
const DEMO_READY_TIMEOUT_MS = 120_000;
const DEMO_STOP_TIMEOUT_MS = 20_000;

interface RunningDemo {
  child: ChildProcess;
  output: () => string;
  storeUrl: string;
  consoleUrl: string;
  tokens: Record<string, string>;
}

/** The environment of a fresh headless login: no display, no session bus, none of our variables. */
function headlessEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('BREAKGLASS_') || k.startsWith('BG_') || ['DISPLAY', 'WAYLAND_DISPLAY', 'DBUS_SESSION_BUS_ADDRESS'].includes(k)) continue;
    env[k] = v;
  }
  return { ...env, BREAKGLASS_DEMO_PORT: '0', BREAKGLASS_CONSOLE_PORT: '0', ...extra };
}

/** A PATH holding only node, npm and sh: a machine where gnome-keyring and D-Bus tools are not installed. */
async function pathWithoutKeyringTools(dir: string): Promise<string> {
  const bin = join(dir, 'bin');
  await mkdir(bin);
  for (const tool of ['node', 'npm', 'sh']) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (!found) throw new Error(`${tool} is not on PATH`);
    await symlink(found, join(bin, tool));
  }
  return bin;
}

async function startDemo(env: NodeJS.ProcessEnv): Promise<RunningDemo> {
  // Its own process group, as a terminal runs a command: Ctrl-C (SIGINT) then reaches npm, the
  // shell npm runs the script in, and the demo alike, and nothing is left behind.
  const child = spawn('npm', ['start'], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start printed no console link in ${DEMO_READY_TIMEOUT_MS} ms:\n${out}`)), DEMO_READY_TIMEOUT_MS);
    const check = () => {
      if (/Open the console: +http/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${out}`));
    });
  });
  const tokens: Record<string, string> = {};
  for (const m of out.matchAll(/\n {2}(\w[\w-]*) +(bgt_\S+)/g)) tokens[m[1]!] = m[2]!;
  return {
    child,
    output: () => out,
    storeUrl: /Breakglass grant store \(demo\) on (http:\/\/\S+)/.exec(out)![1]!,
    consoleUrl: /Open the console: +(http:\/\/\S+)/.exec(out)![1]!,
    tokens,
  };
}

async function stopDemo(demo: RunningDemo | undefined): Promise<void> {
  const pid = demo?.child.pid;
  if (!demo || pid === undefined || !groupAlive(pid)) return;
  // Ctrl-C to the whole group, as a terminal sends it; whatever still runs after the timeout is killed.
  signalGroup(pid, 'SIGINT');
  const deadline = Date.now() + DEMO_STOP_TIMEOUT_MS;
  while (groupAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  if (groupAlive(pid)) signalGroup(pid, 'SIGKILL');
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error; // ESRCH: the group is already gone
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false; // no process is left in the group
  }
}

/** alice files a deploy-freeze request (tier high: one approver from another team) with the real CLI. */
function aliceRequests(demo: RunningDemo): Promise<string> {
  const args = ['bin/breakglass.cjs', 'request', '--gate', 'deploy-freeze', '--scope', 'repo=payments-api,branch=main', '--reason', 'Hotfix for INC-2001: the freeze blocks the TLS certificate rollback', '--incident', 'INC-2001', '--severity', 'sev2', '--ttl', '1h', '--json'];
  const env = { ...process.env, BREAKGLASS_STORE: demo.storeUrl, BREAKGLASS_TOKEN: demo.tokens.alice! };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: REPO, env }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`breakglass request failed: ${stderr || stdout}`));
      resolve((JSON.parse(stdout) as { request: { id: string } }).request.id);
    });
  });
}

/** An admin enrolls the public key the setup screen shows (what the README's enroll step does). */
async function enrollShownKey(page: Page, demo: RunningDemo): Promise<void> {
  const pem = ((await page.getByLabel('public key PEM').textContent()) ?? '').trim();
  const response = await fetch(`${demo.storeUrl}/v1/admin/approvers/bob/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${demo.tokens.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ publicKeyPem: pem, label: 'demo e2e keychain key' }),
  });
  expect(response.status).toBe(201);
}

/** Set up as bob with `key`, then approve alice's request from the inbox. */
async function setUpAndApprove(page: Page, demo: RunningDemo, key: 'file' | 'keychain', shot: string): Promise<void> {
  const requestId = await aliceRequests(demo);
  await page.goto(demo.consoleUrl);
  await expect(page.getByRole('heading', { name: 'Set up the Breakglass console' })).toBeVisible();
  // Pre-filled with the store the demo launched it for (a random port here, not 7410).
  await expect(page.getByLabel('Grant store URL')).toHaveValue(demo.storeUrl);
  await page.getByLabel('API token').fill(demo.tokens.bob!);
  if (key === 'file') {
    await expect(page.getByRole('note', { name: 'no OS keychain' })).toContainText('No OS keychain is available');
    // The one choice that works without a keychain is already chosen; the others say why not.
    await expect(page.getByLabel('software-file signer')).toBeChecked();
    await expect(page.getByLabel('software key', { exact: true })).toBeDisabled();
    await expect(page.getByLabel('hardware key', { exact: true })).toBeDisabled();
    await expect(page.getByLabel('Key file')).toHaveValue(/keys\/bob\.pem$/);
    await screenshot(page, `demo-${shot}-setup`);
    await page.getByRole('button', { name: 'Connect with this key file' }).click();
    await expect(page.getByLabel('software-file signer, not protected by the OS keychain')).toBeVisible();
  } else {
    await expect(page.getByRole('note', { name: 'no OS keychain' })).toHaveCount(0);
    await expect(page.getByLabel('software-file signer')).toHaveCount(0);
    await page.getByLabel('software key', { exact: true }).check();
    await page.getByRole('button', { name: 'Connect and create key' }).click();
    await enrollShownKey(page, demo);
  }
  // The demo's key file is enrolled already; a new keychain key once the admin has enrolled it.
  await expect(page.getByRole('status', { name: 'enrollment' })).toContainText('enrolled: the store accepts this key');
  await page.getByRole('button', { name: 'Open the console' }).click();
  await page.getByRole('row', { name: new RegExp(requestId) }).click();
  await page.getByRole('button', { name: 'Approve…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Confirm approval' });
  await expect(dialog.getByLabel('what you sign')).toContainText(requestId);
  await dialog.getByRole('button', { name: 'Sign and approve' }).click();
  await expect(page.getByRole('status', { name: 'decision recorded' })).toContainText('You approved · 1 of 1 · the bypass is active until');
  await screenshot(page, `demo-${shot}-approved`);
}

test.describe('npm start on a headless machine, then an approval in the console', () => {
  let dir: string;
  let demo: RunningDemo | undefined;
  let userKeyring: TestKeyring | undefined;

  test.beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bg-demo-e2e-'));
  });

  test.afterEach(async () => {
    await stopDemo(demo);
    demo = undefined;
    await userKeyring?.stop();
    userKeyring = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  test('no keychain at all: the software-file signer, labelled, signs the approval', async ({ page }) => {
    test.setTimeout(240_000);
    const bin = await pathWithoutKeyringTools(dir);
    demo = await startDemo(headlessEnv({ BREAKGLASS_DEMO_DIR: join(dir, 'demo'), PATH: bin }));
    expect(demo.output()).toContain('Console: no OS keychain here');
    expect(demo.output()).toContain('not installed');
    expect(demo.output()).toMatch(/SOFTWARE-FILE SIGNER: not protected by the OS keychain/);
    await setUpAndApprove(page, demo, 'file', 'no-keychain');
  });

  test('no Secret Service answering: the demo starts its own gnome-keyring and the console keeps its key there', async ({ page }) => {
    test.setTimeout(240_000);
    demo = await startDemo(headlessEnv({ BREAKGLASS_DEMO_DIR: join(dir, 'demo') }));
    expect(demo.output()).toContain("started the demo's own gnome-keyring on a private D-Bus session");
    await setUpAndApprove(page, demo, 'keychain', 'own-keyring');
  });

  test("the user's gnome-keyring running: the console uses it and the demo starts none", async ({ page }) => {
    test.setTimeout(240_000);
    userKeyring = await startTestKeyring();
    demo = await startDemo(headlessEnv({ BREAKGLASS_DEMO_DIR: join(dir, 'demo'), DBUS_SESSION_BUS_ADDRESS: userKeyring.address }));
    expect(demo.output()).not.toContain('gnome-keyring on a private D-Bus session');
    expect(demo.output()).not.toContain('no OS keychain here');
    await setUpAndApprove(page, demo, 'keychain', 'user-keyring');
  });
});
