import type { Policy } from '../../shared/domain/policy';
import { type ItemizedMetric, dayOf } from '../storage/counters';
import type { StoreReader } from '../storage/store';
import type { ReportInput, TimedCount } from './report-input';
import { BYPASS_WINDOWS_DAYS, DAY_MS } from './thresholds';

/** The trailing windows every counted figure is reported over (the gates report's 7/30/90 days). */
const WINDOW_DAYS = Object.values(BYPASS_WINDOWS_DAYS);
const LONGEST_WINDOW_DAYS = Math.max(...WINDOW_DAYS);

/**
 * Counted events of `metric` per gate, read from the store's per-day counters: one TimedCount
 * per (gate, day) when the day's events all fall on the same side of every window edge (the
 * starts now - 7/30/90 days, exclusive, and `now`, inclusive), judged by the row's first/last
 * bounds; the events of a day that straddles an edge are read one by one (an indexed range,
 * bounded by one day's traffic), so every window count is exact. Cost: days x gates rows plus
 * at most four days' items per gate, whatever the ledger's size.
 */
export async function countedTimes(store: StoreReader, metric: ItemizedMetric, now: Date, opts: { allTime?: boolean } = {}): Promise<TimedCount[]> {
  const nowMs = now.getTime();
  const nowIso = now.toISOString();
  const edges = WINDOW_DAYS.map((d) => new Date(nowMs - d * DAY_MS).toISOString());
  const rows = await store.counterRows({ metrics: [metric], ...(opts.allTime ? {} : { fromDay: dayOf(new Date(nowMs - LONGEST_WINDOW_DAYS * DAY_MS).toISOString()) }), toDay: dayOf(nowIso) });
  // Teams and subjects are summed: the reports count per gate.
  const byGateDay = new Map<string, { gate: string; day: string; count: number; firstAt: string; lastAt: string }>();
  for (const r of rows) {
    const k = `${r.gate}\u0000${r.day}`;
    const have = byGateDay.get(k);
    if (!have) byGateDay.set(k, { gate: r.gate, day: r.day, count: r.count, firstAt: r.firstAt, lastAt: r.lastAt });
    else {
      have.count += r.count;
      if (r.firstAt < have.firstAt) have.firstAt = r.firstAt;
      if (r.lastAt > have.lastAt) have.lastAt = r.lastAt;
    }
  }
  const out: TimedCount[] = [];
  for (const g of byGateDay.values()) {
    if (g.count <= 0) continue;
    if (g.firstAt > nowIso) continue; // all after now
    const straddles = (g.firstAt <= nowIso && g.lastAt > nowIso) || edges.some((edge) => g.firstAt <= edge && g.lastAt > edge);
    if (!straddles) {
      out.push({ gate: g.gate, time: g.lastAt, count: g.count });
      continue;
    }
    const dayStart = `${g.day}T00:00:00.000Z`;
    const dayEnd = new Date(Date.parse(dayStart) + DAY_MS).toISOString();
    for (const time of await store.counterItemTimes(metric, g.gate, dayStart, dayEnd)) out.push({ gate: g.gate, time, count: 1 });
  }
  return out;
}

/**
 * Read a ReportInput from the store: counted figures (evaluations, requests filed, bypasses)
 * from the per-day counters, so its cost does not grow with the ledger. `requests: false`
 * skips listing the requests and reviews (the gates report needs only the counts);
 * `withEvaluations: false` skips the warns.
 */
export async function loadReportInput(store: StoreReader, policy: Policy, now: Date, opts: { requests?: boolean; withEvaluations?: boolean } = {}): Promise<ReportInput> {
  const withRequests = opts.requests !== false;
  const [requests, reviews, blocks, evaluations, filed, activated] = await Promise.all([
    withRequests ? store.listRequests({}) : [],
    withRequests ? store.listReviews() : [],
    store.gateBlockCounts(),
    opts.withEvaluations === false ? [] : countedTimes(store, 'warns', now),
    countedTimes(store, 'requests', now, { allTime: true }),
    countedTimes(store, 'bypasses', now),
  ]);
  const blocksByGate: Record<string, number> = {};
  for (const b of blocks) blocksByGate[b.gate] = b.count;
  return { now, policy, requests, reviews, evaluations, gateCounts: { requests: filed, bypasses: activated }, blocksByGate };
}
