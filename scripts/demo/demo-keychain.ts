import { join } from 'node:path';
import { missingPrivateKeyringTools, probeKeychain, startPrivateKeyring } from '../../shared/node/private-keyring';

/**
 * Where the demo console keeps its secrets:
 * - `system`: the OS keychain answers (macOS, Windows, a Linux desktop session);
 * - `private`: no Secret Service answered, so the demo runs its own gnome-keyring on a private
 *   D-Bus session (data under the demo dir) and the console uses that one;
 * - `none`: neither: the console offers the demo's approver key files as a software-file signer.
 */
export type DemoKeychain = { mode: 'system' } | { mode: 'private'; address: string; stop(): Promise<void> } | { mode: 'none'; why: string };

/**
 * Password of the demo's own login keyring. Demo only, like the demo tokens: it protects nothing
 * beyond what the 0700 demo dir already does, and lets the next `npm start` unlock the same keyring.
 */
const DEMO_KEYRING_PASSWORD = 'breakglass-demo-keyring';

/**
 * Find or start a keychain for the demo console. `npm start` calls this before the console loads
 * keytar: libsecret keeps the first session bus a process uses, so DBUS_SESSION_BUS_ADDRESS is set
 * for this process (the browser host runs in it) before anything asks the keychain.
 */
export async function ensureDemoKeychain(demoDir: string, root: string, say: (line: string) => void): Promise<DemoKeychain> {
  if (process.platform !== 'linux') return { mode: 'system' };
  const system = await probeKeychain(process.env, root);
  if (system.ok) return { mode: 'system' };
  const missing = missingPrivateKeyringTools();
  if (missing.length > 0) {
    return { mode: 'none', why: `no Secret Service answered (${system.why}) and the demo cannot start its own: ${missing.join(', ')} not installed (Debian/Ubuntu: apt-get install gnome-keyring dbus-daemon dbus-bin)` };
  }
  let keyring;
  try {
    keyring = await startPrivateKeyring({ password: DEMO_KEYRING_PASSWORD, dataDir: join(demoDir, 'keyring') });
  } catch (error) {
    return { mode: 'none', why: `no Secret Service answered (${system.why}) and the demo's own gnome-keyring did not start: ${(error as Error).message.split('\n')[0]}` };
  }
  const own = await probeKeychain({ ...process.env, DBUS_SESSION_BUS_ADDRESS: keyring.address }, root);
  if (!own.ok) {
    await keyring.stop();
    return { mode: 'none', why: `the demo's own gnome-keyring runs but the console cannot use it: ${own.why}` };
  }
  process.env.DBUS_SESSION_BUS_ADDRESS = keyring.address;
  say(`Console: no Secret Service answered on this machine (${system.why}); started the demo's own gnome-keyring on a private D-Bus session (keyring files in ${join(demoDir, 'keyring')}).`);
  return { mode: 'private', address: keyring.address, stop: () => keyring.stop() };
}
