import type { Policy } from '../domain/policy';
import type { SealInput } from '../domain/emergency';
import type { FieldError } from '../errors';
import { ttlToMs } from '../domain/ttl';
import { isBypassNever } from './policy-requirements';
import { scopeErrors } from './scope-rules';
import { resolveGate, teamOf } from './tier-resolution';

/**
 * The emergency path's policy rules, once: what may be sealed, for how long a use opens the
 * gate, and who is paged when it is used.
 */

/** Why this seal is refused (empty = it may be sealed). */
export function sealErrors(policy: Policy, input: SealInput): FieldError[] {
  const errors: FieldError[] = [];
  const resolved = resolveGate(policy, input.gate);
  if (!resolved) errors.push({ path: 'gate', message: `unknown gate "${input.gate}" (gates: ${policy.gates.map((g) => g.id).join(', ')})` });
  else if (isBypassNever(resolved.gate)) errors.push({ path: 'gate', message: `gate ${input.gate} is marked bypass: never: a kept safety gate cannot be sealed for emergencies either` });
  else errors.push(...scopeErrors(resolved.gate, input.scope));
  const seen = new Set<string>();
  input.holders.forEach((holder, i) => {
    if (seen.has(holder)) errors.push({ path: `holders.${i}`, message: `${holder} is listed twice` });
    seen.add(holder);
    if (!teamOf(policy, holder)) errors.push({ path: `holders.${i}`, message: `${holder} is not a member of any team in the policy: a use is reviewed against the user's team, so holders must have one` });
  });
  return errors;
}

/** The TTL a use opens: the shortest of the policy's TTL choices within the gate's tier maximum. */
export function emergencyTtl(policy: Policy, gateId: string): string | undefined {
  const resolved = resolveGate(policy, gateId);
  if (!resolved) return undefined;
  const max = ttlToMs(resolved.tier.maxTtl);
  return [...policy.ttlChoices].filter((t) => ttlToMs(t) <= max).sort((a, b) => ttlToMs(a) - ttlToMs(b))[0];
}

/**
 * Everyone told at once of an emergency use: every tier's notify list, the emergency section's
 * notify list and every approver (every member of an approver group), without duplicates.
 */
export function emergencyAudience(policy: Policy): string[] {
  const people = new Set<string>(policy.emergency.notify);
  for (const tier of Object.values(policy.tiers)) for (const p of tier.notify) people.add(p);
  for (const members of Object.values(policy.approvers)) for (const p of members) people.add(p);
  return [...people].sort();
}

/** Whether `reviewer` may sign off an emergency use by someone of `userTeam`: not the user, not their team. */
export function emergencySignoffRefusal(policy: Policy, review: { requester: string; team: string }, reviewer: string): string | undefined {
  if (reviewer === review.requester) return 'the user of an emergency credential cannot review their own use';
  const team = teamOf(policy, reviewer);
  if (team !== undefined && team === review.team) return `${reviewer} is on team ${team}, the user's team: an emergency use is reviewed from outside it`;
  return undefined;
}
