import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reviewsReport } from '../../../../grant-store/reports/reviews-report';
import { ReviewsReportSchema } from '../../../../shared/domain/reports';
import { DAY, ago, input, review } from './fixtures';

test('reviews report: on time, late, overdue and still-in-deadline reviews', () => {
  const reviews = [
    review({ id: 'rev_a', openedAt: ago(20 * DAY), completedAt: ago(14 * DAY) }), // 6 days: on time
    review({ id: 'rev_b', openedAt: ago(30 * DAY), completedAt: ago(23 * DAY) }), // exactly 7 days: on time
    review({ id: 'rev_c', openedAt: ago(30 * DAY), completedAt: ago(21 * DAY) }), // 9 days: late
    review({ id: 'rev_d', gate: 'perf', team: 'search', openedAt: ago(10 * DAY) }), // open, overdue
    review({ id: 'rev_e', openedAt: ago(2 * DAY) }), // open, within its week
    review({ id: 'rev_f', openedAt: ago(8 * DAY) }), // open, overdue
    review({ id: 'rev_g', openedAt: ago(-DAY) }), // opened after now: ignored
    review({ id: 'rev_h', openedAt: ago(3 * DAY), completedAt: ago(-DAY) }), // completed after now: still open at now
  ];
  const report = reviewsReport(input({ reviews }));
  ReviewsReportSchema.parse(report);
  assert.deepEqual(report, {
    now: '2026-11-26T12:00:00.000Z',
    deadlineMs: 7 * DAY,
    total: 7,
    due: 5,
    completedOnTime: 2,
    completedLate: 1,
    openOverdue: 2,
    openWithinDeadline: 2,
    onTimeRate: 0.4,
    open: [
      { reviewId: 'rev_d', requestId: 'req_of_rev_d', gate: 'perf', team: 'search', requester: 'alice', openedAt: ago(10 * DAY), ageMs: 10 * DAY, overdue: true },
      { reviewId: 'rev_f', requestId: 'req_of_rev_f', gate: 'integration', team: 'payments', requester: 'alice', openedAt: ago(8 * DAY), ageMs: 8 * DAY, overdue: true },
      { reviewId: 'rev_h', requestId: 'req_of_rev_h', gate: 'integration', team: 'payments', requester: 'alice', openedAt: ago(3 * DAY), ageMs: 3 * DAY, overdue: false },
      { reviewId: 'rev_e', requestId: 'req_of_rev_e', gate: 'integration', team: 'payments', requester: 'alice', openedAt: ago(2 * DAY), ageMs: 2 * DAY, overdue: false },
    ],
  });
});

test('reviews report: nothing due yet gives a null rate', () => {
  const report = reviewsReport(input({ reviews: [review({ id: 'rev_new', openedAt: ago(DAY) })] }));
  assert.deepEqual([report.total, report.due, report.onTimeRate, report.openWithinDeadline], [1, 0, null, 1]);
});
