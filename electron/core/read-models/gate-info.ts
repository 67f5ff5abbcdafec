import type { Policy } from '../../../shared/domain/policy';
import type { BypassRequest } from '../../../shared/domain/request';
import type { GateInfo, Settings } from '../../../shared/ipc/contract';
import { resolveGate } from '../../../shared/policy';
import { isCriticalTier } from '../notifier';

/** The gate a request is for, resolved against the store's policy (the request's own fields when there is none). */
export function gateInfo(request: BypassRequest, policy: Policy | undefined, settings: Settings): GateInfo {
  const resolved = policy ? resolveGate(policy, request.gate) : undefined;
  const tierId = resolved?.tierName ?? request.tier;
  return {
    id: request.gate,
    kind: resolved?.gate.kind ?? request.gateKind,
    tier: tierId,
    description: resolved?.gate.description ?? null,
    critical: isCriticalTier(tierId, policy, settings.notificationThreshold.criticalTiers),
    // The request's own count includes the extra approver an over-budget team needs.
    approvalsRequired: Math.max(resolved?.tier.approvals ?? 0, request.approvalsRequired),
    hardwareKeyRequired: resolved?.tier.hardwareKeyRequired ?? false,
    maxTtl: resolved?.tier.maxTtl ?? request.ttl,
  };
}
