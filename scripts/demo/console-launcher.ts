import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BROWSER_HOST_DEFAULT_PORT } from '../../shared/ipc/contract';
import { startConsoleBrowserHost, type RunningConsoleBrowserHost } from '../../electron/browser-host/start';
import type { SoftwareKeyFile } from '../../electron/core/session/session-service';
import { demoKeyPath } from './demo-seed';
import { ensureDemoKeychain, type DemoKeychain } from './demo-keychain';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** An Electron that dies this soon after launch did not really start (missing libraries, no display). */
const ELECTRON_STARTUP_GRACE_MS = 5_000;

interface LaunchInput {
  url: string;
  credentials: { tokens: Record<string, string>; keys: Record<string, string> };
  dataDir: string;
}

interface Running {
  name: string;
  stop(): Promise<void>;
}

const say = (line: string) => process.stdout.write(`${line}\n`);

/** Run an npm script in the repo; resolves with its exit code (output kept for the error message). */
function runNpm(script: string, children: Set<ChildProcess>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', '--silent', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let output = '';
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', (error) => resolve({ code: 1, output: `${output}${error.message}` }));
    child.on('exit', (code) => {
      children.delete(child);
      resolve({ code: code ?? 1, output });
    });
  });
}

/** The Electron binary's path, or why there is none (`require('electron')` throws when it was never downloaded). */
function electronBinary(): { path: string } | { missing: string } {
  try {
    const path = createRequire(import.meta.url)('electron') as unknown;
    if (typeof path !== 'string' || !existsSync(path)) return { missing: `the Electron binary is not installed (${String(path)})` };
    return { path };
  } catch (error) {
    return { missing: (error as Error).message.split('\n')[0] ?? 'require("electron") failed' };
  }
}

/** Electron's installer may take this long to download its binary on first use. */
const ELECTRON_INSTALL_TIMEOUT_MS = 180_000;

/**
 * Fetch the Electron binary on first use by running Electron's own installer (the package's
 * postinstall, node_modules/electron/install.js). `npm install` does not run it on purpose
 * (package.json allowScripts.electron is false): installs stay offline-capable and fast for the
 * CLI, the store and CI, which never need a 100 MB desktop runtime; the console fetches it the
 * first time someone starts it.
 */
function installElectron(children: Set<ChildProcess>): Promise<{ ok: true } | { failed: string }> {
  let installer: string;
  try {
    installer = createRequire(import.meta.url).resolve('electron/install.js');
  } catch (error) {
    return Promise.resolve({ failed: `the electron package is not installed (${(error as Error).message.split('\n')[0]}); run npm install` });
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [installer], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let output = '';
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), ELECTRON_INSTALL_TIMEOUT_MS);
    child.on('error', (error) => resolve({ failed: error.message }));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      if (code === 0) return resolve({ ok: true });
      const last = output.trim().split('\n').filter((l) => l.trim()).slice(-3).join(' ').slice(0, 400);
      resolve({ failed: signal ? `the download did not finish within ${ELECTRON_INSTALL_TIMEOUT_MS / 1000} s` : last || `the installer exited with code ${code}` });
    });
  });
}

/** A hint that helps for why Electron is not available (never "delete node_modules and reinstall"). */
export function electronHint(why: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY) return 'this machine has no graphical session ($DISPLAY and $WAYLAND_DISPLAY are unset): the desktop console needs one; the browser console below works the same';
  if (/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET|getaddrinfo|network|did not finish/i.test(why)) {
    return 'the Electron download host cannot be reached from here: set ELECTRON_MIRROR to a mirror you can reach (or HTTPS_PROXY), or run `node node_modules/electron/install.js` once you are online, then `npm start` again';
  }
  if (/libnss3|libgtk|libasound|shared libraries/i.test(why)) return 'Electron is missing system libraries: install them (Debian/Ubuntu: apt-get install libnss3 libgtk-3-0 libasound2) and run `npm start` again';
  return 'run `node node_modules/electron/install.js` to see the installer\'s own error, then `npm start` again';
}

/** Spawn Electron on the built main; resolves with the child once it has stayed up, or with the reason it could not. */
function spawnElectron(binary: string, storeUrl: string, keyFiles: SoftwareKeyFile[], children: Set<ChildProcess>): Promise<{ child: ChildProcess } | { failed: string }> {
  return new Promise((resolve) => {
    const child = spawn(binary, [ROOT], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, BREAKGLASS_STORE: storeUrl, BREAKGLASS_SOFTWARE_KEY_FILES: JSON.stringify(keyFiles) } });
    children.add(child);
    const timer = setTimeout(() => resolve({ child }), ELECTRON_STARTUP_GRACE_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ failed: `spawning Electron failed: ${error.message}` });
    });
    child.once('exit', (code, signal) => {
      children.delete(child);
      clearTimeout(timer);
      resolve({ failed: `Electron exited right away (${signal ?? `code ${code}`})` });
    });
  });
}

/**
 * `npm start`, after the demo store: build what is missing, launch the Electron console, and where
 * Electron cannot start (no binary, no display...) say so and serve the same console to a browser
 * through the browser host instead, printing its URL with the one-time token. Works in the
 * background so Ctrl-C always reaches the demo's handler.
 */
export async function launchConsole(input: LaunchInput): Promise<Running> {
  const children = new Set<ChildProcess>();
  let host: RunningConsoleBrowserHost | undefined;
  let keychain: DemoKeychain | undefined;
  let stopped = false;
  // The demo approvers' key files (seeded and enrolled by the demo): the console offers them as a
  // software-file signer only where no OS keychain is usable.
  const keyFiles: SoftwareKeyFile[] = Object.keys(input.credentials.keys).map((principal) => ({ principal, path: demoKeyPath(input.dataDir, principal) }));

  const work = (async () => {
    // Nothing synchronous here: the demo installs its Ctrl-C handler right after launchers return.
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (stopped) return;
    keychain = await ensureDemoKeychain(input.dataDir, ROOT, say);
    if (stopped) return;
    if (keychain.mode === 'none') {
      say(`Console: no OS keychain here: ${keychain.why}.`);
      say(`Console: the setup screen offers the demo's approver key files (${keyFiles.map((f) => f.principal).join(', ')}) as a SOFTWARE-FILE SIGNER: not protected by the OS keychain, demo only; the token stays in memory until the console stops, and tiers that require a hardware key refuse it.`);
    }
    if (!existsSync(join(ROOT, 'renderer', 'dist', 'index.html'))) {
      say('Console: building the UI (npm run build:renderer)…');
      const built = await runNpm('build:renderer', children);
      if (stopped) return;
      if (built.code !== 0) say(`Console: the UI build failed (exit ${built.code}); the console will say so.\n${built.output.split('\n').slice(-15).join('\n')}`);
    }
    let electron = electronBinary();
    const headless = process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
    if ('missing' in electron && !headless) {
      say('Console: fetching the Electron binary (first run; Electron\'s own installer)…');
      const installed = await installElectron(children);
      if (stopped) return;
      electron = 'ok' in installed ? electronBinary() : { missing: `the Electron binary could not be fetched: ${installed.failed}` };
    }
    let why: string;
    if (headless) why = 'no graphical session';
    else if ('path' in electron) {
      const bundled = await runNpm('build:electron', children);
      if (stopped) return;
      if (bundled.code === 0) {
        const launched = await spawnElectron(electron.path, input.url, keyFiles, children);
        if (stopped) return;
        if ('child' in launched) {
          say('Console: the Breakglass desktop console is running (tray icon). Set it up with the store URL above and a token, e.g. bob\'s.');
          return;
        }
        why = launched.failed;
      } else why = `bundling the main process failed: ${bundled.output.split('\n').slice(-5).join(' ')}`;
    } else why = electron.missing;
    say(`Console: Electron cannot start here (${why}): ${electronHint(why)}.`);
    say('Console: serving the same console to your browser instead (browser host on 127.0.0.1).');
    const wanted = Number(process.env.BREAKGLASS_CONSOLE_PORT ?? BROWSER_HOST_DEFAULT_PORT);
    const options = { dataDir: join(input.dataDir, 'console'), storeUrl: input.url, softwareKeyFiles: keyFiles, onNotification: (n: { title: string; body: string }) => say(`[notification] ${n.title}: ${n.body}`) };
    try {
      host = await startConsoleBrowserHost({ ...options, port: wanted });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      say(`Console: port ${wanted} is in use; using a random port.`);
      host = await startConsoleBrowserHost({ ...options, port: 0 });
    }
    if (stopped) return void (await host.close());
    say('');
    say(`  Open the console:  ${host.openUrl}`);
    say(`  First run: store URL ${input.url}, token of an approver (bob: ${input.credentials.tokens.bob ?? '?'}).`);
    say('  (the #token part of the link is the browser\'s one-time key to this console: keep it private)');
    say('');
  })().catch((error: unknown) => say(`Console: could not start (${error instanceof Error ? error.message : String(error)}); the grant store keeps running.`));

  return {
    name: 'console',
    async stop() {
      stopped = true;
      for (const child of children) child.kill('SIGTERM');
      await work;
      await host?.close();
      if (keychain?.mode === 'private') await keychain.stop();
    },
  };
}
