// The real parts behind the console end-to-end tests, in one child process of Playwright's global
// setup: a private gnome-keyring on a private D-Bus bus, a SoftHSM2 token, a grant store run by the
// real CLI (`breakglass serve`) on a temp data dir, and the console browser host (real console core).
// Run: node --import tsx test/e2e/support/stack.ts. Prints one JSON line (StackInfo) when ready,
// then serves a small control API on 127.0.0.1 for the tests (stop/start the store, notifications).
// Exits, cleaning up everything, on SIGTERM/SIGINT or when its stdin closes (the parent died).
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestKeyring } from '../../support/keyring';
import { createSoftHsmToken } from '../../support/softhsm';
import { initDataDir } from '../../../grant-store/admin/init';
import { startConsoleBrowserHost, type RunningConsoleBrowserHost } from '../../../electron/browser-host/start';
import { E2E_LIST_PAGE, type StackInfo } from './stack-info';
import { waitForReadyLine } from '../../support/ready-line';
import { JumpClock } from './jump-clock';
import { freePort } from '../../support/free-port';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const POLICY = fileURLToPath(new URL('../fixtures/policy.yaml', import.meta.url));
const STORE_READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;
/** Principals of the story: alice and dave file, bob is the console's approver, carol approves from the CLI. */
const PRINCIPALS = { alice: ['requester'], dave: ['requester'], bob: ['approver', 'requester'], carol: ['approver'], ci: ['gate'] } as const;

/** Undo steps, registered in start-up order and run in reverse. */
const cleanups: (() => Promise<void>)[] = [];
let storeChild: ChildProcess | undefined;


async function startStore(dataDir: string, port: number, env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn(process.execPath, ['bin/breakglass.cjs', 'serve', '--data-dir', dataDir, '--port', String(port), '--json'], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  storeChild = child;
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  child.once('exit', () => {
    if (storeChild === child) storeChild = undefined;
  });
  const ready = await waitForReadyLine(child, { what: 'grant store', timeoutMs: STORE_READY_TIMEOUT_MS, diagnostics: () => `: ${err}` });
  return (JSON.parse(ready) as { url: string }).url;
}

async function stopStore(): Promise<void> {
  const child = storeChild;
  if (!child || child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
  storeChild = undefined;
}

async function main(): Promise<void> {
  // 1. A real OS keychain, private to this run; keytar (libsecret) binds to the bus on first use.
  const keyring = await startTestKeyring();
  cleanups.push(() => keyring.stop());
  Object.assign(process.env, keyring.env);

  // 2. A real PKCS#11 token; SoftHSM reads SOFTHSM2_CONF at C_Initialize.
  const token = await createSoftHsmToken({ label: 'bg-e2e' });
  cleanups.push(() => token.cleanup());
  process.env.SOFTHSM2_CONF = token.confPath;

  // 3. A real grant store (the CLI's `serve`) on a temp data dir with the e2e policy.
  const storeDir = await mkdtemp(join(tmpdir(), 'bg-e2e-store-'));
  cleanups.push(() => rm(storeDir, { recursive: true, force: true }));
  const { adminToken, policyPath } = await initDataDir(storeDir);
  await copyFile(POLICY, policyPath);
  const storePort = await freePort();
  const storeEnv = { ...process.env, BREAKGLASS_DATA_DIR: storeDir };
  cleanups.push(stopStore);
  const storeUrl = await startStore(storeDir, storePort, storeEnv);

  const tokens: Record<string, string> = {};
  for (const [principal, roles] of Object.entries(PRINCIPALS)) {
    const res = await fetch(`${storeUrl}/v1/admin/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ principal, roles }),
    });
    if (res.status !== 201) throw new Error(`token for ${principal}: HTTP ${res.status} ${await res.text()}`);
    tokens[principal] = ((await res.json()) as { token: string }).token;
  }

  // 4. The console: real core (keychain vault, PKCS#11 signer, store client, mirror) behind the browser host.
  const consoleDir = await mkdtemp(join(tmpdir(), 'bg-e2e-console-'));
  cleanups.push(() => rm(consoleDir, { recursive: true, force: true }));
  // The console's clock: real time that the tests can move forward (POST /clock/jump), never back
  // past real time. The store keeps real time: the rules the tests move time for (SLA, a bypass
  // ending soon, the follow-up tick) are the console's.
  const clock = new JumpClock();
  // Reviews and requests a few at a time, so the Reviews and Requests screens' Show more is reached with a handful.
  const hostOptions = { dataDir: consoleDir, sse: { initialBackoffMs: 200, maxBackoffMs: 1000 }, clock, reviewPageSize: E2E_LIST_PAGE, requestPageSize: E2E_LIST_PAGE };
  let host: RunningConsoleBrowserHost = await startConsoleBrowserHost({ ...hostOptions, port: 0 });
  const hostPort = Number(new URL(host.url).port);
  const originalToken = host.token;
  /** Notifications of every host instance (a restart starts a new list). */
  const earlierNotifications: RunningConsoleBrowserHost['notifications'] = [];
  cleanups.push(() => host.close());

  // 5. Control API for the tests.
  const control = createHttpServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const route = `${req.method} ${req.url}`;
    (async () => {
      if (route === 'GET /notifications') return reply(200, { notifications: [...earlierNotifications, ...host.notifications] });
      // Restart the console host on the same port: with a new token (as a real restart does), or
      // with the original one again (so the later tests' StackInfo stays true).
      if (route === 'POST /host/restart?token=new' || route === 'POST /host/restart?token=original') {
        earlierNotifications.push(...host.notifications);
        await host.close();
        host = await startConsoleBrowserHost({ ...hostOptions, port: hostPort, ...(route.endsWith('original') ? { token: originalToken } : {}) });
        return reply(200, { openUrl: host.openUrl, token: host.token });
      }
      const jump = /^POST \/clock\/jump\?ms=(\d+)$/.exec(route);
      if (jump) {
        clock.jump(Number(jump[1]));
        return reply(200, { now: clock.now().toISOString(), offsetMs: clock.offset });
      }
      if (route === 'POST /clock/reset') {
        clock.reset();
        return reply(200, { now: clock.now().toISOString(), offsetMs: 0 });
      }
      if (route === 'POST /store/stop') {
        await stopStore();
        return reply(200, { stopped: true });
      }
      if (route === 'POST /store/start') {
        if (!storeChild) await startStore(storeDir, storePort, storeEnv);
        return reply(200, { url: storeUrl });
      }
      return reply(404, { error: `no route ${route}` });
    })().catch((error: unknown) => reply(500, { error: String(error) }));
  });
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => control.close(() => resolve())));
  const controlUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;

  const info: StackInfo = {
    storeUrl,
    storeDataDir: storeDir,
    adminToken,
    tokens,
    consoleUrl: host.url,
    consoleToken: host.token,
    openUrl: host.openUrl,
    controlUrl,
    reviewPageSize: E2E_LIST_PAGE,
    requestPageSize: E2E_LIST_PAGE,
    softhsm: { modulePath: token.modulePath, tokenLabel: token.label, userPin: token.userPin },
    cliEnv: { HOME: keyring.env.HOME!, BREAKGLASS_STORE: storeUrl },
  };
  process.stdout.write(`${JSON.stringify(info)}\n`);
}

let shuttingDown = false;
async function shutdown(code: number): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  // Undo in reverse order of start-up: control API, host, store, then the dirs, token and keyring.
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => process.stderr.write(`cleanup: ${String(error)}\n`));
  process.exit(code);
}

process.on('SIGTERM', () => void shutdown(0));
process.on('SIGINT', () => void shutdown(0));
// The parent (Playwright) holds our stdin: when it goes away, so do we and everything we started.
if (process.env.BG_E2E_WATCH_STDIN === '1') {
  process.stdin.on('end', () => void shutdown(0));
  process.stdin.resume();
}
process.on('exit', () => storeChild?.kill('SIGKILL'));

main().catch(async (error: unknown) => {
  process.stderr.write(`e2e stack failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  await shutdown(1);
});
