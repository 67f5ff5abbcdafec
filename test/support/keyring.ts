// A private, unlocked gnome-keyring on a private D-Bus session bus, for tests that need a real
// OS keychain (keytar → libsecret → Secret Service). Nothing touches the user's own session.
//
//   const keyring = await startTestKeyring();
//   process.env.DBUS_SESSION_BUS_ADDRESS = keyring.address; // before the first keytar call
//   spawn('node', [...], { env: { ...process.env, ...keyring.env } }); // or for a child
//   ...
//   await keyring.stop(); // in after()
//
// libsecret connects to the session bus once per process and keeps that connection, so set the
// address before the first keychain call; a test file that needs a *missing* keychain must run
// in its own process (node --test already runs each file in its own process).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestKeyring {
  /** DBUS_SESSION_BUS_ADDRESS of the private bus. */
  address: string;
  /** Environment for processes that should use this keyring (bus address, HOME, XDG dirs). */
  env: Record<string, string>;
  /** Temp dir holding the bus socket and gnome-keyring's (encrypted) keyring files. */
  dir: string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
const READY_POLL_MS = 50;
const STOP_TIMEOUT_MS = 3_000;
const SECRETS_BUS_NAME = 'org.freedesktop.secrets';

/** True when the tools for a private keyring are installed (dbus-daemon, gnome-keyring-daemon, dbus-send). */
export function testKeyringAvailable(): boolean {
  return ['dbus-daemon', 'gnome-keyring-daemon', 'dbus-send'].every((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0);
}

export async function startTestKeyring(opts: { password?: string } = {}): Promise<TestKeyring> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-keyring-'));
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
    HOME: join(dir, 'home'),
    XDG_DATA_HOME: join(dir, 'home', 'data'),
    XDG_RUNTIME_DIR: dir,
    XDG_CONFIG_HOME: join(dir, 'home', 'config'),
  };
  const children: ChildProcess[] = [];
  const killAll = () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  // If the test process dies without calling stop(), do not leave daemons behind.
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
    collectStderr(bus, 'dbus-daemon');
    await waitFor(async () => dbusSend(address, ['/org/freedesktop/DBus', 'org.freedesktop.DBus.GetId']) !== undefined, 'the private D-Bus daemon');

    const keyring = spawn('gnome-keyring-daemon', ['--unlock', '--components=secrets', '--foreground'], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    children.push(keyring);
    collectStderr(keyring, 'gnome-keyring-daemon');
    // --unlock reads the login keyring password from stdin (creating the keyring on first use).
    keyring.stdin!.end(opts.password ?? 'bg-test-keyring');
    await waitFor(
      async () => /boolean true/.test(dbusSend(address, ['/org/freedesktop/DBus', 'org.freedesktop.DBus.NameHasOwner', `string:${SECRETS_BUS_NAME}`]) ?? ''),
      'gnome-keyring-daemon to own org.freedesktop.secrets',
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { address, env, dir, stop };
}

function dbusSend(address: string, args: string[]): string | undefined {
  const result = spawnSync('dbus-send', [`--bus=${address}`, '--print-reply', '--dest=org.freedesktop.DBus', ...args], { encoding: 'utf8', timeout: 2000 });
  return result.status === 0 ? result.stdout : undefined;
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, READY_POLL_MS));
  }
  throw new Error(`timed out waiting for ${what}${diagnostics ? `; daemon output:\n${diagnostics}` : ''}`);
}

/** Daemon stderr, kept (bounded) for the timeout message; also keeps the pipe drained. */
let diagnostics = '';
const MAX_DIAGNOSTICS_CHARS = 4000;

function collectStderr(child: ChildProcess, name: string): void {
  child.stderr?.on('data', (chunk: Buffer) => {
    if (diagnostics.length < MAX_DIAGNOSTICS_CHARS) diagnostics += `[${name}] ${chunk.toString()}`.slice(0, MAX_DIAGNOSTICS_CHARS - diagnostics.length);
  });
}
