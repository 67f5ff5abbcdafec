import type { Policy } from '../domain/policy';
import { AppError } from '../errors';
import { resolveGate, teamOf } from './tier-resolution';

/** What the rules need to know about the request being decided. */
export interface DecisionSubject {
  requester: string;
  team: string;
  gate: string;
}

/** What the rules need to know about the approver and the decision. */
export interface ApproverContext {
  approver: string;
  /** Whether the key that signed is enrolled as hardware-backed (claimed or attested). */
  hardwareBacked: boolean;
  /** Whether the store verified the key's hardware origin (an attestation chaining to a policy root). */
  attested?: boolean;
  /** Principals who already approved this request. */
  priorApprovers: readonly string[];
}

/**
 * Why `approver` may not decide on the request, or undefined when they may. Rules (enforced by
 * the store; the console only mirrors them): member of one of the tier's approver groups; never
 * the requester; not on the requester's team when the tier sets allowSameTeam: false.
 */
export function ineligibilityReason(policy: Policy, request: DecisionSubject, approver: string): string | undefined {
  const resolved = resolveGate(policy, request.gate);
  if (!resolved) return `gate ${request.gate} is no longer in the policy`;
  if (approver === request.requester) return 'a requester can never decide on their own request';
  const groups = resolved.tier.approverGroups;
  if (!groups.some((group) => policy.approvers[group]?.includes(approver))) {
    return `${approver} is not in an approver group of tier ${resolved.tierName} (${groups.join(', ')})`;
  }
  if (!resolved.tier.allowSameTeam && teamOf(policy, approver) === request.team) {
    return `tier ${resolved.tierName} does not allow an approver from the requester's team (${request.team})`;
  }
  return undefined;
}

/** Everyone who may decide on the request under the policy, sorted. */
export function eligibleApprovers(policy: Policy, request: DecisionSubject): string[] {
  const resolved = resolveGate(policy, request.gate);
  if (!resolved) return [];
  const candidates = new Set(resolved.tier.approverGroups.flatMap((group) => policy.approvers[group] ?? []));
  return [...candidates].filter((name) => ineligibilityReason(policy, request, name) === undefined).sort();
}

/** Throw AppError('forbidden') unless `approver` may decide on the request at all. */
export function assertMayDecide(policy: Policy, request: DecisionSubject, approver: string): void {
  const reason = ineligibilityReason(policy, request, approver);
  if (reason) throw new AppError('forbidden', reason);
}

/**
 * Throw AppError('forbidden'/'conflict') unless this approval counts: eligible approver, a
 * hardware-backed key when the tier requires one, and not a second approval by the same person
 * (a two-approval tier needs two distinct approvers).
 */
export function assertMayApprove(policy: Policy, request: DecisionSubject, ctx: ApproverContext): void {
  assertMayDecide(policy, request, ctx.approver);
  const resolved = resolveGate(policy, request.gate);
  if (resolved?.tier.attestationRequired && !ctx.attested) {
    throw new AppError('forbidden', `tier ${resolved.tierName} requires an attested hardware key; this key is ${ctx.hardwareBacked ? 'hardware-backed by claim only (enrolled with --hardware, no attestation)' : 'enrolled as software'}`);
  }
  if (resolved?.tier.hardwareKeyRequired && !ctx.hardwareBacked) {
    throw new AppError('forbidden', `tier ${resolved.tierName} requires a hardware-backed key; this key is enrolled as software`);
  }
  if (ctx.priorApprovers.includes(ctx.approver)) {
    throw new AppError('conflict', `${ctx.approver} has already approved this request; approvals must come from distinct approvers`);
  }
}

/**
 * Why `principal` may not revoke the request's bypass, or undefined when they may. Revoking only
 * reduces access, so any member of the tier's approver groups may do it, teammates included.
 */
export function revocationRefusal(policy: Policy, request: DecisionSubject & { tier: string }, principal: string): string | undefined {
  const groups = resolveGate(policy, request.gate)?.tier.approverGroups ?? [];
  if (!groups.some((group) => policy.approvers[group]?.includes(principal))) {
    return `${principal} is not in an approver group of tier ${request.tier} and cannot revoke this bypass`;
  }
  return undefined;
}

/** Throw AppError('forbidden') unless `principal` may revoke the request's bypass. */
export function assertMayRevoke(policy: Policy, request: DecisionSubject & { tier: string }, principal: string): void {
  const reason = revocationRefusal(policy, request, principal);
  if (reason) throw new AppError('forbidden', reason);
}
