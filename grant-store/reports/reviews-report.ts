import type { OpenReview, ReviewsReport } from '../../shared/domain/reports';
import { fraction, iso, ms } from './calendar';
import type { Review } from '../../shared/domain/review';
import type { ReportInput } from './report-input';
import { REVIEW_DEADLINE_MS } from './thresholds';

/**
 * Post-bypass reviews: a review opens when its bypass expires or is revoked, so `openedAt` is
 * the expiry moment; it is on time when completed within REVIEW_DEADLINE_MS of it. The rate's
 * denominator is the reviews that are due (completed, or open past the deadline), so a review
 * still inside its week counts neither for nor against. Open reviews are listed oldest first
 * (at most REPORT_IDS_LIMIT; the open counts are exact).
 */
export function reviewsReport(input: ReportInput): ReviewsReport {
  const nowMs = input.now.getTime();
  const { total, completedOnTime, completedLate, openOverdue, openWithinDeadline } = input.reviews;
  const open = input.reviews.oldestOpen.map((review) => openReview(review, nowMs));
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

/** An open review as the report lists it, with its age at `nowMs`. */
export function openReview(review: Review, nowMs: number): OpenReview {
  const ageMs = nowMs - ms(review.openedAt);
  return { reviewId: review.id, requestId: review.requestId, gate: review.gate, team: review.team, requester: review.requester, openedAt: review.openedAt, ageMs, overdue: ageMs > REVIEW_DEADLINE_MS };
}
