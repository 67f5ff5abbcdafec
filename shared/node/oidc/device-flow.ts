import { z } from 'zod';
import { AppError } from '../../errors';
import { IDP_TIMEOUT_MS, type FetchLike, type ProviderMetadata } from './provider-metadata';
import { checkIdTokenClaims, OAuthError, readJsonBody, requestTokens, type IdpTokens, type JsonBody } from './token-endpoint';

/** The device authorization response (RFC 8628 3.2). */
const DeviceAuthorizationSchema = z.looseObject({
  device_code: z.string().min(1),
  user_code: z.string().min(1),
  verification_uri: z.url(),
  verification_uri_complete: z.url().optional(),
  expires_in: z.number().positive(),
  interval: z.number().positive().optional(),
});

/** What the person must do, shown by the caller. */
export interface DevicePrompt {
  userCode: string;
  verificationUri: string;
  /** The URI with the code filled in (for a QR code or a click), when the IdP offers one. */
  verificationUriComplete?: string;
  expiresAt: Date;
}

export interface DeviceFlowOptions {
  provider: ProviderMetadata;
  clientId: string;
  scopes: readonly string[];
  /** Show the code and URL to the person. Polling starts once it resolves. */
  onPrompt(prompt: DevicePrompt): void | Promise<void>;
  fetch?: FetchLike;
  /** Wait between polls (tests pass one that does not wait out real time). */
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
  signal?: AbortSignal;
}

/** RFC 8628 3.2: without an interval, poll every 5 seconds; slow_down adds 5 seconds. */
export const DEFAULT_POLL_INTERVAL_S = 5;
const SLOW_DOWN_STEP_S = 5;

/**
 * Sign in with the device authorization grant (RFC 8628): ask the IdP for a user code, show it,
 * then poll the token endpoint until the person approves, refuses or the code expires.
 */
export async function deviceFlowSignIn(options: DeviceFlowOptions): Promise<IdpTokens> {
  const { provider, clientId } = options;
  if (!provider.device_authorization_endpoint) {
    throw new AppError('unavailable', `the identity provider ${provider.issuer} does not offer the device authorization grant: sign in with the browser instead (breakglass login --browser)`);
  }
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let body: JsonBody;
  try {
    const response = await (options.fetch ?? fetch)(provider.device_authorization_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ client_id: clientId, scope: options.scopes.join(' ') }).toString(),
      signal: AbortSignal.timeout(IDP_TIMEOUT_MS),
    });
    body = await readJsonBody(response);
    if (!response.ok) {
      const error = body.ok ? (body.json as { error?: string; error_description?: string } | null | undefined) : undefined;
      throw new AppError('unauthenticated', `the identity provider refused the device sign-in: ${error?.error ?? `HTTP ${response.status}`}${error?.error_description ? ` (${error.error_description})` : ''}`);
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError('unavailable', `cannot reach the identity provider's device endpoint (${provider.device_authorization_endpoint}): ${(error as Error).message}`);
  }
  if (!body.ok) throw new AppError('unavailable', `the identity provider's device endpoint (${provider.device_authorization_endpoint}) answered with a body that is not JSON (${body.problem})`);
  const parsed = DeviceAuthorizationSchema.safeParse(body.json);
  if (!parsed.success) throw new AppError('unavailable', 'the identity provider answered the device request without a device code, user code or verification URI');
  const device = parsed.data;
  const expiresAt = new Date(now().getTime() + device.expires_in * 1000);
  await options.onPrompt({ userCode: device.user_code, verificationUri: device.verification_uri, verificationUriComplete: device.verification_uri_complete, expiresAt });

  let intervalS = device.interval ?? DEFAULT_POLL_INTERVAL_S;
  let first = true;
  for (;;) {
    if (options.signal?.aborted) throw new AppError('unauthenticated', 'sign-in cancelled');
    if (now() >= expiresAt) throw new AppError('unauthenticated', 'the device code expired before it was approved: run the sign-in again');
    if (!first) await sleep(intervalS * 1000);
    first = false;
    try {
      const tokens = await requestTokens(provider, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code, client_id: clientId }, { fetch: options.fetch });
      checkIdTokenClaims(tokens.idToken, { issuer: provider.issuer, clientId });
      return tokens;
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      if (error.error === 'authorization_pending') continue;
      if (error.error === 'slow_down') {
        intervalS += SLOW_DOWN_STEP_S;
        continue;
      }
      if (error.error === 'access_denied') throw new AppError('unauthenticated', 'the sign-in was refused at the identity provider');
      if (error.error === 'expired_token') throw new AppError('unauthenticated', 'the device code expired before it was approved: run the sign-in again');
      throw new AppError('unauthenticated', `the identity provider refused the sign-in: ${error.message}`);
    }
  }
}
