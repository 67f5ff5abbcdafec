import type { Policy, Tier } from '../domain/policy';
import type { RequestBudget } from '../domain/request';

/**
 * Budgets act. A team's `bypassBudget` counts bypasses per calendar quarter (UTC); a team that
 * has used more than its budget is over it. One rule for the request (what approvers see, how
 * many approvals it needs), the over_budget alert and `report teams`.
 */

/** The calendar quarter (UTC) containing `atMs`: label (2026-Q4) and [start, end). */
export function calendarQuarter(atMs: number): { label: string; start: number; end: number } {
  const d = new Date(atMs);
  const q = Math.floor(d.getUTCMonth() / 3);
  const year = d.getUTCFullYear();
  return { label: `${year}-Q${q + 1}`, start: Date.UTC(year, q * 3, 1), end: Date.UTC(year, q * 3 + 3, 1) };
}

/** Over budget: more bypasses this quarter than the budget (at the budget is not over). */
export function isOverBudget(used: number, budget: number): boolean {
  return used > budget;
}

/** The team's standing this quarter, or null for a team the policy does not know. */
export function budgetStanding(policy: Policy, team: string, used: number, atMs: number): RequestBudget | null {
  const budget = policy.teams[team]?.bypassBudget;
  if (budget === undefined) return null;
  return { quarter: calendarQuarter(atMs).label, used, budget, over: isOverBudget(used, budget) };
}

/** Approvals a request on `tier` needs: the tier's, plus its overBudgetExtraApprovers when the team is over budget. */
export function approvalsNeeded(tier: Tier, budget: RequestBudget | null | undefined): number {
  return tier.approvals + (budget?.over ? tier.overBudgetExtraApprovers : 0);
}

/** One line for approvers (CLI status, console): `team payments is OVER its quarterly budget: 7 of 6 bypasses in 2026-Q4`. */
export function budgetText(team: string, budget: RequestBudget): string {
  return budget.over
    ? `team ${team} is OVER its quarterly budget: ${budget.used} of ${budget.budget} bypasses in ${budget.quarter} when this was filed`
    : `team ${team}: ${budget.used} of ${budget.budget} bypasses in ${budget.quarter} when this was filed`;
}
