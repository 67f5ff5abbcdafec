import type { RequestBudget } from '../../shared/domain/request';
import type { Policy } from '../../shared/domain/policy';
import { budgetStanding, calendarQuarter } from '../../shared/policy/budget';
import { dayOf } from '../storage/counters';
import type { StoreReader } from '../storage/store';

/**
 * Bypasses `team` activated in the calendar quarter of `atMs`, up to that day: the `bypasses`
 * counters (kept in the same transaction as the requests, standing scopes included), the count
 * `breakglass report teams` shows. At most a quarter of daily rows per gate: cheap at filing.
 */
export async function teamQuarterBypasses(reader: StoreReader, team: string, atMs: number): Promise<number> {
  const quarter = calendarQuarter(atMs);
  const rows = await reader.counterRows({ metrics: ['bypasses'], fromDay: dayOf(new Date(quarter.start).toISOString()), toDay: dayOf(new Date(atMs).toISOString()) });
  return rows.filter((r) => r.team === team).reduce((sum, r) => sum + r.count, 0);
}

/** The team's budget standing as of `atMs` (null for a team the policy does not know). */
export async function teamBudgetStanding(reader: StoreReader, policy: Policy, team: string, atMs: number): Promise<RequestBudget | null> {
  return budgetStanding(policy, team, await teamQuarterBypasses(reader, team, atMs), atMs);
}
