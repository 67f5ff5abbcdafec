import { decodeJwt } from 'jose';
import { z } from 'zod';
import { AppError } from '../../errors';
import { IDP_TIMEOUT_MS, type FetchLike, type ProviderMetadata } from './provider-metadata';

/** A successful token response (RFC 6749 5.1) that carries an ID token (OpenID Connect Core 3.1.3.3). */
const TokenSuccessSchema = z.looseObject({
  id_token: z.string().min(1),
  access_token: z.string().optional(),
  refresh_token: z.string().optional(),
  expires_in: z.number().optional(),
  token_type: z.string().optional(),
});

/** An error response (RFC 6749 5.2 and RFC 8628 3.5). */
const TokenErrorSchema = z.looseObject({ error: z.string(), error_description: z.string().optional() });

/** Tokens from the IdP. Only the refresh token is kept (in the keychain); the ID token is exchanged for a store session. */
export interface IdpTokens {
  idToken: string;
  refreshToken?: string;
  accessToken?: string;
}

/** An OAuth error the caller may act on (authorization_pending, slow_down, invalid_grant...). */
export class OAuthError extends Error {
  constructor(
    readonly error: string,
    readonly description: string | undefined,
  ) {
    super(description ? `${error}: ${description}` : error);
  }
}

/** POST a grant to the token endpoint: the tokens, an OAuthError, or AppError('unavailable') when the IdP cannot be reached. */
export async function requestTokens(provider: ProviderMetadata, params: Record<string, string>, options: { fetch?: FetchLike } = {}): Promise<IdpTokens> {
  const doFetch = options.fetch ?? fetch;
  let status: number;
  let body: JsonBody;
  try {
    const response = await doFetch(provider.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(params).toString(),
      signal: AbortSignal.timeout(IDP_TIMEOUT_MS),
    });
    status = response.status;
    body = await readJsonBody(response);
  } catch (error) {
    throw new AppError('unavailable', `cannot reach the identity provider's token endpoint (${provider.token_endpoint}): ${(error as Error).message}`);
  }
  if (!body.ok) throw new AppError('unavailable', `the identity provider's token endpoint (${provider.token_endpoint}) answered HTTP ${status} with a body that is not JSON (${body.problem})`);
  return tokensFrom(status, body.json);
}

/** What an IdP endpoint answered: its JSON, or why the body is not JSON. */
export type JsonBody = { ok: true; json: unknown } | { ok: false; problem: string };

/** Read a response's body as JSON, saying why not when it is not (the caller names the endpoint and the status). */
export async function readJsonBody(response: Response): Promise<JsonBody> {
  const text = await response.text();
  try {
    return { ok: true, json: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, problem: text.trim() === '' ? 'empty body' : (error as Error).message };
  }
}

function tokensFrom(status: number, body: unknown): IdpTokens {
  const failure = TokenErrorSchema.safeParse(body);
  if (status >= 400 || (failure.success && !(body as { id_token?: unknown }).id_token)) {
    if (failure.success) throw new OAuthError(failure.data.error, failure.data.error_description);
    throw new AppError('unavailable', `the identity provider answered HTTP ${status} without an OAuth error`);
  }
  const ok = TokenSuccessSchema.safeParse(body);
  if (!ok.success) throw new AppError('unavailable', 'the identity provider answered without an ID token: ask for the openid scope');
  return { idToken: ok.data.id_token, refreshToken: ok.data.refresh_token, accessToken: ok.data.access_token };
}

/**
 * The client's own sanity checks on an ID token before handing it to the store (which verifies
 * signature, issuer, audience and lifetime against the IdP's keys): it must be a JWT for this
 * client from this issuer and, after an authorization request, carry our nonce.
 */
export function checkIdTokenClaims(idToken: string, expected: { issuer: string; clientId: string; nonce?: string }): void {
  let claims: Record<string, unknown>;
  try {
    claims = decodeJwt(idToken);
  } catch (error) {
    throw new AppError('unauthenticated', `the identity provider returned an ID token that is not a JWT (${(error as Error).message})`);
  }
  if (claims.iss !== expected.issuer) throw new AppError('unauthenticated', `the ID token is from ${String(claims.iss)}, not ${expected.issuer}`);
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes(expected.clientId)) throw new AppError('unauthenticated', `the ID token is not for client ${expected.clientId}`);
  if (expected.nonce !== undefined && claims.nonce !== expected.nonce) throw new AppError('unauthenticated', 'the ID token does not carry the nonce of this sign-in (a replayed or mixed-up response)');
}

/** Refresh: new ID token (with the IdP's current groups) and, usually, a new refresh token (rotation). */
export async function refreshTokens(provider: ProviderMetadata, clientId: string, refreshToken: string, options: { fetch?: FetchLike } = {}): Promise<IdpTokens> {
  const tokens = await requestTokens(provider, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId }, options);
  checkIdTokenClaims(tokens.idToken, { issuer: provider.issuer, clientId });
  return { ...tokens, refreshToken: tokens.refreshToken ?? refreshToken };
}

/** Whether the IdP revoked a refresh token, and why not when it did not. */
export type Revocation = { revoked: true } | { revoked: false; problem: string };

/**
 * Revoke a refresh token at the IdP (RFC 7009) when it offers a revocation endpoint. Not revoked
 * says why (no endpoint, the IdP's refusal, no answer): the caller tells the person; the store
 * session is ended anyway.
 */
export async function revokeRefreshToken(provider: ProviderMetadata, clientId: string, refreshToken: string, options: { fetch?: FetchLike } = {}): Promise<Revocation> {
  if (!provider.revocation_endpoint) return { revoked: false, problem: `${provider.issuer} offers no revocation endpoint` };
  try {
    const response = await (options.fetch ?? fetch)(provider.revocation_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: refreshToken, token_type_hint: 'refresh_token', client_id: clientId }).toString(),
      signal: AbortSignal.timeout(IDP_TIMEOUT_MS),
    });
    await response.body?.cancel();
    return response.ok ? { revoked: true } : { revoked: false, problem: `the revocation endpoint answered HTTP ${response.status}` };
  } catch (error) {
    return { revoked: false, problem: `the revocation endpoint did not answer (${(error as Error).message})` };
  }
}
