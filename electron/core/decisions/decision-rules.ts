import type { EnrolledKey, WhoAmI } from '../../../shared/domain/identity';
import type { Policy } from '../../../shared/domain/policy';
import type { BypassRequest } from '../../../shared/domain/request';
import type { FieldError } from '../../../shared/errors';
import { approvedTtlErrors, canApply, ineligibilityReason, resolveGate, revocationRefusal } from '../../../shared/policy';
import type { Profile } from '../session/profile-store';

/** Whether an action is allowed, and why not in words the approver understands. */
export interface Verdict {
  allowed: boolean;
  reason: string | null;
}

/** What the console knows about the approver when it mirrors the store's rules. */
export interface ApproverView {
  profile: Profile | undefined;
  whoami: WhoAmI | undefined;
  /** The store's record of the profile's key, when enrolled. */
  enrolledKey: EnrolledKey | undefined;
}

const allow: Verdict = { allowed: true, reason: null };
const deny = (reason: string): Verdict => ({ allowed: false, reason });

/**
 * Why `me` may not take part in deciding the request, from the store's list of eligible approvers
 * and, for the words, the policy's own rule (shared/policy): the store enforces it, the console
 * only mirrors it so a button can say why it is off.
 */
function eligibility(request: BypassRequest, approvers: readonly string[], policy: Policy | undefined, me: string): string | undefined {
  if (approvers.includes(me)) return undefined;
  const reason = policy ? ineligibilityReason(policy, request, me) : undefined;
  return reason ?? `you are not an eligible approver for tier ${request.tier} (approver groups or same-team rule)`;
}

/** May I approve? Mirrors separation of duties, state, distinct approvers, hardware tier and enrollment. */
export function canApprove(request: BypassRequest, approvers: readonly string[], policy: Policy | undefined, view: ApproverView): Verdict {
  const me = view.profile?.principal;
  if (!me || !view.profile) return deny('the console is not set up');
  if (request.requester === me) return deny('you filed this request: no self-approval');
  if (!view.whoami?.roles.includes('approver')) return deny('your principal does not have the approver role');
  if (!canApply(request.state, 'approve')) return deny(`the request is ${request.state.replace('_', ' ')}, not pending`);
  if (request.approvals.some((a) => a.approver === me)) return deny('you already approved this request: a second approval must come from someone else');
  const ineligible = eligibility(request, approvers, policy, me);
  if (ineligible) return deny(ineligible);
  const resolved = policy ? resolveGate(policy, request.gate) : undefined;
  const hardwareBacked = view.enrolledKey?.hardwareBacked ?? view.profile.key.hardwareBacked;
  if (resolved?.tier.hardwareKeyRequired && !hardwareBacked) return deny(`tier ${resolved.tierName} requires a hardware-backed key; yours is a software key`);
  if (!view.enrolledKey) return deny('your signing key is not enrolled with the store yet: give the public key to an admin');
  return allow;
}

/**
 * May I deny, ask for context or revoke? Deny and ask follow separation of duties like approve;
 * revoking only reduces access, so any member of the tier's approver groups may (shared/policy).
 */
export function canDecide(request: BypassRequest, approvers: readonly string[], policy: Policy | undefined, view: ApproverView): Verdict {
  const me = view.profile?.principal;
  if (!me) return deny('the console is not set up');
  if (!view.whoami?.roles.includes('approver')) return deny('your principal does not have the approver role');
  if (canApply(request.state, 'revoke')) {
    const refusal = policy ? revocationRefusal(policy, request, me) : undefined;
    return refusal ? deny(refusal) : allow;
  }
  if (request.requester === me) return deny('you filed this request: no decisions on your own request');
  if (!canApply(request.state, 'deny')) return deny(`the request is ${request.state.replace('_', ' ')}`);
  const ineligible = eligibility(request, approvers, policy, me);
  return ineligible ? deny(ineligible) : allow;
}

/** TTLs an approver may grant: the policy's choices up to the one asked (shorter, never longer). */
export function grantableTtls(request: BypassRequest, policy: Policy | undefined): string[] {
  return (policy?.ttlChoices ?? [request.ttl]).filter((ttl) => approvedTtlErrors(request.ttl, ttl).length === 0);
}

/** Field errors for the TTL an approval grants (shared/policy's rule). */
export function grantedTtlErrors(request: BypassRequest, ttl: string | undefined): FieldError[] {
  return ttl === undefined ? [] : approvedTtlErrors(request.ttl, ttl);
}
