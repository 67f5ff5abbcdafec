import type { Finding, FindingsReport } from '../../shared/domain/reports';
import { fraction, inTrailingWindow, iso, isoWeekLabel, isoWeekStart } from './calendar';
import { type Bypass, bypassesUpTo } from './bypasses';
import type { ReportInput } from './report-input';
import {
  DAY_MS,
  DOMINANCE_MIN_BYPASSES,
  DOMINANCE_SHARE,
  DOMINANCE_WINDOW_DAYS,
  EVERY_WEEK_WEEKS,
  TREND_FACTOR,
  TREND_MIN_RECENT,
  TREND_WINDOW_DAYS,
  WEEK_MS,
} from './thresholds';

const FIX = 'fix the gate' as const;

function findingId(kind: Finding['kind'], gate: string | null, nowMs: number): string {
  return `${kind}:${gate ?? 'all'}:${isoWeekLabel(nowMs)}`;
}

const percent = (share: number) => `${Math.round(share * 100)}%`;
const ids = (bypasses: readonly Bypass[]) => bypasses.map((b) => b.request.id);

/** One gate takes more than half of all bypasses over 30 days, with at least 3 of them. */
function dominance(bypasses: readonly Bypass[], nowMs: number): Finding[] {
  const recent = bypasses.filter((b) => inTrailingWindow(b.atMs, nowMs, DOMINANCE_WINDOW_DAYS));
  const gates = [...new Set(recent.map((b) => b.request.gate))].sort();
  const out: Finding[] = [];
  for (const gate of gates) {
    const mine = recent.filter((b) => b.request.gate === gate);
    const share = fraction(mine.length, recent.length) ?? 0;
    if (mine.length < DOMINANCE_MIN_BYPASSES || mine.length / recent.length <= DOMINANCE_SHARE) continue;
    out.push({
      id: findingId('gate_dominates', gate, nowMs),
      kind: 'gate_dominates',
      gate,
      action: FIX,
      title: `Gate ${gate} takes ${percent(share)} of all bypasses`,
      message: `Gate ${gate} was bypassed ${mine.length} times out of ${recent.length} bypasses in the last ${DOMINANCE_WINDOW_DAYS} days (${percent(share)}). A gate that dominates the bypass log is mis-designed (too slow, too flaky, or testing the wrong thing): fix the gate, do not normalize the bypass.`,
      evidence: {
        kind: 'gate_dominates',
        window: { from: iso(nowMs - DOMINANCE_WINDOW_DAYS * DAY_MS), to: iso(nowMs) },
        gateBypasses: mine.length,
        allBypasses: recent.length,
        share,
        thresholdShare: DOMINANCE_SHARE,
        minBypasses: DOMINANCE_MIN_BYPASSES,
        requestIds: ids(mine),
      },
    });
  }
  return out;
}

/** A gate with at least one bypass in each of the last 4 complete ISO weeks. */
function everyWeek(bypasses: readonly Bypass[], nowMs: number): Finding[] {
  const currentWeek = isoWeekStart(nowMs);
  const weeks = Array.from({ length: EVERY_WEEK_WEEKS }, (_, i) => {
    const from = currentWeek - (EVERY_WEEK_WEEKS - i) * WEEK_MS;
    return { from, to: from + WEEK_MS };
  });
  const gates = [...new Set(bypasses.map((b) => b.request.gate))].sort();
  const out: Finding[] = [];
  for (const gate of gates) {
    const perWeek = weeks.map((w) => ({ ...w, bypasses: bypasses.filter((b) => b.request.gate === gate && b.atMs >= w.from && b.atMs < w.to) }));
    if (perWeek.some((w) => w.bypasses.length === 0)) continue;
    const all = perWeek.flatMap((w) => w.bypasses);
    out.push({
      id: findingId('gate_bypassed_every_week', gate, nowMs),
      kind: 'gate_bypassed_every_week',
      gate,
      action: FIX,
      title: `Gate ${gate} is bypassed every week`,
      message: `Gate ${gate} was bypassed in each of the last ${EVERY_WEEK_WEEKS} weeks (${perWeek.map((w) => w.bypasses.length).join(', ')}; ${all.length} in all). Breaking the glass has become the routine way past this gate: fix the gate, do not normalize the bypass.`,
      evidence: {
        kind: 'gate_bypassed_every_week',
        weeks: perWeek.map((w) => ({ week: isoWeekLabel(w.from), from: iso(w.from), to: iso(w.to), count: w.bypasses.length, requestIds: ids(w.bypasses) })),
        requestIds: ids(all),
      },
    });
  }
  return out;
}

/** Bypasses over the last 30 days are at least 1.5x the 30 days before, and at least 5. */
function risingTrend(bypasses: readonly Bypass[], nowMs: number): Finding[] {
  const boundary = nowMs - TREND_WINDOW_DAYS * DAY_MS;
  const recent = bypasses.filter((b) => inTrailingWindow(b.atMs, nowMs, TREND_WINDOW_DAYS));
  const previous = bypasses.filter((b) => inTrailingWindow(b.atMs, boundary, TREND_WINDOW_DAYS));
  if (recent.length < TREND_MIN_RECENT || recent.length < TREND_FACTOR * previous.length) return [];
  const gates = [...new Set([...recent, ...previous].map((b) => b.request.gate))];
  const byGate = gates
    .map((gate) => ({ gate, recent: recent.filter((b) => b.request.gate === gate).length, previous: previous.filter((b) => b.request.gate === gate).length }))
    .sort((a, b) => b.recent - a.recent || b.previous - a.previous || a.gate.localeCompare(b.gate));
  const top = byGate[0]?.gate ?? 'none';
  return [
    {
      id: findingId('rising_trend', null, nowMs),
      kind: 'rising_trend',
      gate: null,
      action: FIX,
      title: `Bypasses are rising: ${recent.length} in the last ${TREND_WINDOW_DAYS} days vs ${previous.length} before`,
      message: `${recent.length} bypasses in the last ${TREND_WINDOW_DAYS} days against ${previous.length} in the ${TREND_WINDOW_DAYS} days before: the gates are drifting out of step with how the teams work. Review the gate set and fix the gates that are bypassed most (starting with ${top}); some may be theatre.`,
      evidence: {
        kind: 'rising_trend',
        recent: { from: iso(boundary), to: iso(nowMs), count: recent.length },
        previous: { from: iso(boundary - TREND_WINDOW_DAYS * DAY_MS), to: iso(boundary), count: previous.length },
        factor: TREND_FACTOR,
        minRecent: TREND_MIN_RECENT,
        byGate,
        requestIds: ids(recent),
      },
    },
  ];
}

/**
 * Normalization-of-deviance findings, each one saying "fix the gate" with its evidence:
 * a dominating gate, a gate bypassed every week, a rising overall trend (see thresholds.ts).
 */
export function findingsReport(input: ReportInput): FindingsReport {
  const nowMs = input.now.getTime();
  const bypasses = bypassesUpTo(input.requests, nowMs);
  return { now: iso(nowMs), findings: [...dominance(bypasses, nowMs), ...everyWeek(bypasses, nowMs), ...risingTrend(bypasses, nowMs)] };
}
