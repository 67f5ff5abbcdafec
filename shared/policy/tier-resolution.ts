import type { Gate, Policy, Tier } from '../domain/policy';

export interface ResolvedGate {
  gate: Gate;
  tierName: string;
  tier: Tier;
}

/** The gate and its tier, or undefined for a gate the policy does not know. */
export function resolveGate(policy: Policy, gateId: string): ResolvedGate | undefined {
  const gate = policy.gates.find((g) => g.id === gateId);
  if (!gate) return undefined;
  const tier = policy.tiers[gate.tier];
  // PolicySchema guarantees every gate's tier exists; a missing one means an unvalidated policy.
  if (!tier) return undefined;
  return { gate, tierName: gate.tier, tier };
}

/** The team a principal belongs to (PolicySchema allows at most one), or undefined. */
export function teamOf(policy: Policy, principal: string): string | undefined {
  for (const [name, team] of Object.entries(policy.teams)) {
    if (team.members.includes(principal)) return name;
  }
  return undefined;
}

/** The approver groups a principal is a member of. */
export function approverGroupsOf(policy: Policy, principal: string): string[] {
  return Object.entries(policy.approvers)
    .filter(([, members]) => members.includes(principal))
    .map(([group]) => group);
}
