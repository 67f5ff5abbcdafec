// A private, unlocked gnome-keyring on a private D-Bus session bus: a real OS keychain (keytar →
// libsecret → Secret Service) for a process that has none, without touching the user's own
// session. `npm start` runs one for its console on a machine with no Secret Service answering
// (a headless Linux box); the tests run one so they use a real keychain.
//
//   const keyring = await startPrivateKeyring({ password });
//   process.env.DBUS_SESSION_BUS_ADDRESS = keyring.address; // before the first keytar call
//   spawn('node', [...], { env: { ...process.env, ...keyring.env } }); // or for a child
//   ...
//   await keyring.stop();
//
// libsecret connects to the session bus once per process and keeps that connection, so set the
// address before the first keychain call.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PrivateKeyring {
  /** DBUS_SESSION_BUS_ADDRESS of the private bus. */
  address: string;
  /** Environment for processes that should use this keyring (bus address, HOME, XDG dirs). */
  env: Record<string, string>;
  /** Temp dir holding the bus socket (and, without `dataDir`, gnome-keyring's encrypted keyring files). */
  dir: string;
  stop(): Promise<void>;
}

export interface PrivateKeyringOptions {
  /** Password of the login keyring (gnome-keyring creates it with this password on first use). */
  password: string;
  /**
   * Where gnome-keyring keeps its (encrypted) keyring files, kept after stop() so the next start
   * finds the same secrets. Default: inside the temp dir, deleted by stop().
   */
  dataDir?: string;
}

const READY_TIMEOUT_MS = 10_000;
const READY_POLL_MS = 50;
const STOP_TIMEOUT_MS = 3_000;
const SECRETS_BUS_NAME = 'org.freedesktop.secrets';
/** The programs a private keyring needs (Debian: dbus-daemon, dbus-bin, gnome-keyring). */
export const PRIVATE_KEYRING_TOOLS = ['dbus-daemon', 'gnome-keyring-daemon', 'dbus-send'] as const;

/** The tools a private keyring needs that are not installed (empty when it can start). */
export function missingPrivateKeyringTools(): string[] {
  return PRIVATE_KEYRING_TOOLS.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
}

export async function startPrivateKeyring(opts: PrivateKeyringOptions): Promise<PrivateKeyring> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-keyring-'));
  const home = opts.dataDir ?? join(dir, 'home');
  if (opts.dataDir) await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  const socket = join(dir, 'bus');
  const address = `unix:path=${socket}`;
  const config = join(dir, 'session.conf');
  // A minimal session bus with no service activation: only our gnome-keyring can own
  // org.freedesktop.secrets, never one auto-started outside our control.
  await writeFile(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>${address}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`,
  );
  const env: Record<string, string> = {
    DBUS_SESSION_BUS_ADDRESS: address,
    HOME: home,
    XDG_DATA_HOME: join(home, 'data'),
    XDG_RUNTIME_DIR: dir,
    XDG_CONFIG_HOME: join(home, 'config'),
  };
  const children: ChildProcess[] = [];
  const diagnostics = { text: '' };
  const killAll = () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  // If this process dies without calling stop(), do not leave daemons behind.
  process.once('exit', killAll);

  const stop = async () => {
    process.removeListener('exit', killAll);
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => {
              child.kill('SIGKILL');
            }, STOP_TIMEOUT_MS);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const bus = spawn('dbus-daemon', [`--config-file=${config}`, '--nofork'], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(bus);
    collectStderr(bus, 'dbus-daemon', diagnostics);
    await waitFor(async () => dbusSend(address, ['/org/freedesktop/DBus', 'org.freedesktop.DBus.GetId']) !== undefined, 'the private D-Bus daemon', diagnostics);

    const keyring = spawn('gnome-keyring-daemon', ['--unlock', '--components=secrets', '--foreground'], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    children.push(keyring);
    collectStderr(keyring, 'gnome-keyring-daemon', diagnostics);
    // --unlock reads the login keyring password from stdin (creating the keyring on first use).
    keyring.stdin!.end(opts.password);
    await waitFor(
      async () => /boolean true/.test(dbusSend(address, ['/org/freedesktop/DBus', 'org.freedesktop.DBus.NameHasOwner', `string:${SECRETS_BUS_NAME}`]) ?? ''),
      'gnome-keyring-daemon to own org.freedesktop.secrets',
      diagnostics,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { address, env, dir, stop };
}

/** How long the keychain probe may take: a Secret Service that does not answer by then is none. */
export const KEYCHAIN_PROBE_TIMEOUT_MS = 8_000;

/**
 * Whether the OS keychain answers for a process with `env` (keytar loads, and a read of a probe
 * entry returns). Run in a child process: libsecret binds a process to the first session bus it
 * meets, so probing here would pin this process to a bus that may not answer. Resolves
 * `{ ok: true }`, or `{ ok: false, why }` in the keychain's own words.
 */
export function probeKeychain(env: NodeJS.ProcessEnv, cwd: string, timeoutMs = KEYCHAIN_PROBE_TIMEOUT_MS): Promise<{ ok: true } | { ok: false; why: string }> {
  const script = `
    let keytar;
    try { keytar = require('keytar'); } catch (e) { console.error('the keytar module could not be loaded: ' + String(e.message).split('\\n')[0]); process.exit(2); }
    keytar.getPassword('breakglass', 'breakglass-keychain-probe').then(() => process.exit(0), (e) => { console.error(String(e.message)); process.exit(1); });`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => resolve({ ok: false, why: error.message }));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ ok: true });
      resolve({ ok: false, why: signal ? `the keychain did not answer within ${timeoutMs} ms` : stderr.trim().split('\n')[0] || `exit ${code}` });
    });
  });
}

function dbusSend(address: string, args: string[]): string | undefined {
  const result = spawnSync('dbus-send', [`--bus=${address}`, '--print-reply', '--dest=org.freedesktop.DBus', ...args], { encoding: 'utf8', timeout: 2000 });
  return result.status === 0 ? result.stdout : undefined;
}

async function waitFor(check: () => Promise<boolean>, what: string, diagnostics: { text: string }): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, READY_POLL_MS));
  }
  throw new Error(`timed out waiting for ${what}${diagnostics.text ? `; daemon output:\n${diagnostics.text}` : ''}`);
}

/** Daemon stderr, kept (bounded) for the timeout message; also keeps the pipe drained. */
const MAX_DIAGNOSTICS_CHARS = 4000;

function collectStderr(child: ChildProcess, name: string, diagnostics: { text: string }): void {
  child.stderr?.on('data', (chunk: Buffer) => {
    if (diagnostics.text.length < MAX_DIAGNOSTICS_CHARS) diagnostics.text += `[${name}] ${chunk.toString()}`.slice(0, MAX_DIAGNOSTICS_CHARS - diagnostics.text.length);
  });
}
