import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../../shared/errors';
import { REQUEST_PAGE_PATH } from '../../shared/gates/request-link';
import { discoverProvider, type ProviderMetadata } from '../../shared/node/oidc/provider-metadata';
import { checkIdTokenClaims, requestTokens } from '../../shared/node/oidc/token-endpoint';
import { authConfig } from '../identity/auth-config';
import { startSession } from '../identity/session-service';
import type { ServiceDeps } from '../service/service-deps';

/** How long a person may take at the IdP between leaving the page and coming back. */
const SIGN_IN_WINDOW_MS = 10 * 60_000;
/** Sign-ins in flight at once: beyond this the oldest is dropped (each is a few hundred bytes). */
const MAX_PENDING = 1000;
/** Where the IdP sends the browser back: register `<store>/request/callback` with the IdP client. */
export const REQUEST_PAGE_CALLBACK_PATH = `${REQUEST_PAGE_PATH}/callback`;

interface Pending {
  verifier: string;
  nonce: string;
  returnTo: string;
  redirectUri: string;
  issuer: string;
  expiresAt: number;
}

/**
 * The request page's single sign-on, on the store's side: the authorization code grant with
 * PKCE (S256), the same IdP client the CLI and the console use, with the store's
 * `/request/callback` as the redirect. The browser never holds the IdP's tokens: the store
 * exchanges the code, turns the ID token into a store session exactly as POST /v1/sessions does
 * (teams and roles from the IdP's groups), and hands the session to the page in the URL
 * fragment (never sent to a server, stripped by the page at once).
 */
export class PageSignIn {
  private readonly pending = new Map<string, Pending>();
  private provider: { issuer: string; metadata: Promise<ProviderMetadata> } | undefined;

  constructor(private readonly deps: ServiceDeps) {}

  private oidc() {
    const oidc = authConfig(this.deps.policies.declared).oidc;
    if (!oidc || !this.deps.identity) throw new AppError('not_found', 'this store has no single sign-on: sign in with a token');
    return oidc;
  }

  private metadata(issuer: string): Promise<ProviderMetadata> {
    if (this.provider?.issuer !== issuer) {
      const metadata = discoverProvider(issuer);
      // A failed discovery is retried by the next sign-in rather than cached.
      // The failure reaches the sign-in that asked (through `metadata`); here it only drops the cache.
      metadata.catch((_reachesCaller: unknown) => {
        if (this.provider?.metadata === metadata) this.provider = undefined;
      });
      this.provider = { issuer, metadata };
    }
    return this.provider.metadata;
  }

  /** The IdP's authorization URL for a person on the page; `returnTo` is where the page was (/request?…). */
  async start(storeOrigin: string, returnTo: string | undefined): Promise<string> {
    const oidc = this.oidc();
    // Only back to the request page itself: never an open redirect.
    const back = returnTo && /^\/request(\?[^#\s]*)?$/.test(returnTo) ? returnTo : REQUEST_PAGE_PATH;
    const provider = await this.metadata(oidc.issuer);
    const verifier = randomBytes(32).toString('base64url');
    const state = randomBytes(16).toString('base64url');
    const nonce = randomBytes(16).toString('base64url');
    const redirectUri = `${storeOrigin}${REQUEST_PAGE_CALLBACK_PATH}`;
    const now = Date.now();
    for (const [key, p] of this.pending) if (p.expiresAt <= now || this.pending.size >= MAX_PENDING) this.pending.delete(key);
    this.pending.set(state, { verifier, nonce, returnTo: back, redirectUri, issuer: provider.issuer, expiresAt: now + SIGN_IN_WINDOW_MS });
    const url = new URL(provider.authorization_endpoint);
    const params: Record<string, string> = {
      response_type: 'code',
      client_id: oidc.clientId,
      redirect_uri: redirectUri,
      // The page needs no refresh token: a new sign-in is one click.
      scope: oidc.scopes.filter((s) => s !== 'offline_access').join(' '),
      state,
      nonce,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    };
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    return url.href;
  }

  /** The IdP's redirect back: the code becomes a store session; the answer is where to send the browser. */
  async finish(query: { code?: string; state?: string; iss?: string; error?: string; error_description?: string }, sourceAddress: string | null): Promise<string> {
    const oidc = this.oidc();
    const pending = query.state ? this.pending.get(query.state) : undefined;
    if (query.state) this.pending.delete(query.state);
    if (!pending || pending.expiresAt <= Date.now()) throw new AppError('unauthenticated', 'this sign-in is unknown or too old: go back to the request page and sign in again');
    if (query.iss !== undefined && query.iss !== pending.issuer) throw new AppError('unauthenticated', `the sign-in came back from ${query.iss}, not ${pending.issuer} (RFC 9207)`);
    if (query.error) throw new AppError('unauthenticated', `the identity provider refused the sign-in: ${query.error}${query.error_description ? ` (${query.error_description})` : ''}`);
    if (!query.code) throw new AppError('invalid_input', 'the identity provider sent no code', { fieldErrors: [{ path: 'code', message: 'is required' }] });
    const provider = await this.metadata(oidc.issuer);
    const tokens = await requestTokens(provider, { grant_type: 'authorization_code', code: query.code, redirect_uri: pending.redirectUri, client_id: oidc.clientId, code_verifier: pending.verifier });
    checkIdTokenClaims(tokens.idToken, { issuer: provider.issuer, clientId: oidc.clientId, nonce: pending.nonce });
    const created = await startSession(this.deps.identity!.sessionDeps, { idToken: tokens.idToken }, sourceAddress);
    return `${pending.returnTo}#session=${encodeURIComponent(created.session)}`;
  }
}
