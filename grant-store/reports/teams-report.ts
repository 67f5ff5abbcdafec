import type { TeamBudgetRow, TeamsReport } from '../../shared/domain/reports';
import { calendarQuarter, fraction, iso } from './calendar';
import { bypassIds, bypassesUpTo, total } from './bypasses';
import type { ReportInput } from './report-input';
import { isOverBudget } from '../../shared/policy/budget';

/**
 * Per team: bypasses activated this calendar quarter (UTC) against its `bypassBudget`; more than
 * the budget flags the team for a review (a conversation about the gate or the practice, not a
 * penalty). Teams not in the policy but with bypasses appear with a null budget. `requestIds`
 * names the most recent REPORT_IDS_LIMIT of them.
 */
export function teamsReport(input: ReportInput): TeamsReport {
  const nowMs = input.now.getTime();
  const quarter = calendarQuarter(nowMs);
  const inQuarter = bypassesUpTo(input, nowMs).filter((b) => b.atMs >= quarter.start && b.atMs < quarter.end);
  const names = new Set<string>([...Object.keys(input.policy.teams), ...inQuarter.map((b) => b.team)]);
  const teams: TeamBudgetRow[] = [...names].sort().map((team) => {
    const budget = input.policy.teams[team]?.bypassBudget ?? null;
    const used = total(inQuarter.filter((b) => b.team === team));
    return {
      team,
      budget,
      used,
      usage: budget === null ? null : fraction(used, budget),
      overBudget: budget !== null && isOverBudget(used, budget),
      requestIds: bypassIds(input.bypassSamples, quarter.start, quarter.end, nowMs, (s) => s.team === team),
    };
  });
  return { now: iso(nowMs), quarter: quarter.label, quarterStart: iso(quarter.start), quarterEnd: iso(quarter.end), teams };
}
