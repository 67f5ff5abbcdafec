import { PolicySchema, type Policy } from '../../../../shared/domain/policy';

/** A small valid policy for rule tests; override parts per test. */
export function testPolicy(overrides: Record<string, unknown> = {}): Policy {
  return PolicySchema.parse({
    version: 1,
    ttlChoices: ['15m', '1h', '4h', '24h', '7d'],
    tiers: {
      low: { approvals: 1, approverGroups: ['oncall'], allowSameTeam: true, maxTtl: '24h' },
      high: { approvals: 1, approverGroups: ['leads'], allowSameTeam: false, maxTtl: '4h' },
      critical: { approvals: 2, approverGroups: ['leads'], allowSameTeam: false, maxTtl: '1h', hardwareKeyRequired: true, attestationRequired: true, notify: ['ciso'] },
    },
    gates: [
      { id: 'ci-tests', kind: 'slow', tier: 'low' },
      { id: 'deploy-freeze', kind: 'slow', tier: 'high' },
      { id: 'container-signing', kind: 'safety', tier: 'critical' },
    ],
    teams: {
      payments: { members: ['alice', 'dave'], bypassBudget: 3 },
      platform: { members: ['bob', 'erin'] },
      security: { members: ['carol'] },
    },
    approvers: { oncall: ['bob', 'dave', 'alice'], leads: ['bob', 'carol', 'dave', 'erin'] },
    standingScopes: [
      {
        id: 'release-perf',
        gate: 'ci-tests',
        team: 'payments',
        scope: { repo: 'payments-api', branch: 'release' },
        maxTtl: '7d',
        approvedBy: ['bob'],
        validUntil: '2027-12-31',
        reason: 'nightly release runs',
      },
    ],
    ...overrides,
  });
}
