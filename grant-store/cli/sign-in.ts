import { defaultStateDir, openFileVault, openSessionVault, type SessionVault } from '../../shared/node/oidc/session-vault';
import { SignInManager, type StoreAuthApi } from '../../shared/node/oidc/sign-in-manager';
import { StoreClient } from '../../shared/node/http/store-client';

/**
 * The CLI's side of sign-in: the store calls sign-in needs (through the CLI's store client), the
 * vault sessions are kept in, and the manager that renews them. Loaded only by login, logout and
 * commands that run on a saved session (never by `check` with a token or a CI ID token).
 */

/** BREAKGLASS_SESSION_STORE=file keeps sessions in files even where a keychain answers (shared machines, tests). */
function fileForced(env: NodeJS.ProcessEnv): boolean {
  return env.BREAKGLASS_SESSION_STORE === 'file';
}

export function stateDir(env: NodeJS.ProcessEnv): string {
  return defaultStateDir(env);
}

export function cliStoreAuthApi(storeUrl: string, timeoutMs: number): StoreAuthApi {
  const anonymous = new StoreClient({ baseUrl: storeUrl, timeoutMs });
  return {
    authConfig: () => anonymous.call('authConfig'),
    createSession: (idToken) => anonymous.call('createSession', { body: { idToken } }),
    endSession: async (session) => {
      await new StoreClient({ baseUrl: storeUrl, token: session, timeoutMs }).call('endSession');
    },
  };
}

/** Where `breakglass login` saves: the OS keychain when one answers, else 0600 files in the state dir. */
export function vaultForSaving(env: NodeJS.ProcessEnv): Promise<SessionVault> {
  return openSessionVault({ stateDir: stateDir(env), backend: fileForced(env) ? null : undefined });
}

/**
 * Where a saved sign-in for `storeUrl` is: the state dir's file when there is one (found without
 * touching the keychain), else the keychain. Undefined when neither holds one.
 */
export async function vaultHolding(env: NodeJS.ProcessEnv, storeUrl: string): Promise<SessionVault | undefined> {
  const file = openFileVault(stateDir(env), 'a file was saved here');
  if (await file.load(storeUrl)) return file;
  if (fileForced(env)) return undefined;
  const vault = await vaultForSaving(env);
  if (vault.kind === 'file') return undefined;
  return (await vault.load(storeUrl)) ? vault : undefined;
}

export function signInManager(storeUrl: string, vault: SessionVault, timeoutMs: number): SignInManager {
  return new SignInManager({ storeUrl, api: cliStoreAuthApi(storeUrl, timeoutMs), vault });
}

/**
 * The saved session for `storeUrl`, renewed from the IdP when it is about to expire (or always,
 * with `force`: the store refused it); undefined when nobody signed in.
 */
export async function savedSessionToken(env: NodeJS.ProcessEnv, storeUrl: string, timeoutMs: number, options: { force?: boolean } = {}): Promise<string | undefined> {
  const vault = await vaultHolding(env, storeUrl);
  if (!vault) return undefined;
  const current = await signInManager(storeUrl, vault, timeoutMs).session(options);
  return current?.signIn.session;
}

/** How a person is told where their session is kept. */
export function vaultWords(vault: SessionVault): string {
  return vault.kind === 'keychain' ? 'in the OS keychain' : `in ${vault.where}: no OS keychain here (${vault.keychainProblem ?? 'not available'})`;
}
