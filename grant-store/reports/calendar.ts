import { DAY_MS, FRACTION_DECIMALS, WEEK_MS } from './thresholds';

/** Server timestamps as the domain writes them: ISO 8601 UTC with milliseconds. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function ms(timestamp: string): number {
  return Date.parse(timestamp);
}

/** Trailing window (now - days, now]: an event exactly `days` ago has left the window. */
export function inTrailingWindow(atMs: number, nowMs: number, days: number): boolean {
  return atMs > nowMs - days * DAY_MS && atMs <= nowMs;
}

/** Monday 00:00 UTC of the ISO week containing `atMs`. */
export function isoWeekStart(atMs: number): number {
  const d = new Date(atMs);
  const midnight = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  const daysSinceMonday = (d.getUTCDay() + 6) % 7;
  return midnight - daysSinceMonday * DAY_MS;
}

/** ISO 8601 week label such as 2026-W48 (the week's Thursday decides its year). */
export function isoWeekLabel(atMs: number): string {
  const thursday = new Date(isoWeekStart(atMs) + 3 * DAY_MS);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / WEEK_MS) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** The calendar quarter is the budget's (shared/policy/budget.ts). */
export { calendarQuarter } from '../../shared/policy/budget';

/** Business time (UTC Monday-Friday) is the decision SLA's clock: one rule, in shared/policy/sla.ts. */
export { businessElapsedMs } from '../../shared/policy/sla';

/** Nearest-rank percentile (p in (0, 100]) of the values, null when empty. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? null;
}

/** numerator / denominator rounded to FRACTION_DECIMALS, null when the denominator is 0. */
export function fraction(numerator: number, denominator: number): number | null {
  if (denominator === 0) return null;
  const scale = 10 ** FRACTION_DECIMALS;
  return Math.round((numerator / denominator) * scale) / scale;
}
