import { AppError } from '../../../shared/errors';

/** The three keychain operations the vault needs; keytar's API, narrowed so tests can pass fakes. */
export interface SecretBackend {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
}

/** What the approver is told whenever the OS keychain cannot be used. */
export const NO_KEYCHAIN_MESSAGE =
  'no OS keychain available: secrets will not be stored in plain files. ' +
  'On Linux, run a Secret Service provider (gnome-keyring or KWallet) in your D-Bus session and unlock it; ' +
  'on macOS and Windows the system keychain is used.';

export function keychainUnavailable(detail?: string): AppError {
  return new AppError('unavailable', detail ? `${NO_KEYCHAIN_MESSAGE} (${detail})` : NO_KEYCHAIN_MESSAGE);
}

/**
 * Load keytar (an optional native dependency). Throws AppError('unavailable') when it is not
 * installed or its native part cannot load (e.g. libsecret missing).
 */
export async function loadKeytarBackend(): Promise<SecretBackend> {
  let mod: SecretBackend & { default?: SecretBackend };
  try {
    mod = (await import('keytar')) as SecretBackend & { default?: SecretBackend };
  } catch (error) {
    throw keychainUnavailable(`the keytar module could not be loaded: ${(error as Error).message.split('\n')[0]}`);
  }
  // keytar is CommonJS: module.exports is `default`; the loader may expose only some names
  // on the namespace itself, so prefer `default`.
  const keytar = mod.default && typeof mod.default.setPassword === 'function' ? mod.default : mod;
  if (typeof keytar.getPassword !== 'function' || typeof keytar.setPassword !== 'function' || typeof keytar.deletePassword !== 'function') throw keychainUnavailable('the keytar module does not have the expected API');
  return {
    getPassword: (service, account) => keytar.getPassword(service, account),
    setPassword: (service, account, password) => keytar.setPassword(service, account, password),
    deletePassword: (service, account) => keytar.deletePassword(service, account),
  };
}
