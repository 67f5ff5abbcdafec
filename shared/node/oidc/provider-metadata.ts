import { z } from 'zod';
import { AppError } from '../../errors';

/** What the clients need from an OpenID provider's discovery document. */
export const ProviderMetadataSchema = z.looseObject({
  issuer: z.string(),
  authorization_endpoint: z.url(),
  token_endpoint: z.url(),
  device_authorization_endpoint: z.url().optional(),
  revocation_endpoint: z.url().optional(),
  end_session_endpoint: z.url().optional(),
  code_challenge_methods_supported: z.array(z.string()).optional(),
});
export type ProviderMetadata = z.infer<typeof ProviderMetadataSchema>;

/** How long an IdP may take to answer one request. */
export const IDP_TIMEOUT_MS = 15_000;

/** Everything the OIDC clients call: a fetch (the CLI and the console pass their own for tests or proxies). */
export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

/**
 * Read the provider's discovery document (`<issuer>/.well-known/openid-configuration`) and check
 * it names the same issuer (OpenID Connect Discovery 1.0, section 4.3).
 */
export async function discoverProvider(issuer: string, options: { fetch?: FetchLike; timeoutMs?: number } = {}): Promise<ProviderMetadata> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const doFetch = options.fetch ?? fetch;
  let body: unknown;
  try {
    const response = await doFetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(options.timeoutMs ?? IDP_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    body = await response.json();
  } catch (error) {
    throw new AppError('unavailable', `cannot reach the identity provider ${issuer} (${url}): ${(error as Error).message}`);
  }
  const parsed = ProviderMetadataSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('unavailable', `the identity provider's discovery document (${url}) is not usable: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  if (parsed.data.issuer !== issuer) throw new AppError('unavailable', `the discovery document at ${url} names issuer ${parsed.data.issuer}, not ${issuer}`);
  return parsed.data;
}
