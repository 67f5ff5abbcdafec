import type { AuthConfig, SessionCreated } from '../../domain/session';
import { AppError } from '../../errors';
import { deviceFlowSignIn, type DevicePrompt } from './device-flow';
import { pkceLoopbackSignIn } from './pkce-loopback';
import { discoverProvider, type FetchLike } from './provider-metadata';
import type { SessionVault, StoredSignIn } from './session-vault';
import { OAuthError, refreshTokens, revokeRefreshToken } from './token-endpoint';

/** The three store calls sign-in needs; the CLI and the console each pass their own store client. */
export interface StoreAuthApi {
  /** GET /v1/auth/config (no authentication). */
  authConfig(): Promise<AuthConfig>;
  /** POST /v1/sessions { idToken }. */
  createSession(idToken: string): Promise<SessionCreated>;
  /** DELETE /v1/sessions/current, authenticated by the session itself. */
  endSession(sessionToken: string): Promise<void>;
}

/** `auto`: the device flow where no browser can open here (`headless`) and the IdP offers it, else the browser. */
export type SignInMethod = 'device' | 'browser' | 'auto';

export interface SignInUi {
  /** Device flow: show the code and the URL. */
  onDevicePrompt(prompt: DevicePrompt): void | Promise<void>;
  /** Browser flow: open the system browser on this URL (and print it for when that fails). */
  openBrowser(url: string): void | Promise<void>;
}

/** Renew a session this long before it expires, so a command never starts with one about to lapse. */
export const REFRESH_MARGIN_MS = 60_000;

export interface SignOutResult {
  /** Who was signed in, if anyone. */
  principal: string | null;
  /** The store ended the session (or it had already ended there). */
  storeEnded: boolean;
  /** Why the store could not be told, when it could not. */
  storeProblem?: string;
  /** The IdP revoked the refresh token (false when it has no revocation endpoint or did not answer). */
  idpRevoked: boolean;
  /** Why the refresh token was not revoked, when it was not. */
  idpProblem?: string;
  removed: boolean;
}

/**
 * Sign-in to one grant store through the organisation's IdP, for the CLI and the console: sign
 * in (device flow or PKCE loopback), exchange the ID token for a short-lived store session, keep
 * it in the vault, renew it from the IdP's refresh token when it is about to expire (so group
 * changes at the IdP apply at the next renewal), and sign out on both sides.
 */
export class SignInManager {
  constructor(
    private readonly options: {
      storeUrl: string;
      api: StoreAuthApi;
      vault: SessionVault;
      fetch?: FetchLike;
      now?: () => Date;
      /** Device flow polling wait (tests pass one that returns at once). */
      sleep?: (ms: number) => Promise<void>;
      browserTimeoutMs?: number;
    },
  ) {}

  private now(): Date {
    return (this.options.now ?? (() => new Date()))();
  }

  async login(method: SignInMethod, ui: SignInUi, options: { headless?: boolean } = {}): Promise<StoredSignIn & { method: 'device' | 'browser' }> {
    const config = await this.options.api.authConfig();
    if (!config.oidc) {
      throw new AppError('unavailable', `the grant store at ${this.options.storeUrl} has no sign-in configured (policy identity.oidc): ask an admin for a token (breakglass admin token create) and set BREAKGLASS_TOKEN`);
    }
    const { issuer, clientId, scopes } = config.oidc;
    const provider = await discoverProvider(issuer, { fetch: this.options.fetch });
    const chosen = method !== 'auto' ? method : options.headless && provider.device_authorization_endpoint ? 'device' : 'browser';
    const tokens =
      chosen === 'device'
        ? await deviceFlowSignIn({ provider, clientId, scopes, onPrompt: (p) => ui.onDevicePrompt(p), fetch: this.options.fetch, sleep: this.options.sleep, now: this.options.now })
        : await pkceLoopbackSignIn({ provider, clientId, scopes, openBrowser: (url) => ui.openBrowser(url), fetch: this.options.fetch, timeoutMs: this.options.browserTimeoutMs });
    const created = await this.options.api.createSession(tokens.idToken);
    const signIn: StoredSignIn = { version: 1, storeUrl: this.options.storeUrl, session: created.session, info: created.info, idp: { issuer, clientId, refreshToken: tokens.refreshToken } };
    await this.options.vault.save(signIn);
    return { ...signIn, method: chosen };
  }

  /** The saved sign-in, if any, without renewing it. */
  current(): Promise<StoredSignIn | undefined> {
    return this.options.vault.load(this.options.storeUrl);
  }

  /**
   * A session good for at least REFRESH_MARGIN_MS, renewed from the IdP when needed; undefined
   * when nobody signed in to this store. `force` renews even a fresh one (after a 401).
   */
  async session(options: { force?: boolean } = {}): Promise<{ signIn: StoredSignIn; renewed: boolean } | undefined> {
    const stored = await this.current();
    if (!stored) return undefined;
    if (!options.force && Date.parse(stored.info.expiresAt) - this.now().getTime() > REFRESH_MARGIN_MS) return { signIn: stored, renewed: false };
    if (!stored.idp.refreshToken) {
      throw new AppError('unauthenticated', `your session for ${this.options.storeUrl} expired at ${stored.info.expiresAt} and the identity provider gave no refresh token: run breakglass login`);
    }
    const provider = await discoverProvider(stored.idp.issuer, { fetch: this.options.fetch });
    let tokens;
    try {
      tokens = await refreshTokens(provider, stored.idp.clientId, stored.idp.refreshToken, { fetch: this.options.fetch });
    } catch (error) {
      if (error instanceof OAuthError) throw new AppError('unauthenticated', `the identity provider no longer renews your sign-in (${error.message}): run breakglass login`);
      throw error;
    }
    const created = await this.options.api.createSession(tokens.idToken);
    const signIn: StoredSignIn = { ...stored, session: created.session, info: created.info, idp: { ...stored.idp, refreshToken: tokens.refreshToken } };
    await this.options.vault.save(signIn);
    return { signIn, renewed: true };
  }

  /** End the store session, revoke the IdP refresh token, forget both. */
  async logout(): Promise<SignOutResult> {
    const stored = await this.current();
    if (!stored) return { principal: null, storeEnded: false, idpRevoked: false, removed: false };
    let storeEnded = false;
    let storeProblem: string | undefined;
    try {
      await this.options.api.endSession(stored.session);
      storeEnded = true;
    } catch (error) {
      // An expired or already-ended session is ended as far as the store is concerned.
      if (error instanceof AppError && error.code === 'unauthenticated') storeEnded = true;
      else storeProblem = (error as Error).message;
    }
    let idpRevoked = false;
    let idpProblem: string | undefined = 'no refresh token was saved';
    if (stored.idp.refreshToken) {
      try {
        const revocation = await revokeRefreshToken(await discoverProvider(stored.idp.issuer, { fetch: this.options.fetch }), stored.idp.clientId, stored.idp.refreshToken, { fetch: this.options.fetch });
        idpRevoked = revocation.revoked;
        idpProblem = revocation.revoked ? undefined : revocation.problem;
      } catch (error) {
        // The IdP's metadata could not be read: the token stays unrevoked and the caller says why.
        idpProblem = `cannot read the identity provider's metadata (${(error as Error).message})`;
      }
    }
    const removed = await this.options.vault.remove(this.options.storeUrl);
    return { principal: stored.info.principal, storeEnded, storeProblem, idpRevoked, ...(idpProblem ? { idpProblem } : {}), removed };
  }
}
