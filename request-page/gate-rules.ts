import { INCIDENT_REQUIRED_SEVERITIES, MIN_REASON_LENGTH } from '../shared/domain/common';
import type { Policy } from '../shared/domain/policy';
import { ttlToMs, type Ttl } from '../shared/domain/ttl';
import type { ResolvedGate } from '../shared/policy/tier-resolution';

/** The TTLs a requester may pick for this gate: the policy's list, only up to the tier's maximum. */
export function ttlChoicesFor(policy: Policy, resolved: ResolvedGate): Ttl[] {
  const max = ttlToMs(resolved.tier.maxTtl);
  return policy.ttlChoices.filter((t) => ttlToMs(t) <= max);
}

/** The rules the store will apply to this request, in words, shown before submitting. */
export function gateRules(policy: Policy, resolved: ResolvedGate, team: string | null): string[] {
  const tier = resolved.tier;
  const groups = tier.approverGroups.join(', ');
  const rules = [
    tier.approvals === 1 ? `One approval from ${groups}.` : `${tier.approvals} approvals from distinct approvers in ${groups}.`,
    tier.allowSameTeam ? 'Approvers may be on your own team; never you.' : `Approvers must not be on your team${team ? ` (${team})` : ''}, and never you.`,
    `At most ${tier.maxTtl}; the bypass starts when the last approval arrives and ends on its own.`,
    `The reason needs at least ${MIN_REASON_LENGTH} characters: what is broken and why the gate must be bypassed.`,
    `An incident reference is required for ${INCIDENT_REQUIRED_SEVERITIES.join(' and ')}.`,
  ];
  if (tier.attestationRequired) rules.push('Only approvers with an attested hardware key can approve.');
  else if (tier.hardwareKeyRequired) rules.push('Only approvers with a hardware-backed key can approve.');
  if (tier.overBudgetExtraApprovers > 0) rules.push(`${tier.overBudgetExtraApprovers} more approval${tier.overBudgetExtraApprovers === 1 ? '' : 's'} when your team is over its quarterly bypass budget.`);
  if (resolved.gate.kind === 'safety') rules.push('This is a safety gate (signing, secrets or provenance): every use under the bypass is recorded and reviewed.');
  const budget = team ? policy.teams[team]?.bypassBudget : undefined;
  if (budget) rules.push(`Your team's budget is ${budget} bypasses a quarter.`);
  rules.push('Every step is recorded in the ledger; a review follows when the bypass ends.');
  return rules;
}
