import type { OpenReview, ReviewsReport } from '../../shared/domain/reports';
import { fraction, iso, ms } from './calendar';
import type { ReportInput } from './report-input';
import { REVIEW_DEADLINE_MS } from './thresholds';

/**
 * Post-bypass reviews: a review opens when its bypass expires or is revoked, so `openedAt` is
 * the expiry moment; it is on time when completed within REVIEW_DEADLINE_MS of it. The rate's
 * denominator is the reviews that are due (completed, or open past the deadline), so a review
 * still inside its week counts neither for nor against. Open reviews are listed oldest first.
 */
export function reviewsReport(input: ReportInput): ReviewsReport {
  const nowMs = input.now.getTime();
  let total = 0;
  let completedOnTime = 0;
  let completedLate = 0;
  let openOverdue = 0;
  let openWithinDeadline = 0;
  const open: OpenReview[] = [];
  for (const review of input.reviews) {
    const openedMs = ms(review.openedAt);
    if (openedMs > nowMs) continue;
    total += 1;
    const completedMs = review.completedAt === null ? null : ms(review.completedAt);
    if (completedMs !== null && completedMs <= nowMs) {
      if (completedMs - openedMs <= REVIEW_DEADLINE_MS) completedOnTime += 1;
      else completedLate += 1;
      continue;
    }
    const ageMs = nowMs - openedMs;
    const overdue = ageMs > REVIEW_DEADLINE_MS;
    if (overdue) openOverdue += 1;
    else openWithinDeadline += 1;
    open.push({ reviewId: review.id, requestId: review.requestId, gate: review.gate, team: review.team, requester: review.requester, openedAt: review.openedAt, ageMs, overdue });
  }
  open.sort((a, b) => ms(a.openedAt) - ms(b.openedAt) || a.reviewId.localeCompare(b.reviewId));
  const due = completedOnTime + completedLate + openOverdue;
  return {
    now: iso(nowMs),
    deadlineMs: REVIEW_DEADLINE_MS,
    total,
    due,
    completedOnTime,
    completedLate,
    openOverdue,
    openWithinDeadline,
    onTimeRate: fraction(completedOnTime, due),
    open,
  };
}
