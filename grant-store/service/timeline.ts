import type { LedgerEntry } from '../../shared/domain/ledger-entry';
import type { Review, TimelineItem } from '../../shared/domain/review';
import { foldTimeline } from '../../shared/domain/review-timeline';
import { formatScope } from '../../shared/policy/scope-match';
import type { Scope } from '../../shared/domain/common';

function summarize(entry: LedgerEntry): string {
  const d = entry.data as Record<string, unknown>;
  switch (entry.type) {
    case 'request_created':
      return `${entry.actor} requested a ${String(d.ttl)} bypass of ${entry.gate} on ${formatScope((d.scope ?? {}) as Scope)}: ${entry.reason ?? ''}`;
    case 'decision':
      return `${entry.actor} signed "${String(d.decision)}"${d.ttl ? ` (${String(d.ttl)})` : ''}${d.comment ? `: ${String(d.comment)}` : ''}`;
    case 'info_requested':
      return `${entry.actor} asked for more information: ${String(d.question ?? '')}`;
    case 'info_provided':
      return `${entry.actor} replied: ${String(d.message ?? '')}`;
    case 'bypass_activated':
      return `bypass ${String(d.bypassId)} active until ${entry.expiresAt} (approved by ${entry.approver ?? 'standing scope'})`;
    case 'evaluation_under_bypass':
      return `gate ${entry.gate} evaluated under the bypass for ${formatScope((d.subject ?? {}) as Scope)} (verdict warn)`;
    case 'bypass_expired':
      return `bypass expired at ${entry.expiresAt}`;
    case 'bypass_revoked':
      return `${entry.actor} revoked the bypass${d.comment ? `: ${String(d.comment)}` : ''}`;
    default:
      return `${entry.type} by ${entry.actor}`;
  }
}

/** A review's timeline, pre-filled from the request's ledger entries, long runs (evaluations) folded. */
export function timelineFrom(entries: readonly LedgerEntry[]): TimelineItem[] {
  return foldTimeline(entries.filter((e) => e.type !== 'review_opened' && e.type !== 'review_completed').map((e) => ({ seq: e.seq, time: e.time, type: e.type, actor: e.actor, summary: summarize(e) })));
}

/** A stored review as served: a timeline stored before folding is folded now (the same rule). */
export function servedReview(review: Review): Review {
  const timeline = foldTimeline(review.timeline);
  return timeline.length === review.timeline.length ? review : { ...review, timeline };
}
