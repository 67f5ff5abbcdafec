import type { Severity } from '../../shared/domain/common';
import type { BypassRequest } from '../../shared/domain/request';
import type { Policy } from '../../shared/domain/policy';
import type { InboxItem, Settings } from '../../shared/ipc/contract';
import type { Review } from '../../shared/domain/review';
import { decisionSla } from '../../shared/policy/sla';

/** "A bypass I approved expires soon": this long before its end. */
export const EXPIRY_WARNING_MS = 10 * 60_000;

/** A native notification to show (Electron Notification, or an event in tests / the browser host). */
export interface ConsoleNotification {
  /**
   * request: a new request to decide; sla_soon / sla_overdue: its decision SLA is running out / ran
   * out; reply: the requester answered my question; expiring: a bypass I approved ends within 10
   * minutes; review: the store assigned me a review (Review.assignedTo); session: the session state turned bad
   * (token rejected, log halted, offline); emergency: a bypass opened (or refused) with a sealed
   * emergency credential, told to every approver.
   */
  kind: 'request' | 'sla_soon' | 'sla_overdue' | 'reply' | 'expiring' | 'review' | 'session' | 'emergency';
  /** The request a click opens; null for session notifications (a click opens the console). */
  requestId: string | null;
  severity: Severity;
  title: string;
  body: string;
}

export type NotifyDecision =
  | { notify: true; notification: ConsoleNotification }
  | { notify: false; why: 'already_notified' | 'own_request' | 'not_pending' | 'below_threshold' | 'paused' };

/** What the follow-up rules look at besides new requests: bypasses now active, reviews now open. */
export interface WorkState {
  inbox: readonly InboxItem[];
  active: readonly BypassRequest[];
  reviews: readonly Review[];
}

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

/** sev1 first: "‼ SEV1 …" in titles of follow-ups about a sev1 request. */
const sevLabel = (severity: Severity) => `${severity === 'sev1' ? '‼ ' : ''}${severity.toUpperCase()}`;

/**
 * The notification rules, pure apart from the set of keys already notified:
 * - every new (pending) request at or above the threshold: a listed severity or a critical tier;
 * - follow-ups, once each: its decision SLA running out (the last third) and overdue (at or above
 *   the threshold), the requester's reply to my question, a bypass I approved ending within 10
 *   minutes, a review the store assigned to me;
 * - never twice for the same key; never for the approver's own requests;
 * - while paused, only sev1 gets through, and what was muted is not replayed after the pause.
 */
export class NotifierRules {
  private readonly notified: Set<string>;

  constructor(notified: Iterable<string> = []) {
    this.notified = new Set(notified);
  }

  get notifiedIds(): string[] {
    return [...this.notified];
  }

  /** The follow-ups due now for `state`, each at most once (see followUps / admitFollowUps). */
  followUps(state: WorkState, context: { me: string; settings: Settings; policy: Policy | undefined; now: Date }): ConsoleNotification[] {
    return admitFollowUps(followUps(state, context.me, context.policy, context.settings, context.now), this.notified, context.settings, context.now);
  }

  decide(request: BypassRequest, context: { me: string; settings: Settings; policy: Policy | undefined; now: Date }): NotifyDecision {
    if (this.notified.has(request.id)) return { notify: false, why: 'already_notified' };
    if (request.requester === context.me) return { notify: false, why: 'own_request' };
    if (request.state !== 'pending') return { notify: false, why: 'not_pending' };
    const { severities, criticalTiers } = context.settings.notificationThreshold;
    const critical = isCriticalTier(request.tier, context.policy, criticalTiers);
    if (!critical && !severities.includes(request.severity)) return { notify: false, why: 'below_threshold' };
    this.notified.add(request.id);
    // Muted, and marked as handled: a pause is "mute except sev1", never a backlog fired later.
    if (paused(context.settings, context.now) && request.severity !== 'sev1') return { notify: false, why: 'paused' };
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

function paused(settings: Settings, now: Date): boolean {
  return settings.pauseUntil !== null && Date.parse(settings.pauseUntil) > now.getTime();
}

function atThreshold(request: BypassRequest, settings: Settings, policy: Policy | undefined): boolean {
  const { severities, criticalTiers } = settings.notificationThreshold;
  return severities.includes(request.severity) || isCriticalTier(request.tier, policy, criticalTiers);
}

function minutes(ms: number): string {
  const m = Math.max(1, Math.round(ms / 60_000));
  return m < 120 ? `${m} min` : `${Math.round(m / 60)} h`;
}

/** The follow-up notifications (SLA, reply, expiring, review), each keyed so it fires once. */
export function followUps(state: WorkState, me: string, policy: Policy | undefined, settings: Settings, now: Date): { key: string; notification: ConsoleNotification }[] {
  const out: { key: string; notification: ConsoleNotification }[] = [];
  const nowMs = now.getTime();
  for (const { request } of state.inbox) {
    if (request.requester === me) continue;
    if (request.state === 'pending' && atThreshold(request, settings, policy)) {
      const sla = decisionSla(request, nowMs);
      if (sla.overdue) {
        out.push({
          key: `sla-overdue:${request.id}`,
          notification: { kind: 'sla_overdue', requestId: request.id, severity: request.severity, title: `${sevLabel(request.severity)} decision overdue: ${request.gate}`, body: `${request.requester}'s request (${formatScope(request.scope)}) was due at ${new Date(sla.dueAt).toISOString()} and is still waiting.` },
        });
      } else if (sla.level === 'amber') {
        out.push({
          key: `sla-soon:${request.id}`,
          notification: { kind: 'sla_soon', requestId: request.id, severity: request.severity, title: `${sevLabel(request.severity)} decision due in ${minutes(sla.remainingMs)}: ${request.gate}`, body: `${request.requester} (${request.team}) is waiting on ${formatScope(request.scope)}.` },
        });
      }
    }
    // The requester answered a question I asked: the newest reply after my newest question.
    const myQuestion = [...request.messages].reverse().find((m) => m.kind === 'question' && m.from === me);
    const reply = myQuestion ? [...request.messages].reverse().find((m) => m.kind === 'reply' && m.at > myQuestion.at) : undefined;
    if (reply) {
      out.push({
        key: `reply:${request.id}:${reply.at}`,
        notification: { kind: 'reply', requestId: request.id, severity: request.severity, title: `${reply.from} answered your question: ${request.gate}`, body: reply.text.length > 200 ? `${reply.text.slice(0, 199)}…` : reply.text },
      });
    }
  }
  for (const request of state.active) {
    if (!request.expiresAt || !request.approvals.some((a) => a.approver === me)) continue;
    const left = Date.parse(request.expiresAt) - nowMs;
    if (left > 0 && left <= EXPIRY_WARNING_MS) {
      out.push({
        key: `expiring:${request.id}`,
        notification: { kind: 'expiring', requestId: request.id, severity: request.severity, title: `Bypass you approved ends in ${minutes(left)}: ${request.gate}`, body: `${formatScope(request.scope)} blocks again at ${request.expiresAt}. An extension is a new request, approved like any other.` },
      });
    }
  }
  for (const review of state.reviews) {
    if (review.state !== 'review_open' || review.requester === me || !review.assignedTo?.includes(me)) continue;
    out.push({
      key: `review:${review.id}`,
      notification: { kind: 'review', requestId: review.requestId, severity: 'sev3', title: `Review assigned to you: ${review.gate}`, body: `${review.requester}'s bypass ended; its review (${review.id}) is assigned to you for a sign-off.` },
    });
  }
  return out;
}

/** Let the follow-ups through once each, muted (and not replayed) while paused unless about a sev1 request. */
export function admitFollowUps(candidates: ReturnType<typeof followUps>, notified: Set<string>, settings: Settings, now: Date): ConsoleNotification[] {
  const fire: ConsoleNotification[] = [];
  for (const { key, notification } of candidates) {
    if (notified.has(key)) continue;
    notified.add(key);
    if (paused(settings, now) && notification.severity !== 'sev1') continue;
    fire.push(notification);
  }
  return fire;
}
