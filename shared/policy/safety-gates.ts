import type { Tier } from '../domain/policy';
import type { ResolvedGate } from './tier-resolution';

/**
 * Safety gates are kept. The seeds' rule: an emergency path skips the slow gates and keeps the
 * safety ones (signing, secret scanning, provenance). So a `safety` gate that can be bypassed at
 * all sits on a tier that needs two distinct approvers, none from the requester's team, each
 * signing with an attested hardware key, and tells a named list about every request. Policy load
 * refuses anything weaker (policy-requirements.ts); the block message and the console say it.
 */

/**
 * The one relaxation there is, for `npm start` on a machine that cannot produce attested keys:
 * the demo (never `serve`, never a policy file) may load a safety gate whose tier takes keys
 * without attestation. Every other property of the rule still holds.
 */
export interface SafetyGateRelaxation {
  attestation?: boolean;
}

/** What a tier lacks to guard a safety gate, each as the property to set (empty: strong enough). */
export function safetyGateGaps(tier: Tier, relax: SafetyGateRelaxation = {}): string[] {
  const gaps: string[] = [];
  if (tier.approvals < 2) gaps.push(`approvals: 2 (two distinct approvers; the tier has ${tier.approvals})`);
  if (tier.allowSameTeam) gaps.push("allowSameTeam: false (no approver from the requester's team)");
  if (!tier.attestationRequired && !relax.attestation) gaps.push('attestationRequired: true (attested hardware keys only)');
  if (tier.notify.length === 0) gaps.push('notify: [...] (a named list told about every request)');
  return gaps;
}

/**
 * What a bypass of this gate needs, in words, for block messages and the console: the kind of
 * gate, its tier, approvals, who may give them, which keys, who is told and the longest window.
 * `SAFETY gate, tier critical: a bypass needs 2 distinct approvals from outside the requester's
 * team, signed with attested hardware keys, notifies ciso, at most 1h`.
 */
export function bypassRuleText(resolved: ResolvedGate): string {
  const { tier } = resolved;
  const approvals = tier.approvals === 1 ? '1 approval' : `${tier.approvals} distinct approvals`;
  const who = tier.allowSameTeam ? '' : " from outside the requester's team";
  const keys = tier.attestationRequired ? ', signed with attested hardware keys' : tier.hardwareKeyRequired ? ', signed with hardware-backed keys' : '';
  const extra = tier.overBudgetExtraApprovers > 0 ? ` (${tier.overBudgetExtraApprovers} more when the requester's team is over its quarterly budget)` : '';
  const notify = tier.notify.length > 0 ? `, notifies ${tier.notify.join(', ')}` : '';
  const kind = resolved.gate.kind === 'safety' ? 'SAFETY gate' : `${resolved.gate.kind} gate`;
  return `${kind}, tier ${resolved.tierName}: a bypass needs ${approvals}${who}${extra}${keys}${notify}, at most ${tier.maxTtl}`;
}
