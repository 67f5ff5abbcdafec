import { AppError } from '../errors';

/** The three keychain operations Breakglass needs (keytar's API, narrowed so tests can pass fakes). */
export interface KeychainBackend {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
}

/** Keychain "service" every Breakglass secret is filed under. */
export const KEYCHAIN_SERVICE = 'breakglass';

/**
 * Load keytar (an optional native dependency: macOS Keychain, Windows Credential Manager,
 * libsecret on Linux). Throws AppError('unavailable') saying why when it cannot be used.
 */
export async function loadKeytar(): Promise<KeychainBackend> {
  let mod: KeychainBackend & { default?: KeychainBackend };
  try {
    mod = (await import('keytar')) as KeychainBackend & { default?: KeychainBackend };
  } catch (error) {
    throw new AppError('unavailable', `the keytar module could not be loaded: ${(error as Error).message.split('\n')[0]}`);
  }
  // keytar is CommonJS: module.exports arrives as `default`.
  const keytar = mod.default && typeof mod.default.setPassword === 'function' ? mod.default : mod;
  if (typeof keytar.getPassword !== 'function' || typeof keytar.setPassword !== 'function' || typeof keytar.deletePassword !== 'function') {
    throw new AppError('unavailable', 'the keytar module does not have the expected API');
  }
  return {
    getPassword: (service, account) => keytar.getPassword(service, account),
    setPassword: (service, account, password) => keytar.setPassword(service, account, password),
    deletePassword: (service, account) => keytar.deletePassword(service, account),
  };
}

/** Run one keychain call with a deadline: a locked collection without a prompter must not hang a command. */
export async function withKeychainDeadline<T>(what: string, timeoutMs: number, op: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AppError('unavailable', `the OS keychain did not answer within ${timeoutMs} ms trying to ${what}; is it locked?`)), timeoutMs);
  });
  try {
    return await Promise.race([op(), timeout]);
  } catch (error) {
    if (error instanceof AppError) throw error;
    // Never echo a secret: keychain errors carry only libsecret's message.
    throw new AppError('unavailable', `could not ${what} in the OS keychain: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}
