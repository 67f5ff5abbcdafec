import type { LedgerEntry } from '../../shared/domain/ledger-entry';
import type { Policy, Webhook } from '../../shared/domain/policy';
import type { Finding } from '../../shared/domain/reports';
import type { BypassRequest, RequestBudget } from '../../shared/domain/request';
import type { Scope } from '../../shared/domain/common';
import { formatScope } from '../../shared/policy/scope-match';
import { isCriticalTier, tierOfGate } from './critical-tier';

/** Events a webhook subscribes to, plus the critical ones every webhook receives whatever it lists. */
export type AlertEventKind = Webhook['events'][number] | CriticalAlertKind;

/**
 * Critical alerts go to every webhook at once, whatever its `events` list: an emergency
 * credential was used (a bypass with no approver) or a burned, retired, unknown or someone
 * else's credential was presented; the ledger halted on a tamper alarm (grant-store/ledger/ledger-guard.ts);
 * the log's checkpoints went unwitnessed past the policy's grace period (grant-store/ledger/checkpoint-witnesses.ts).
 */
export const CRITICAL_ALERT_KINDS = ['emergency_used', 'emergency_refused', 'ledger_halted', 'witness_quorum_overdue'] as const;
export type CriticalAlertKind = (typeof CRITICAL_ALERT_KINDS)[number];

export function isCriticalAlert(kind: AlertEventKind): kind is CriticalAlertKind {
  return (CRITICAL_ALERT_KINDS as readonly string[]).includes(kind);
}

/** Something to send out loudly, independent of the webhook format. */
export interface AlertEvent {
  event: AlertEventKind;
  /** Dedupe key: one event per (kind, ledger seq) or per finding id, never sent twice. */
  key: string;
  /** What it is about: a request id or a finding id (the ledger target of the delivery record). */
  subject: string;
  gate: string | null;
  occurredAt: string;
  title: string;
  text: string;
  /** Structured facts for the JSON format and the Slack fields. */
  data: Record<string, unknown>;
}

function requestFacts(entry: LedgerEntry, request: BypassRequest | undefined): Record<string, unknown> {
  return {
    requestId: entry.target,
    seq: entry.seq,
    gate: entry.gate,
    requester: request?.requester ?? null,
    team: request?.team ?? null,
    scope: request?.scope ?? null,
    severity: request?.severity ?? null,
    reason: entry.reason,
    incidentRef: entry.incidentRef,
    approvers: entry.approver,
    expiresAt: entry.expiresAt,
    actor: entry.actor,
  };
}

/**
 * The alert events one ledger entry raises: every activation, every request on a critical tier,
 * every decision (so the requester hears of it). `request` is the entry's request as it is now
 * (for the requester, team and scope), when the entry belongs to one.
 */
/**
 * The ledger entry types alertEventsForEntry can turn into an alert (the cases of its switch);
 * every other type yields none, so the dispatcher reads no request for them (a warn's
 * evaluation_under_bypass, the bulk of the ledger under CI traffic, costs it nothing).
 */
export const ALERTING_ENTRY_TYPES: ReadonlySet<LedgerEntry['type']> = new Set(['bypass_activated', 'request_created', 'decision', 'emergency_used', 'emergency_refused', 'digest_sent']);

export function alertEventsForEntry(entry: LedgerEntry, policy: Policy, request: BypassRequest | undefined): AlertEvent[] {
  const facts = requestFacts(entry, request);
  const who = request ? `${request.requester} (${request.team})` : 'someone';
  const incident = entry.incidentRef ? ` for ${entry.incidentRef}` : '';
  switch (entry.type) {
    case 'bypass_activated':
      return [
        {
          event: 'bypass_activated',
          key: `bypass_activated:${entry.seq}`,
          subject: entry.target,
          gate: entry.gate,
          occurredAt: entry.time,
          title: `BREAK-GLASS: gate ${entry.gate} bypassed`,
          text: `Gate ${entry.gate} is bypassed for ${who}${incident} until ${entry.expiresAt ?? '?'}, approved by ${entry.approver ?? (entry.data['standingScope'] ? `standing scope ${String(entry.data['standingScope'])}` : 'nobody')}. Reason: ${entry.reason ?? ''}`,
          data: { ...facts, bypassId: entry.data['bypassId'] ?? null, ttl: entry.data['ttl'] ?? null },
        },
      ];
    case 'request_created': {
      const tier = tierOfGate(policy, entry.gate);
      if (!tier || !isCriticalTier(tier.tier)) return [];
      return [
        {
          event: 'critical_request',
          key: `critical_request:${entry.seq}`,
          subject: entry.target,
          gate: entry.gate,
          occurredAt: entry.time,
          title: `Critical bypass request on gate ${entry.gate}`,
          text: `${who} asks to bypass gate ${entry.gate} (tier ${tier.name}: ${tier.tier.approvals} approval(s))${incident}. Reason: ${entry.reason ?? ''}`,
          data: { ...facts, tier: tier.name, approvalsRequired: tier.tier.approvals, notify: tier.tier.notify },
        },
      ];
    }
    case 'decision': {
      const decision = String(entry.data['decision'] ?? 'decision');
      return [
        {
          event: 'decision',
          key: `decision:${entry.seq}`,
          subject: entry.target,
          gate: entry.gate,
          occurredAt: entry.time,
          title: `${entry.actor} decided ${decision} on ${entry.target}`,
          text: `${entry.actor} decided ${decision} on the request by ${who} to bypass gate ${entry.gate}. Comment: ${String(entry.data['comment'] ?? '')}`,
          data: { ...facts, decision, comment: entry.data['comment'] ?? null },
        },
      ];
    }
    case 'emergency_used': {
      const d = entry.data;
      return [
        {
          event: 'emergency_used',
          key: `emergency_used:${entry.seq}`,
          subject: entry.target,
          gate: entry.gate,
          occurredAt: entry.time,
          title: `CRITICAL: emergency credential used on gate ${entry.gate}: no approver`,
          text: `${who} opened gate ${entry.gate} on ${formatScope((request?.scope ?? {}) as Scope)} with sealed emergency credential ${String(d['credentialId'])}${incident}, with no approver, until ${request?.expiresAt ?? '?'}. The credential is burned; a review needing ${String(d['reviewSignoffs'] ?? 2)} sign-offs from outside team ${String(d['team'] ?? '?')} is open. Reason: ${entry.reason ?? ''}`,
          data: { ...facts, credentialId: d['credentialId'] ?? null, ttl: d['ttl'] ?? null, reviewSignoffs: d['reviewSignoffs'] ?? null, paged: d['paged'] ?? [] },
        },
      ];
    }
    case 'emergency_refused': {
      const d = entry.data;
      return [
        {
          event: 'emergency_refused',
          key: `emergency_refused:${entry.seq}`,
          subject: entry.target,
          gate: entry.gate,
          occurredAt: entry.time,
          title: `CRITICAL: refused emergency credential use by ${entry.actor} (${String(d['why'])})`,
          text: `${entry.actor} presented ${d['credentialId'] ? `emergency credential ${String(d['credentialId'])}` : 'an emergency credential the store does not know'}: ${String(d['message'] ?? d['why'])}`,
          data: { actor: entry.actor, seq: entry.seq, why: d['why'] ?? null, credentialId: d['credentialId'] ?? null, state: d['state'] ?? null, incidentRef: entry.incidentRef, reason: entry.reason },
        },
      ];
    }
    case 'digest_sent': {
      const d = entry.data;
      return [
        {
          event: 'weekly_digest',
          key: `weekly_digest:${entry.seq}`,
          subject: String(d['week'] ?? entry.target),
          gate: null,
          occurredAt: entry.time,
          title: String(d['subject'] ?? `Breakglass weekly digest ${String(d['week'])}`),
          text: String(d['summary'] ?? ''),
          data: { week: d['week'] ?? null, from: d['from'] ?? null, to: d['to'] ?? null, timeZone: d['timeZone'] ?? null, figures: d['figures'] ?? null, link: d['link'] ?? null },
        },
      ];
    }
    default:
      return [];
  }
}

/**
 * The over_budget alert: `request`'s activation took its team past the quarterly budget. Its
 * key names the team and quarter, and the dispatcher claims that key durably, so it goes out
 * once per team and quarter.
 */
export function overBudgetEvent(entry: LedgerEntry, request: BypassRequest, standing: RequestBudget): AlertEvent {
  return {
    event: 'over_budget',
    key: overBudgetKey(request.team, standing.quarter),
    subject: request.id,
    gate: entry.gate,
    occurredAt: entry.time,
    title: `Team ${request.team} is over its bypass budget for ${standing.quarter}`,
    text: `Team ${request.team} has used ${standing.used} bypasses in ${standing.quarter}, over its budget of ${standing.budget}; the latest is ${request.id} on gate ${entry.gate}. Its next requests show this to approvers, and tiers with overBudgetExtraApprovers need more approvals. A review of why the team needs so many is due (breakglass report teams).`,
    data: { team: request.team, quarter: standing.quarter, used: standing.used, budget: standing.budget, requestId: request.id, gate: entry.gate, seq: entry.seq },
  };
}

/** One over_budget alert per team and quarter: the key the dispatcher claims. */
export function overBudgetKey(team: string, quarter: string): string {
  return `over_budget:${team}:${quarter}`;
}

/** The alert event for a deviance finding: it says "fix the gate" and carries the evidence. */
export function alertEventForFinding(finding: Finding, now: string): AlertEvent {
  return {
    event: 'deviance_finding',
    key: `deviance_finding:${finding.id}`,
    subject: finding.id,
    gate: finding.gate,
    occurredAt: now,
    title: `Fix the gate: ${finding.title}`,
    text: finding.message,
    data: { findingId: finding.id, kind: finding.kind, gate: finding.gate, action: finding.action, evidence: finding.evidence },
  };
}
