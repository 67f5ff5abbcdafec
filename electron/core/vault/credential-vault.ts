import { PrincipalNameSchema } from '../../../shared/domain/common';
import { AppError } from '../../../shared/errors';
import { keychainUnavailable, loadKeytarBackend, type SecretBackend } from './secret-backend';

/** Keychain "service" every Breakglass secret is filed under. */
export const VAULT_SERVICE = 'breakglass';
/** What a secret is: the store API token, a software signing key (PKCS#8 PEM), or the console's checkpoint witness key. */
export type SecretKind = 'token' | 'signing-key' | 'witness-key';
/**
 * A keychain call that does not answer is treated as no keychain: a locked collection with no
 * prompter can otherwise leave the console waiting forever.
 */
export const DEFAULT_KEYCHAIN_TIMEOUT_MS = 15_000;
/** Account name used to check that the keychain answers at all. Never holds a secret. */
const PROBE_ACCOUNT = 'breakglass-keychain-probe';

/**
 * Keychain account for one secret: `${storeUrl}|${principal}|${kind}`. The store URL is
 * normalized (lowercase scheme and host, default port dropped, no trailing slash) so the same
 * store is one entry however it was typed.
 */
export function vaultAccount(storeUrl: string, principal: string, kind: SecretKind): string {
  return `${normalizeStoreUrl(storeUrl)}|${checkPrincipal(principal)}|${kind}`;
}

export function normalizeStoreUrl(storeUrl: string): string {
  let url: URL;
  try {
    url = new URL(storeUrl);
  } catch {
    throw new AppError('invalid_input', `not a store URL: ${JSON.stringify(storeUrl)}`, { fieldErrors: [{ path: 'storeUrl', message: 'must be an http(s) URL' }] });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AppError('invalid_input', `store URL must be http(s), got ${url.protocol}`, { fieldErrors: [{ path: 'storeUrl', message: 'must be an http(s) URL' }] });
  }
  if (url.username || url.password) {
    throw new AppError('invalid_input', 'store URL must not carry credentials', { fieldErrors: [{ path: 'storeUrl', message: 'must not contain user:password@' }] });
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function checkPrincipal(principal: string): string {
  const result = PrincipalNameSchema.safeParse(principal);
  if (!result.success) {
    throw new AppError('invalid_input', `invalid principal ${JSON.stringify(principal)}: ${result.error.issues[0]?.message ?? 'invalid'}`, {
      fieldErrors: [{ path: 'principal', message: result.error.issues[0]?.message ?? 'invalid' }],
    });
  }
  return principal;
}

export interface CredentialVaultOptions {
  /** Defaults to keytar (loaded on demand). */
  backend?: SecretBackend;
  timeoutMs?: number;
}

/**
 * The console's secrets in the OS keychain: the API token and the software signing key per
 * (store URL, principal). Nothing secret is ever written to a file; when no keychain can be
 * reached every call throws AppError('unavailable') saying so, and the caller must not fall
 * back to anything else.
 */
export class CredentialVault {
  private constructor(
    private readonly backend: SecretBackend,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Open the vault and check the keychain answers (so the setup screen can say "no keychain"
   * before asking for a token). Throws AppError('unavailable') otherwise.
   */
  static async open(options: CredentialVaultOptions = {}): Promise<CredentialVault> {
    const backend = options.backend ?? (await loadKeytarBackend());
    const vault = new CredentialVault(backend, options.timeoutMs ?? DEFAULT_KEYCHAIN_TIMEOUT_MS);
    await vault.call('reach the keychain', () => backend.getPassword(VAULT_SERVICE, PROBE_ACCOUNT));
    return vault;
  }

  getToken(storeUrl: string, principal: string): Promise<string | null> {
    return this.get(storeUrl, principal, 'token');
  }

  setToken(storeUrl: string, principal: string, token: string): Promise<void> {
    return this.set(storeUrl, principal, 'token', token);
  }

  deleteToken(storeUrl: string, principal: string): Promise<boolean> {
    return this.delete(storeUrl, principal, 'token');
  }

  getSigningKey(storeUrl: string, principal: string): Promise<string | null> {
    return this.get(storeUrl, principal, 'signing-key');
  }

  setSigningKey(storeUrl: string, principal: string, privateKeyPem: string): Promise<void> {
    return this.set(storeUrl, principal, 'signing-key', privateKeyPem);
  }

  deleteSigningKey(storeUrl: string, principal: string): Promise<boolean> {
    return this.delete(storeUrl, principal, 'signing-key');
  }

  async get(storeUrl: string, principal: string, kind: SecretKind): Promise<string | null> {
    const account = vaultAccount(storeUrl, principal, kind);
    return this.call(`read the ${kind}`, () => this.backend.getPassword(VAULT_SERVICE, account));
  }

  async set(storeUrl: string, principal: string, kind: SecretKind, secret: string): Promise<void> {
    const account = vaultAccount(storeUrl, principal, kind);
    if (typeof secret !== 'string' || secret.length === 0) {
      throw new AppError('invalid_input', `refusing to store an empty ${kind}`, { fieldErrors: [{ path: kind, message: 'must not be empty' }] });
    }
    await this.call(`store the ${kind}`, () => this.backend.setPassword(VAULT_SERVICE, account, secret));
  }

  async delete(storeUrl: string, principal: string, kind: SecretKind): Promise<boolean> {
    const account = vaultAccount(storeUrl, principal, kind);
    return this.call(`delete the ${kind}`, () => this.backend.deletePassword(VAULT_SERVICE, account));
  }

  private async call<T>(what: string, op: () => Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(keychainUnavailable(`the keychain did not answer within ${this.timeoutMs} ms trying to ${what}; is it locked?`)), this.timeoutMs);
    });
    try {
      return await Promise.race([op(), timeout]);
    } catch (error) {
      if (error instanceof AppError) throw error;
      // Never echo the secret: keychain errors carry only libsecret's message.
      throw keychainUnavailable(`could not ${what}: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
}
