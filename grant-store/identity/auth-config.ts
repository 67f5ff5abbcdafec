import type { Policy } from '../../shared/domain/policy';
import type { AuthConfig } from '../../shared/domain/session';

/**
 * GET /v1/auth/config: what a client needs to sign in (the IdP, the public client id and the
 * scopes to ask for) and which CI issuers and audiences the store takes for workload checks.
 * Nothing secret: the client is a public (PKCE) client, and the audiences are what CI jobs ask
 * their issuer for.
 */
export function authConfig(policy: Policy): AuthConfig {
  const identity = policy.identity;
  return {
    oidc: identity?.oidc ? { issuer: identity.oidc.issuer, clientId: identity.oidc.clientId, scopes: [...identity.oidc.scopes] } : null,
    workloads: (identity?.workloads?.issuers ?? []).map((i) => ({ issuer: i.issuer, audience: i.audience, format: i.format })),
  };
}
