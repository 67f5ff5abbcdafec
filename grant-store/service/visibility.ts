import type { Policy } from '../../shared/domain/policy';
import type { BypassRequest } from '../../shared/domain/request';
import { resolveGate } from '../../shared/policy/tier-resolution';
import type { Caller } from './service-deps';

/**
 * Who may see a request (HTTP reads and the event stream): admins and auditors see
 * everything; approvers see requests of tiers whose approver groups they are in, plus their
 * own; requesters see their own.
 */
export function canSeeRequest(policy: Policy, caller: Caller, request: Pick<BypassRequest, 'requester' | 'gate'>): boolean {
  if (caller.roles.includes('admin') || caller.roles.includes('auditor')) return true;
  if (request.requester === caller.principal) return true;
  if (caller.roles.includes('approver')) {
    const resolved = resolveGate(policy, request.gate);
    if (!resolved) return true; // gate left the policy: approvers keep seeing history
    return resolved.tier.approverGroups.some((group) => policy.approvers[group]?.includes(caller.principal));
  }
  return false;
}
