import type { Policy } from '../../shared/domain/policy';
import type { RequestState } from '../../shared/domain/request';
import { type CounterRow, type ItemizedMetric, dayOf } from '../storage/counters';
import type { StoreReader } from '../storage/store';
import { calendarQuarter, iso, isoWeekStart } from './calendar';
import { type BypassSample, type ReportInput, type ReportState, type ReviewTally, type TimedCount, reviewTallyOf } from './report-input';
import { BYPASS_WINDOWS_DAYS, DAY_MS, DECISION_WINDOW_DAYS, DOMINANCE_WINDOW_DAYS, EVERY_WEEK_WEEKS, REPORT_IDS_LIMIT, REVIEW_DEADLINE_MS, TREND_WINDOW_DAYS, WEEKLY_SERIES_WEEKS, WEEK_MS } from './thresholds';

/** Every trailing-window start (days before now) a report counts from: 7/30/90 (gates), 30 and 60 (findings' trend). */
const EDGE_DAYS = [...new Set([...Object.values(BYPASS_WINDOWS_DAYS), DOMINANCE_WINDOW_DAYS, TREND_WINDOW_DAYS, 2 * TREND_WINDOW_DAYS, DECISION_WINDOW_DAYS])];

/**
 * The earliest moment any report looks at bypasses from: the quarter's start, the weekly
 * series' first week, the every-week finding's first week, the longest trailing window. Week
 * and quarter edges fall on UTC midnights, so whole day rows fall on one side of them.
 */
function bypassHorizon(nowMs: number): number {
  const week = isoWeekStart(nowMs);
  return Math.min(calendarQuarter(nowMs).start, week - (WEEKLY_SERIES_WEEKS - 1) * WEEK_MS, week - EVERY_WEEK_WEEKS * WEEK_MS, nowMs - Math.max(...EDGE_DAYS) * DAY_MS);
}

/**
 * Counted events of `metric` per gate and team, read from the store's per-day counters: one
 * TimedCount per (gate, team, day) when the day's events all fall on the same side of every
 * window edge (the starts now - N days, exclusive, and `now`, inclusive), judged by the row's
 * first/last bounds; the events of a day that straddles an edge are read one by one (an indexed
 * range, bounded by one day's traffic), so every window count is exact. Cost: days x gates x
 * teams rows plus at most a few days' items per gate, whatever the ledger's size.
 */
export async function countedTimes(store: StoreReader, metric: ItemizedMetric, now: Date, opts: { allTime?: boolean } = {}): Promise<TimedCount[]> {
  const nowMs = now.getTime();
  const nowIso = now.toISOString();
  const edges = EDGE_DAYS.map((d) => new Date(nowMs - d * DAY_MS).toISOString());
  const rows = await store.counterRows({ metrics: [metric], ...(opts.allTime ? {} : { fromDay: dayOf(iso(bypassHorizon(nowMs))) }), toDay: dayOf(nowIso) });
  // Subjects are summed: the reports count per gate and team.
  const byKey = new Map<string, { gate: string; team: string; day: string; count: number; firstAt: string; lastAt: string }>();
  for (const r of rows) {
    const k = `${r.gate}\u0000${r.team}\u0000${r.day}`;
    const have = byKey.get(k);
    if (!have) byKey.set(k, { gate: r.gate, team: r.team, day: r.day, count: r.count, firstAt: r.firstAt, lastAt: r.lastAt });
    else {
      have.count += r.count;
      if (r.firstAt < have.firstAt) have.firstAt = r.firstAt;
      if (r.lastAt > have.lastAt) have.lastAt = r.lastAt;
    }
  }
  const out: TimedCount[] = [];
  // One read per (gate, day) gives the items of every team of that day.
  const itemsOf = new Map<string, Promise<{ time: string; team: string }[]>>();
  for (const g of byKey.values()) {
    if (g.count <= 0) continue;
    if (g.firstAt > nowIso) continue; // all after now
    const straddles = (g.firstAt <= nowIso && g.lastAt > nowIso) || edges.some((edge) => g.firstAt <= edge && g.lastAt > edge);
    if (!straddles) {
      out.push({ gate: g.gate, team: g.team, time: g.lastAt, count: g.count });
      continue;
    }
    const k = `${g.gate}\u0000${g.day}`;
    const dayStart = `${g.day}T00:00:00.000Z`;
    if (!itemsOf.has(k)) itemsOf.set(k, store.counterItems(metric, g.gate, dayStart, new Date(Date.parse(dayStart) + DAY_MS).toISOString()));
    for (const item of await itemsOf.get(k)!) if (item.team === g.team) out.push({ gate: g.gate, team: g.team, time: item.time, count: 1 });
  }
  return out;
}

/**
 * The bypasses a report may name: for each (gate, team, ISO week) with bypasses since the
 * horizon, the latest REPORT_IDS_LIMIT activated at or before now (one indexed query each).
 */
async function bypassSamples(store: StoreReader, bypasses: readonly TimedCount[], now: Date): Promise<BypassSample[]> {
  const nowMs = now.getTime();
  const partitions = new Map<string, { gate: string; team: string; week: number }>();
  for (const b of bypasses) {
    const week = isoWeekStart(Date.parse(b.time));
    partitions.set(`${b.gate}\u0000${b.team}\u0000${week}`, { gate: b.gate, team: b.team, week });
  }
  const lists = await Promise.all(
    [...partitions.values()].map(async (p) => {
      const rows = await store.latestBypasses(p.gate, p.team, iso(p.week), iso(Math.min(p.week + WEEK_MS - 1, nowMs)), REPORT_IDS_LIMIT);
      return rows.map((r) => ({ id: r.id, gate: p.gate, team: p.team, activatedAt: r.activatedAt }));
    }),
  );
  return lists.flat();
}

/** Sum of a counter's rows at or before now (the live tally: rows are whole days, now is the clock). */
function sumUpTo(rows: readonly CounterRow[], metric: CounterRow['metric'], nowIso: string, subject?: string): number {
  return rows.filter((r) => r.metric === metric && r.firstAt <= nowIso && (subject === undefined || r.subject === subject)).reduce((n, r) => n + r.count, 0);
}

/** The review tally as of the clock: totals from the counters, the open reviews from their partial index. */
async function liveReviewTally(store: StoreReader, now: Date): Promise<ReviewTally> {
  const nowIso = now.toISOString();
  const [rows, open] = await Promise.all([store.counterRows({ metrics: ['reviews_opened', 'reviews_completed'] }), store.openReviews(nowIso, iso(now.getTime() - REVIEW_DEADLINE_MS), REPORT_IDS_LIMIT)]);
  return {
    total: sumUpTo(rows, 'reviews_opened', nowIso),
    completedOnTime: sumUpTo(rows, 'reviews_completed', nowIso, 'on_time'),
    completedLate: sumUpTo(rows, 'reviews_completed', nowIso, 'late'),
    openOverdue: open.overdue,
    openWithinDeadline: open.withinDeadline,
    oldestOpen: open.oldest,
  };
}

/**
 * Read a ReportInput from the store, in reads that do not grow with the ledger: counted figures
 * (requests filed, bypasses, warns, blocks, reviews) from the per-day counters; the requests
 * people decided in the decision window or still have to decide; the open reviews; the latest
 * bypass ids per gate, team and week for the evidence lists.
 *
 * `replay: true` (a report as of a past `now`) reads every request and review instead: what was
 * open or undecided at a past moment is not in any index (rare: `?now=` and the weekly digest).
 * `requests: false` reads only what the gates report needs; `withEvaluations: false` skips the warns.
 */
export async function loadReportInput(store: StoreReader, policy: Policy, now: Date, opts: { requests?: boolean; withEvaluations?: boolean; replay?: boolean } = {}): Promise<ReportInput> {
  const withRequests = opts.requests !== false;
  const decidedSince = iso(now.getTime() - DECISION_WINDOW_DAYS * DAY_MS);
  const [requests, reviews, blocks, evaluations, filed, activated] = await Promise.all([
    !withRequests ? [] : opts.replay ? store.listRequests({}) : store.requestsForDecisionReports(decidedSince),
    !withRequests ? reviewTallyOf([], now) : opts.replay ? store.listReviews().then((all) => reviewTallyOf(all, now)) : liveReviewTally(store, now),
    store.gateBlockCounts(),
    opts.withEvaluations === false ? [] : countedTimes(store, 'warns', now),
    countedTimes(store, 'requests', now, { allTime: true }),
    countedTimes(store, 'bypasses', now),
  ]);
  const blocksByGate: Record<string, number> = {};
  for (const b of blocks) blocksByGate[b.gate] = b.count;
  const samples = withRequests ? await bypassSamples(store, activated, now) : [];
  return { now, policy, requests, reviews, evaluations, gateCounts: { requests: filed, bypasses: activated }, bypassSamples: samples, blocksByGate };
}

/**
 * Every request and review with the block counts (no evaluations): the weekly digest's input,
 * which replays the reports as of a week's end. Weekly, not per read: it may list them all.
 */
export async function loadReportState(store: StoreReader, policy: Policy): Promise<ReportState> {
  const [requests, reviews, blocks] = await Promise.all([store.listRequests({}), store.listReviews(), store.gateBlockCounts()]);
  return { policy, requests, reviews, evaluations: [], blocksByGate: Object.fromEntries(blocks.map((b) => [b.gate, b.count])) };
}

/** What /metrics reads besides the reports: requests per gate in the gauge states, and the decision latency counters. */
export interface MetricsExtras {
  stateCounts: readonly { gate: string; state: RequestState; count: number }[];
  latency: readonly CounterRow[];
}

export async function loadMetricsExtras(store: StoreReader): Promise<MetricsExtras> {
  const [stateCounts, latency] = await Promise.all([store.requestStateCounts(['pending', 'needs_info', 'active']), store.counterRows({ metrics: ['decision_latency'] })]);
  return { stateCounts, latency };
}
