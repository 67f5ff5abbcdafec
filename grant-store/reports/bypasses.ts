import type { BypassRequest } from '../../shared/domain/request';
import { inTrailingWindow, ms } from './calendar';
import { BYPASS_WINDOWS_DAYS } from './thresholds';
import type { WindowCounts } from '../../shared/domain/reports';

/** A bypass: a request that became active (standing scopes included), dated by its activation. */
export interface Bypass {
  request: BypassRequest;
  atMs: number;
}

/** Bypasses activated at or before `nowMs`, oldest first (ties by request id, for stable output). */
export function bypassesUpTo(requests: readonly BypassRequest[], nowMs: number): Bypass[] {
  const out: Bypass[] = [];
  for (const request of requests) {
    if (request.activatedAt === null) continue;
    const atMs = ms(request.activatedAt);
    if (atMs <= nowMs) out.push({ request, atMs });
  }
  return out.sort((a, b) => a.atMs - b.atMs || a.request.id.localeCompare(b.request.id));
}

/** Counts of timestamps over the 7/30/90-day trailing windows. */
export function windowCounts(times: readonly number[], nowMs: number): WindowCounts {
  const count = (days: number) => times.filter((t) => inTrailingWindow(t, nowMs, days)).length;
  return { d7: count(BYPASS_WINDOWS_DAYS.d7), d30: count(BYPASS_WINDOWS_DAYS.d30), d90: count(BYPASS_WINDOWS_DAYS.d90) };
}
