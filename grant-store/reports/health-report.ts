import type { HealthReport } from '../../shared/domain/reports';
import { iso, isoWeekLabel, isoWeekStart } from './calendar';
import { bypassesUpTo } from './bypasses';
import { approversReport } from './approvers-report';
import { decisionTimesReport } from './decision-times-report';
import { findingsReport } from './findings-report';
import { gatesReport } from './gates-report';
import type { ReportInput } from './report-input';
import { reviewsReport } from './reviews-report';
import { teamsReport } from './teams-report';
import { WEEKLY_SERIES_WEEKS, WEEK_MS } from './thresholds';

/** Bypasses per gate per ISO week, the last WEEKLY_SERIES_WEEKS weeks (current one included), oldest first. */
export function weeklySeries(input: ReportInput): HealthReport['weekly'] {
  const nowMs = input.now.getTime();
  const bypasses = bypassesUpTo(input, nowMs);
  const current = isoWeekStart(nowMs);
  return Array.from({ length: WEEKLY_SERIES_WEEKS }, (_, i) => {
    const from = current - (WEEKLY_SERIES_WEEKS - 1 - i) * WEEK_MS;
    const counts: Record<string, number> = {};
    for (const b of bypasses) {
      if (b.atMs >= from && b.atMs < from + WEEK_MS) counts[b.gate] = (counts[b.gate] ?? 0) + b.count;
    }
    return { week: isoWeekLabel(from), from: iso(from), counts };
  });
}

/** Every report at once (the console screen and /metrics). */
export function healthReport(input: ReportInput): HealthReport {
  return {
    now: iso(input.now.getTime()),
    gates: gatesReport(input),
    approvers: approversReport(input),
    decisionTimes: decisionTimesReport(input),
    reviews: reviewsReport(input),
    teams: teamsReport(input),
    findings: findingsReport(input),
    weekly: weeklySeries(input),
  };
}
