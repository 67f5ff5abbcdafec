import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError } from '../../errors';
import type { FetchLike, ProviderMetadata } from './provider-metadata';
import { checkIdTokenClaims, requestTokens, type IdpTokens } from './token-endpoint';

export interface PkceLoopbackOptions {
  provider: ProviderMetadata;
  clientId: string;
  scopes: readonly string[];
  /**
   * Open the authorization URL in the system browser (the CLI also prints it). Tests pass a
   * function that drives the test IdP's pages. Resolving does not mean the person signed in.
   */
  openBrowser(url: string): void | Promise<void>;
  /** How long to wait for the browser to come back (default 5 minutes). */
  timeoutMs?: number;
  fetch?: FetchLike;
  signal?: AbortSignal;
}

export const DEFAULT_BROWSER_TIMEOUT_MS = 5 * 60_000;
const CALLBACK_PATH = '/callback';

/**
 * Sign in with the authorization code grant and PKCE (RFC 7636, S256) on a loopback redirect
 * (RFC 8252 7.3): listen on 127.0.0.1 on a free port, send the person's browser to the IdP, take
 * the code from the redirect (checking state, and `iss` when the IdP sends it, RFC 9207),
 * exchange it with the verifier, and check the ID token's nonce.
 */
export async function pkceLoopbackSignIn(options: PkceLoopbackOptions): Promise<IdpTokens> {
  const { provider, clientId } = options;
  if (provider.code_challenge_methods_supported && !provider.code_challenge_methods_supported.includes('S256')) {
    throw new AppError('unavailable', `the identity provider ${provider.issuer} does not support PKCE with S256`);
  }
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');

  let settle!: (result: { code: string } | { error: AppError }) => void;
  const outcome = new Promise<{ code: string } | { error: AppError }>((resolve) => (settle = resolve));
  const server = createServer((req, res) => answerCallback(req, res, { state, issuer: provider.issuer }, settle));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new AppError('unavailable', `cannot listen on 127.0.0.1 for the sign-in redirect: ${error.message}`)));
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}${CALLBACK_PATH}`;
  const timer = setTimeout(() => settle({ error: new AppError('unauthenticated', 'no answer from the browser sign-in in time: run the sign-in again') }), options.timeoutMs ?? DEFAULT_BROWSER_TIMEOUT_MS);
  const onAbort = () => settle({ error: new AppError('unauthenticated', 'sign-in cancelled') });
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const url = new URL(provider.authorization_endpoint);
    const params: Record<string, string> = {
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      scope: options.scopes.join(' '),
      state,
      nonce,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    };
    // OpenID Connect Core 11: a refresh token for offline access is granted only with prompt=consent.
    if (options.scopes.includes('offline_access')) params.prompt = 'consent';
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    await options.openBrowser(url.href);
    const result = await outcome;
    if ('error' in result) throw result.error;
    const tokens = await requestTokens(provider, { grant_type: 'authorization_code', code: result.code, redirect_uri: redirectUri, client_id: clientId, code_verifier: verifier }, { fetch: options.fetch });
    checkIdTokenClaims(tokens.idToken, { issuer: provider.issuer, clientId, nonce });
    return tokens;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

function answerCallback(req: IncomingMessage, res: ServerResponse, expected: { state: string; issuer: string }, settle: (result: { code: string } | { error: AppError }) => void): void {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  if (url.pathname !== CALLBACK_PATH) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found');
    return;
  }
  const q = url.searchParams;
  let error: AppError | undefined;
  if (q.get('state') !== expected.state) error = new AppError('unauthenticated', 'the sign-in redirect carries another state: refusing it (a forged or stale redirect)');
  else if (q.has('iss') && q.get('iss') !== expected.issuer) error = new AppError('unauthenticated', `the sign-in redirect comes from issuer ${q.get('iss')}, not ${expected.issuer}`);
  else if (q.has('error')) error = new AppError('unauthenticated', `the identity provider refused the sign-in: ${q.get('error')}${q.get('error_description') ? ` (${q.get('error_description')})` : ''}`);
  else if (!q.get('code')) error = new AppError('unauthenticated', 'the sign-in redirect carries no code');
  const ok = error === undefined;
  res.writeHead(ok ? 200 : 400, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': "default-src 'none'" });
  res.end(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>Breakglass</title></head><body><h1>${ok ? 'Signed in' : 'Sign-in failed'}</h1><p>${ok ? 'You can close this tab and return to Breakglass.' : 'Return to Breakglass for details.'}</p></body></html>`);
  settle(ok ? { code: q.get('code')! } : { error: error! });
}
