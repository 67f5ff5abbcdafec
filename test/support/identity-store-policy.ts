import { stringify } from 'yaml';
import type { OidcProviderHarness } from './oidc-provider';

/** The audience CI jobs ask their issuer for in the identity test policy. */
export const IDENTITY_AUDIENCE = 'https://breakglass.test';

/** A store policy signing people in at `idp` and taking its GitHub/GitLab-shaped CI tokens. */
export function identityStorePolicy(idp: OidcProviderHarness, oidc: { sessionTtl?: string; maxIdTokenAge?: string } = {}): string {
  return stringify({
    version: 1,
    tiers: {
      low: { approvals: 1, approverGroups: ['oncall'], allowSameTeam: true, maxTtl: '24h' },
      high: { approvals: 1, approverGroups: ['leads'], allowSameTeam: false, maxTtl: '4h' },
    },
    gates: [
      { id: 'ci-tests', kind: 'slow', tier: 'low', scopeKeys: ['repo', 'branch'] },
      { id: 'deploy-freeze', kind: 'slow', tier: 'high', scopeKeys: ['repo', 'branch'] },
    ],
    teams: { payments: { members: ['dave'] }, platform: {} },
    approvers: { oncall: ['dave'], leads: [] },
    identity: {
      oidc: {
        issuer: idp.issuer,
        clientId: idp.clientId,
        principalClaim: 'preferred_username',
        sessionTtl: oidc.sessionTtl ?? '1h',
        maxIdTokenAge: oidc.maxIdTokenAge ?? '10m',
        groups: {
          'eng-payments': { team: 'payments' },
          'eng-platform': { team: 'platform' },
          'platform-leads': { approverGroups: ['leads'] },
        },
      },
      workloads: {
        issuers: [
          { id: 'github', issuer: idp.github.issuer, audience: IDENTITY_AUDIENCE, format: 'github-actions' },
          { id: 'gitlab', issuer: idp.gitlab.issuer, audience: IDENTITY_AUDIENCE, format: 'gitlab-ci' },
        ],
        principals: [
          { principal: 'ci-payments', issuer: 'github', claims: { repository: 'acme/payments-*' }, gates: ['ci-tests'] },
          { principal: 'ci-deployer', issuer: 'gitlab', claims: { project_path: 'acme/platform/*' } },
        ],
      },
    },
  });
}
