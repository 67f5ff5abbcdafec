// A private, unlocked gnome-keyring on a private D-Bus session bus, for tests that need a real
// OS keychain (keytar → libsecret → Secret Service). The keyring itself is product code
// (shared/node/private-keyring.ts: `npm start` runs one where no Secret Service answers); this
// gives tests a throwaway one, deleted by stop().
//
//   const keyring = await startTestKeyring();
//   process.env.DBUS_SESSION_BUS_ADDRESS = keyring.address; // before the first keytar call
//   spawn('node', [...], { env: { ...process.env, ...keyring.env } }); // or for a child
//   ...
//   await keyring.stop(); // in after()
//
// A test file that needs a *missing* keychain must run in its own process (node --test already
// runs each file in its own process): libsecret keeps its first bus connection.
import { missingPrivateKeyringTools, startPrivateKeyring, type PrivateKeyring } from '../../shared/node/private-keyring';

export type TestKeyring = PrivateKeyring;

/** True when the tools for a private keyring are installed (dbus-daemon, gnome-keyring-daemon, dbus-send). */
export function testKeyringAvailable(): boolean {
  return missingPrivateKeyringTools().length === 0;
}

export function startTestKeyring(opts: { password?: string } = {}): Promise<TestKeyring> {
  return startPrivateKeyring({ password: opts.password ?? 'bg-test-keyring' });
}
