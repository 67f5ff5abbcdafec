import type { Severity } from '../../shared/domain/common';
import type { BypassRequest } from '../../shared/domain/request';
import type { Policy } from '../../shared/domain/policy';
import type { Settings } from '../../shared/ipc/contract';

/** A native notification to show (Electron Notification, or an event in tests / the browser host). */
export interface ConsoleNotification {
  /** request: a new request to decide; session: the session state turned bad (token rejected, log halted, offline). */
  kind: 'request' | 'session';
  /** The request a click opens; null for session notifications (a click opens the console). */
  requestId: string | null;
  severity: Severity;
  title: string;
  body: string;
}

export type NotifyDecision =
  | { notify: true; notification: ConsoleNotification }
  | { notify: false; why: 'already_notified' | 'own_request' | 'not_pending' | 'below_threshold' | 'paused' };

/**
 * Whether a tier counts as critical: listed in the approver's settings or, when the settings leave
 * it to the policy (null), named `critical` or strict enough (two approvals or a hardware key).
 */
export function isCriticalTier(tierId: string, policy: Policy | undefined, criticalTiers: string[] | null): boolean {
  if (criticalTiers !== null) return criticalTiers.includes(tierId);
  if (tierId === 'critical') return true;
  const tier = policy?.tiers[tierId];
  return tier !== undefined && (tier.approvals === 2 || tier.hardwareKeyRequired);
}

function formatScope(scope: Record<string, string>): string {
  return Object.entries(scope)
    .map(([key, value]) => `${key}=${value}`)
    .join(', ');
}

/**
 * The notification rules, pure apart from the set of requests already notified:
 * - every new (pending) request at or above the threshold: a listed severity or a critical tier;
 * - never twice for the same request; never for the approver's own requests;
 * - while paused, only sev1 gets through.
 */
export class NotifierRules {
  private readonly notified: Set<string>;

  constructor(notified: Iterable<string> = []) {
    this.notified = new Set(notified);
  }

  get notifiedIds(): string[] {
    return [...this.notified];
  }

  decide(request: BypassRequest, context: { me: string; settings: Settings; policy: Policy | undefined; now: Date }): NotifyDecision {
    if (this.notified.has(request.id)) return { notify: false, why: 'already_notified' };
    if (request.requester === context.me) return { notify: false, why: 'own_request' };
    if (request.state !== 'pending') return { notify: false, why: 'not_pending' };
    const { severities, criticalTiers } = context.settings.notificationThreshold;
    const critical = isCriticalTier(request.tier, context.policy, criticalTiers);
    if (!critical && !severities.includes(request.severity)) return { notify: false, why: 'below_threshold' };
    const pauseUntil = context.settings.pauseUntil;
    if (pauseUntil !== null && Date.parse(pauseUntil) > context.now.getTime() && request.severity !== 'sev1') return { notify: false, why: 'paused' };
    this.notified.add(request.id);
    const safety = request.gateKind === 'safety' ? ' (SAFETY gate)' : '';
    return {
      notify: true,
      notification: {
        kind: 'request',
        requestId: request.id,
        severity: request.severity,
        title: `${request.severity.toUpperCase()} bypass request: ${request.gate}${safety}`,
        body: `${request.requester} (${request.team}) asks to bypass ${request.gate} on ${formatScope(request.scope)} for ${request.ttl}${request.incidentRef ? `, incident ${request.incidentRef}` : ''}.`,
      },
    };
  }
}
