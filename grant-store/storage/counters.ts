import type { LedgerEntry } from '../../shared/domain/ledger-entry';
import type { BypassRequest } from '../../shared/domain/request';
import type { Review } from '../../shared/domain/review';
import { businessElapsedMs } from '../../shared/policy/sla';

/**
 * Per-day counters the reports read instead of the whole ledger (issue 16). Each row counts one
 * metric on one UTC day for one gate, team and subject, with `total` (a sum, e.g. decision
 * milliseconds) and bounds `firstAt <= every counted time <= lastAt`, so a reader can tell
 * whether a whole row falls on one side of a window boundary (and read the few straddling
 * rows' items exactly; see report-source.ts).
 *
 * The counters are a function of the stored state: `countersOf(requests, reviews, evaluations,
 * blocks)`. The backends keep them in the SAME transaction as the change: insert/update of a
 * request or review applies `diffCounters(old, new)`, each evaluation_under_bypass append adds a
 * `warns` row, each block adds a `blocks` row. The storage conformance suite checks that the
 * maintained rows equal a full recomputation after a random workload.
 */
export const COUNTER_METRICS = [
  /** Requests filed (createdAt); subject ''. */
  'requests',
  /** Bypasses: requests that became active (activatedAt, standing scopes included); subject ''. */
  'bypasses',
  /** Gate checks answered warn under a bypass (evaluation_under_bypass entries); subject ''. */
  'warns',
  /** Gate checks answered block (the time of the counted batch); team and subject ''. */
  'blocks',
  /** Signed approvals (not standing scopes), at each approval; subject `<tier>|<approver>`. */
  'approvals',
  /** Denials that closed a request (not standing scopes), at closedAt; subject `<tier>|<closedBy>`. */
  'denials',
  /** Requests decided (activation or denial, not standing scopes), at the decision; subject the class, total the decision time in ms (incident: wall clock, other: business time). */
  'decisions',
  /** Reviews opened (openedAt); subject ''. */
  'reviews_opened',
  /** Reviews completed (completedAt); subject `on_time` or `late` (7 days after openedAt). */
  'reviews_completed',
  /**
   * Requests a person decided (not standing scopes, pre-approvals or emergency credentials), at
   * the decision; subject `<class>|<le>`, the smallest DECISION_LATENCY_BUCKETS_S bound (or
   * `+Inf`) holding the wall-clock latency; total the latencies in ms (the /metrics histogram).
   */
  'decision_latency',
] as const;
export type CounterMetric = (typeof COUNTER_METRICS)[number];

/** The identity of one counter row. */
export interface CounterKey {
  metric: CounterMetric;
  /** UTC day, YYYY-MM-DD. */
  day: string;
  gate: string;
  team: string;
  subject: string;
}

export interface CounterRow extends CounterKey {
  count: number;
  total: number;
  firstAt: string;
  lastAt: string;
}

export interface CounterFilter {
  metrics?: readonly CounterMetric[];
  /** day >= this (YYYY-MM-DD). */
  fromDay?: string;
  /** day <= this (YYYY-MM-DD). */
  toDay?: string;
}

/**
 * Decision latency buckets (seconds) of the /metrics histogram: around the two targets, 15
 * minutes for incident-flagged requests and one business day for the rest, so `le="900"` and
 * `le="86400"` read directly as "within target". Stored in the decision_latency counters: a
 * change here needs a migration that recounts them.
 */
export const DECISION_LATENCY_BUCKETS_S = [60, 300, 900, 1800, 3600, 4 * 3600, 8 * 3600, 86_400, 3 * 86_400];

/** The bucket label (`le`) of a latency: the smallest bound holding it, or `+Inf`. */
export function latencyBucket(latencyMs: number): string {
  const le = DECISION_LATENCY_BUCKETS_S.find((b) => latencyMs / 1000 <= b);
  return le === undefined ? '+Inf' : String(le);
}

/** A review is on time when completed within this long of opening (the reviews report's deadline). */
const REVIEW_DEADLINE_MS = 7 * 86_400_000;
/** Incident-flagged requests are timed on the wall clock, the rest in business time (decision-times report). */
export type DecisionClass = 'incident' | 'other';

export function dayOf(time: string): string {
  return time.slice(0, 10);
}

export function counterKeyString(k: CounterKey): string {
  return `${k.metric}\u0000${k.day}\u0000${k.gate}\u0000${k.team}\u0000${k.subject}`;
}

function one(metric: CounterMetric, at: string, gate: string, team: string, subject = '', total = 0): CounterRow {
  return { metric, day: dayOf(at), gate, team, subject, count: 1, total, firstAt: at, lastAt: at };
}

/** When a request was decided (activation or the denial that closed it); null otherwise and for standing scopes. */
export function decisionOf(r: BypassRequest): { at: string; class: DecisionClass; ms: number } | null {
  if (r.standingScope !== null) return null;
  const at = r.activatedAt ?? (r.state === 'denied' ? r.closedAt : null);
  if (at === null) return null;
  const cls: DecisionClass = r.incidentRef !== null ? 'incident' : 'other';
  const from = Date.parse(r.createdAt);
  const to = Date.parse(at);
  return { at, class: cls, ms: cls === 'incident' ? Math.max(0, to - from) : businessElapsedMs(from, to) };
}

/** What one request contributes to the counters. */
export function requestCounters(r: BypassRequest): CounterRow[] {
  const out = [one('requests', r.createdAt, r.gate, r.team)];
  if (r.activatedAt !== null) out.push(one('bypasses', r.activatedAt, r.gate, r.team));
  if (r.standingScope === null) {
    for (const a of r.approvals) out.push(one('approvals', a.at, r.gate, r.team, `${r.tier}|${a.approver}`));
    if (r.state === 'denied' && r.closedBy !== null && r.closedAt !== null) out.push(one('denials', r.closedAt, r.gate, r.team, `${r.tier}|${r.closedBy}`));
  }
  const decision = decisionOf(r);
  if (decision) out.push(one('decisions', decision.at, r.gate, r.team, decision.class, decision.ms));
  // Pre-approvals and emergency credentials had no one to wait for: not in the latency histogram.
  if (decision && (r.preApproval ?? null) === null && (r.emergencyCredential ?? null) === null) {
    const latencyMs = Math.max(0, Date.parse(decision.at) - Date.parse(r.createdAt));
    out.push(one('decision_latency', decision.at, r.gate, r.team, `${decision.class}|${latencyBucket(latencyMs)}`, latencyMs));
  }
  return out;
}

/** What one review contributes. */
export function reviewCounters(r: Review): CounterRow[] {
  const out = [one('reviews_opened', r.openedAt, r.gate, r.team)];
  if (r.completedAt !== null) {
    const onTime = Date.parse(r.completedAt) - Date.parse(r.openedAt) <= REVIEW_DEADLINE_MS;
    out.push(one('reviews_completed', r.completedAt, r.gate, r.team, onTime ? 'on_time' : 'late'));
  }
  return out;
}

/** A warn counter for an evaluation_under_bypass entry (`team` is its request's team), else null. */
export function evaluationCounter(entry: Pick<LedgerEntry, 'type' | 'time' | 'gate'>, team: string): CounterRow | null {
  if (entry.type !== 'evaluation_under_bypass' || entry.gate === null) return null;
  return one('warns', entry.time, entry.gate, team);
}

export function blockCounter(gate: string, at: string, count: number): CounterRow {
  return { metric: 'blocks', day: dayOf(at), gate, team: '', subject: '', count, total: 0, firstAt: at, lastAt: at };
}

/** Sum rows with the same key (bounds widened). */
export function mergeCounters(rows: Iterable<CounterRow>): CounterRow[] {
  const byKey = new Map<string, CounterRow>();
  for (const r of rows) {
    const k = counterKeyString(r);
    const have = byKey.get(k);
    if (!have) byKey.set(k, { ...r });
    else {
      have.count += r.count;
      have.total += r.total;
      if (r.firstAt < have.firstAt) have.firstAt = r.firstAt;
      if (r.lastAt > have.lastAt) have.lastAt = r.lastAt;
    }
  }
  return [...byKey.values()];
}

/**
 * The net change from `before` to `after` (one request or review): rows whose count and total
 * do not change are dropped, so an update that touches no counted field writes nothing.
 */
export function diffCounters(before: readonly CounterRow[], after: readonly CounterRow[]): CounterRow[] {
  const negated = before.map((r) => ({ ...r, count: -r.count, total: -r.total }));
  return mergeCounters([...negated, ...after]).filter((r) => r.count !== 0 || r.total !== 0);
}

/** The full recomputation: what the counter table must hold for this state. */
export function countersOf(state: {
  requests: readonly BypassRequest[];
  reviews: readonly Review[];
  /** evaluation_under_bypass entries with their request's team. */
  evaluations: readonly { entry: Pick<LedgerEntry, 'type' | 'time' | 'gate'>; team: string }[];
  blocks: readonly { gate: string; at: string; count: number }[];
}): CounterRow[] {
  const rows: CounterRow[] = [];
  for (const r of state.requests) rows.push(...requestCounters(r));
  for (const r of state.reviews) rows.push(...reviewCounters(r));
  for (const e of state.evaluations) {
    const row = evaluationCounter(e.entry, e.team);
    if (row) rows.push(row);
  }
  for (const b of state.blocks) rows.push(blockCounter(b.gate, b.at, b.count));
  return mergeCounters(rows).filter((r) => r.count !== 0 || r.total !== 0);
}

/** Rows in a stable order (for comparisons and readers). */
export function sortCounters(rows: CounterRow[]): CounterRow[] {
  return rows.sort((a, b) => (counterKeyString(a) < counterKeyString(b) ? -1 : counterKeyString(a) > counterKeyString(b) ? 1 : 0));
}

/** The counters table as both backends store it (see the migrations). */
export interface CounterDbRow {
  metric: string;
  day: string;
  gate: string;
  team: string;
  subject: string;
  count: number;
  total: number;
  first_at: string;
  last_at: string;
}

export function counterFromRow(row: CounterDbRow): CounterRow {
  return { metric: row.metric as CounterMetric, day: row.day, gate: row.gate, team: row.team, subject: row.subject, count: Number(row.count), total: Number(row.total), firstAt: row.first_at, lastAt: row.last_at };
}

export function counterValues(r: CounterRow): unknown[] {
  return [r.metric, r.day, r.gate, r.team, r.subject, r.count, r.total, r.firstAt, r.lastAt];
}

/** Add a row's count and total to its key, widening the bounds (`least`/`greatest`: the dialect's scalar min/max). */
export function upsertCounterSql(param: (n: number) => string, least: string, greatest: string): string {
  const p = Array.from({ length: 9 }, (_, i) => param(i + 1)).join(', ');
  return `INSERT INTO counters (metric, day, gate, team, subject, count, total, first_at, last_at) VALUES (${p})
    ON CONFLICT (metric, day, gate, team, subject) DO UPDATE SET count = counters.count + excluded.count, total = counters.total + excluded.total,
    first_at = ${least}(counters.first_at, excluded.first_at), last_at = ${greatest}(counters.last_at, excluded.last_at)`;
}

/** A warn counted for an evaluation entry, its team read from the request in the same statement. */
export function upsertWarnSql(param: (n: number) => string, least: string, greatest: string): string {
  return `INSERT INTO counters (metric, day, gate, team, subject, count, total, first_at, last_at)
    VALUES ('warns', ${param(1)}, ${param(2)}, COALESCE((SELECT team FROM requests WHERE id = ${param(3)}), ''), '', ${param(4)}, 0, ${param(5)}, ${param(6)})
    ON CONFLICT (metric, day, gate, team, subject) DO UPDATE SET count = counters.count + excluded.count,
    first_at = ${least}(counters.first_at, excluded.first_at), last_at = ${greatest}(counters.last_at, excluded.last_at)`;
}

/** Evaluation entries of one append grouped per (day, gate, request): one upsert each. */
export function warnGroups(entries: readonly { type: string; time: string; gate: string | null; target: string }[]): { day: string; gate: string; target: string; count: number; firstAt: string; lastAt: string }[] {
  const groups = new Map<string, { day: string; gate: string; target: string; count: number; firstAt: string; lastAt: string }>();
  for (const e of entries) {
    if (e.type !== 'evaluation_under_bypass' || e.gate === null) continue;
    const day = dayOf(e.time);
    const k = `${day}\u0000${e.gate}\u0000${e.target}`;
    const g = groups.get(k);
    if (!g) groups.set(k, { day, gate: e.gate, target: e.target, count: 1, firstAt: e.time, lastAt: e.time });
    else {
      g.count += 1;
      if (e.time < g.firstAt) g.firstAt = e.time;
      if (e.time > g.lastAt) g.lastAt = e.time;
    }
  }
  return [...groups.values()];
}

/** Whether `row` passes `filter` (what counterWhere selects in SQL, for rows held in memory). */
export function counterMatches(filter: CounterFilter, row: CounterKey): boolean {
  return (!filter.metrics || filter.metrics.length === 0 || filter.metrics.includes(row.metric)) && (!filter.fromDay || row.day >= filter.fromDay) && (!filter.toDay || row.day <= filter.toDay);
}

/** WHERE clause for a counter filter (counterMatches is the same rule in memory). */
export function counterWhere(filter: CounterFilter, param: (n: number) => string): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (filter.metrics && filter.metrics.length > 0) {
    const placeholders = filter.metrics.map((m) => param(params.push(m)));
    clauses.push(`metric IN (${placeholders.join(', ')})`);
  }
  if (filter.fromDay) clauses.push(`day >= ${param(params.push(filter.fromDay))}`);
  if (filter.toDay) clauses.push(`day <= ${param(params.push(filter.toDay))}`);
  return { sql: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/** Metrics whose individual times a reader can list (for rows straddling a window boundary). */
export type ItemizedMetric = 'warns' | 'bypasses' | 'requests';

/** One counted event of an itemized metric: when, and the team it counts for. */
export interface CounterItem {
  time: string;
  team: string;
}
