import { PolicySchema, type Policy } from '../../../../shared/domain/policy';

/** A valid policy with an identity section (OIDC sign-in and GitHub/GitLab workloads); override parts per test. */
export function identityPolicyInput(identity: Record<string, unknown> = defaultIdentity()): Record<string, unknown> {
  return {
    version: 1,
    tiers: {
      low: { approvals: 1, approverGroups: ['oncall'], allowSameTeam: true, maxTtl: '24h' },
      high: { approvals: 1, approverGroups: ['leads'], allowSameTeam: false, maxTtl: '4h' },
    },
    gates: [
      { id: 'ci-tests', kind: 'slow', tier: 'low' },
      { id: 'deploy-freeze', kind: 'slow', tier: 'high' },
    ],
    teams: { payments: { members: ['alice'] }, platform: {} },
    approvers: { oncall: ['bob'], leads: [] },
    identity,
  };
}

export function defaultIdentity(): Record<string, unknown> {
  return {
    oidc: {
      issuer: 'https://login.example.com/oauth2/default',
      clientId: 'breakglass-cli',
      groups: {
        'eng-payments': { team: 'payments' },
        'eng-platform': { team: 'platform' },
        'platform-leads': { approverGroups: ['leads'] },
        auditors: { roles: ['auditor'] },
      },
    },
    workloads: {
      issuers: [
        { id: 'github', issuer: 'https://token.actions.githubusercontent.com', audience: 'https://breakglass.example.com', format: 'github-actions' },
        { id: 'gitlab', issuer: 'https://gitlab.example.com', audience: 'https://breakglass.example.com', format: 'gitlab-ci', subject: { environment: null } },
      ],
      principals: [
        { principal: 'ci-payments', issuer: 'github', claims: { repository: 'acme/payments-*' }, gates: ['ci-tests'], subjectKeys: ['image'] },
        { principal: 'ci-gitlab', issuer: 'gitlab', claims: { namespace_path: 'acme/**', ref_protected: 'true' } },
      ],
    },
  };
}

export function identityPolicy(identity?: Record<string, unknown>): Policy {
  return PolicySchema.parse(identityPolicyInput(identity));
}
