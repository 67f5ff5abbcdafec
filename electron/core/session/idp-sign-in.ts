import type { AuthConfig, SessionInfo } from '../../../shared/domain/session';
import { AppError } from '../../../shared/errors';
import { openSessionVault, type SessionVault } from '../../../shared/node/oidc/session-vault';
import { SignInManager, type SignOutResult, type StoreAuthApi } from '../../../shared/node/oidc/sign-in-manager';
import type { ConsoleLogger } from '../logger';
import { StoreClient } from '../../../shared/node/http/store-client';
import { STORE_CALL_TIMEOUT_MS } from './session-service';

export interface IdpSignInDeps {
  /** Where sessions are kept: the OS keychain when one answers, else 0600 files in the console's data dir. */
  dataDir: string;
  /** Opens the system browser on the IdP's authorization URL (Electron: shell.openExternal). */
  openBrowser(url: string): Promise<void>;
  logger: ConsoleLogger;
  fetchImpl?: typeof fetch;
  /** Tests pass a vault; the default is the shared one (keychain, else files). */
  openVault?: () => Promise<SessionVault>;
  browserTimeoutMs?: number;
}

export interface IdpSignedIn {
  /** The store session bearer (bgs_...): what the console's store client sends. */
  token: string;
  info: SessionInfo;
  /** Where the session is kept, in words for the person. */
  keptIn: string;
}

/**
 * The console's sign-in through the organisation's IdP, the same way the CLI signs in: the
 * system browser, authorization code + PKCE, a loopback redirect on 127.0.0.1; the ID token is
 * exchanged for a store session, kept in the OS keychain (else a 0600 file in the data dir) and
 * renewed from the IdP's refresh token before it lapses. One small service: the session service
 * asks it for the current bearer; sign-out ends the session at the store and at the IdP.
 */
export class IdpSignIn {
  private vault: Promise<SessionVault> | undefined;

  constructor(private readonly deps: IdpSignInDeps) {}

  private openVault(): Promise<SessionVault> {
    this.vault ??= (this.deps.openVault ?? (() => openSessionVault({ stateDir: this.deps.dataDir })))();
    return this.vault;
  }

  private api(storeUrl: string): StoreAuthApi {
    // The two sign-in calls carry no bearer: the store serves them without one.
    const anonymous = new StoreClient({ baseUrl: storeUrl, timeoutMs: STORE_CALL_TIMEOUT_MS, fetchImpl: this.deps.fetchImpl });
    return {
      authConfig: () => anonymous.call('authConfig'),
      createSession: (idToken) => anonymous.call('createSession', { body: { idToken } }),
      endSession: async (session) => {
        await new StoreClient({ baseUrl: storeUrl, token: session, timeoutMs: STORE_CALL_TIMEOUT_MS, fetchImpl: this.deps.fetchImpl }).call('endSession');
      },
    };
  }

  private async manager(storeUrl: string): Promise<SignInManager> {
    const fetchImpl = this.deps.fetchImpl;
    return new SignInManager({
      storeUrl,
      api: this.api(storeUrl),
      vault: await this.openVault(),
      ...(fetchImpl ? { fetch: (url: string | URL, init?: RequestInit) => fetchImpl(url, init) } : {}),
      browserTimeoutMs: this.deps.browserTimeoutMs,
    });
  }

  /** What the store offers: the setup screen shows "Sign in with your organisation" only when `oidc` is set. */
  authConfig(storeUrl: string): Promise<AuthConfig> {
    return this.api(storeUrl).authConfig();
  }

  /** Sign in at the IdP in the system browser and keep the store session. */
  async signIn(storeUrl: string): Promise<IdpSignedIn> {
    const manager = await this.manager(storeUrl);
    const signedIn = await manager.login('browser', {
      onDevicePrompt: () => {
        throw new AppError('internal', 'the console signs in through the browser, not a device code');
      },
      openBrowser: (url) => this.deps.openBrowser(url),
    });
    const vault = await this.openVault();
    this.deps.logger.info({ storeUrl, principal: signedIn.info.principal, kept: vault.kind }, 'signed in through the identity provider');
    return { token: signedIn.session, info: signedIn.info, keptIn: vault.kind === 'keychain' ? 'the OS keychain' : vault.where };
  }

  /**
   * The bearer to use now for `storeUrl`: the saved session, renewed from the IdP when it is
   * about to lapse (or at once with `force`, after the store refused it); undefined when nobody
   * signed in there through the IdP.
   */
  async currentToken(storeUrl: string, options: { force?: boolean } = {}): Promise<{ token: string; info: SessionInfo; renewed: boolean } | undefined> {
    const current = await (await this.manager(storeUrl)).session(options);
    return current ? { token: current.signIn.session, info: current.signIn.info, renewed: current.renewed } : undefined;
  }

  /** End the store session and the IdP refresh token, and forget the sign-in. */
  async signOut(storeUrl: string): Promise<SignOutResult> {
    const result = await (await this.manager(storeUrl)).logout();
    if (result.storeProblem) this.deps.logger.warn({ storeUrl, problem: result.storeProblem }, 'the store could not be told about the sign-out; the session lapses at its expiry');
    if (result.idpProblem) this.deps.logger.info({ storeUrl, problem: result.idpProblem }, 'the identity provider did not revoke the refresh token; it lapses at its own expiry');
    return result;
  }
}
