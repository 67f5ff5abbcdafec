import { realpathSync } from 'node:fs';
import { AppError } from '../../../shared/errors';

/** PKCS#11 modules the console loads without configuration: OpenSC, YubiKey, SoftHSM2, tpm2-pkcs11. */
const KNOWN_MODULE_NAMES = ['opensc-pkcs11.so', 'libykcs11.so', 'libsofthsm2.so', 'libtpm2_pkcs11.so'] as const;
/** The usual Linux/macOS library directories those modules are installed in. */
const KNOWN_MODULE_DIRS = [
  '/usr/lib',
  '/usr/lib64',
  '/usr/lib/pkcs11',
  '/usr/lib/softhsm',
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/x86_64-linux-gnu/pkcs11',
  '/usr/lib/x86_64-linux-gnu/softhsm',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu/pkcs11',
  '/usr/lib/aarch64-linux-gnu/softhsm',
  '/usr/local/lib',
  '/usr/local/lib/pkcs11',
  '/usr/local/lib/softhsm',
  '/opt/homebrew/lib',
  '/opt/homebrew/lib/pkcs11',
  '/opt/homebrew/lib/softhsm',
] as const;

export const KNOWN_PKCS11_MODULE_PATHS: readonly string[] = KNOWN_MODULE_DIRS.flatMap((dir) => KNOWN_MODULE_NAMES.map((name) => `${dir}/${name}`));

function resolve(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    // A path that does not exist (or cannot be resolved) is simply not on the allow-list.
    return undefined;
  }
}

/**
 * Refuses (invalid_input on `modulePath`) a PKCS#11 module that is neither a well-known system
 * module nor one of `extraAllowed` (main-process configuration only, never renderer input).
 * Both sides are compared after realpath, so a symlink to an allowed module is fine and a
 * symlink named like one that points elsewhere is not. Returns the resolved path to load.
 */
export function allowedPkcs11ModulePath(modulePath: string, extraAllowed: readonly string[] = []): string {
  const resolved = resolve(modulePath);
  const allowed = new Set([...KNOWN_PKCS11_MODULE_PATHS, ...extraAllowed].map(resolve).filter((p): p is string => p !== undefined));
  if (resolved === undefined || !allowed.has(resolved)) {
    throw new AppError(
      'invalid_input',
      `the PKCS#11 module ${modulePath} is not on the allow-list (OpenSC, YubiKey ykcs11, SoftHSM2 and tpm2-pkcs11 in the system library directories); to use another module, add its path to the console's allowed PKCS#11 modules in the main-process configuration`,
      { fieldErrors: [{ path: 'modulePath', message: 'not an allowed PKCS#11 module' }] },
    );
  }
  return resolved;
}
