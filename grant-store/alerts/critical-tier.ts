import type { Policy, Tier } from '../../shared/domain/policy';

/**
 * A critical tier is one the policy's authors marked as high-impact: it needs two approvers, or
 * it names people to notify (e.g. the CISO). Every request on such a tier is sent out loudly
 * (seed 000: "bypasses against the most sensitive rules automatically notify the CISO").
 */
export function isCriticalTier(tier: Tier): boolean {
  return tier.approvals === 2 || tier.notify.length > 0;
}

/** The tier a request on `gate` falls under in `policy` (undefined for an unknown gate). */
export function tierOfGate(policy: Policy, gate: string | null): { name: string; tier: Tier } | undefined {
  const def = gate === null ? undefined : policy.gates.find((g) => g.id === gate);
  const tier = def ? policy.tiers[def.tier] : undefined;
  return def && tier ? { name: def.tier, tier } : undefined;
}
