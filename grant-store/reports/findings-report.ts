import type { Finding, FindingsReport } from '../../shared/domain/reports';
import { fraction, inTrailingWindow, iso, isoWeekLabel, isoWeekStart } from './calendar';
import { type CountedBypass, bypassIds, bypassesUpTo, total } from './bypasses';
import type { BypassSample, ReportInput } from './report-input';
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

/** The trailing window (nowMs - days, nowMs] as the half-open [from, to) bypassIds takes (times are whole ms). */
const trailing = (nowMs: number, days: number) => ({ from: nowMs - days * DAY_MS + 1, to: nowMs + 1 });

/** One gate takes more than half of all bypasses over 30 days, with at least 3 of them. */
function dominance(bypasses: readonly CountedBypass[], samples: readonly BypassSample[], nowMs: number): Finding[] {
  const recent = bypasses.filter((b) => inTrailingWindow(b.atMs, nowMs, DOMINANCE_WINDOW_DAYS));
  const all = total(recent);
  const gates = [...new Set(recent.map((b) => b.gate))].sort();
  const window = trailing(nowMs, DOMINANCE_WINDOW_DAYS);
  const out: Finding[] = [];
  for (const gate of gates) {
    const mine = total(recent.filter((b) => b.gate === gate));
    const share = fraction(mine, all) ?? 0;
    if (mine < DOMINANCE_MIN_BYPASSES || mine / all <= DOMINANCE_SHARE) continue;
    out.push({
      id: findingId('gate_dominates', gate, nowMs),
      kind: 'gate_dominates',
      gate,
      action: FIX,
      title: `Gate ${gate} takes ${percent(share)} of all bypasses`,
      message: `Gate ${gate} was bypassed ${mine} times out of ${all} bypasses in the last ${DOMINANCE_WINDOW_DAYS} days (${percent(share)}). A gate that dominates the bypass log is mis-designed (too slow, too flaky, or testing the wrong thing): fix the gate, do not normalize the bypass.`,
      evidence: {
        kind: 'gate_dominates',
        window: { from: iso(nowMs - DOMINANCE_WINDOW_DAYS * DAY_MS), to: iso(nowMs) },
        gateBypasses: mine,
        allBypasses: all,
        share,
        thresholdShare: DOMINANCE_SHARE,
        minBypasses: DOMINANCE_MIN_BYPASSES,
        requestIds: bypassIds(samples, window.from, window.to, nowMs, (b) => b.gate === gate),
      },
    });
  }
  return out;
}

/** A gate with at least one bypass in each of the last 4 complete ISO weeks. */
function everyWeek(bypasses: readonly CountedBypass[], samples: readonly BypassSample[], nowMs: number): Finding[] {
  const currentWeek = isoWeekStart(nowMs);
  const weeks = Array.from({ length: EVERY_WEEK_WEEKS }, (_, i) => {
    const from = currentWeek - (EVERY_WEEK_WEEKS - i) * WEEK_MS;
    return { from, to: from + WEEK_MS };
  });
  const gates = [...new Set(bypasses.map((b) => b.gate))].sort();
  const out: Finding[] = [];
  for (const gate of gates) {
    const perWeek = weeks.map((w) => ({ ...w, count: total(bypasses.filter((b) => b.gate === gate && b.atMs >= w.from && b.atMs < w.to)) }));
    if (perWeek.some((w) => w.count === 0)) continue;
    const all = perWeek.reduce((n, w) => n + w.count, 0);
    const ofGate = (b: BypassSample) => b.gate === gate;
    out.push({
      id: findingId('gate_bypassed_every_week', gate, nowMs),
      kind: 'gate_bypassed_every_week',
      gate,
      action: FIX,
      title: `Gate ${gate} is bypassed every week`,
      message: `Gate ${gate} was bypassed in each of the last ${EVERY_WEEK_WEEKS} weeks (${perWeek.map((w) => w.count).join(', ')}; ${all} in all). Breaking the glass has become the routine way past this gate: fix the gate, do not normalize the bypass.`,
      evidence: {
        kind: 'gate_bypassed_every_week',
        weeks: perWeek.map((w) => ({ week: isoWeekLabel(w.from), from: iso(w.from), to: iso(w.to), count: w.count, requestIds: bypassIds(samples, w.from, w.to, nowMs, ofGate) })),
        requestIds: bypassIds(samples, weeks[0]!.from, weeks[weeks.length - 1]!.to, nowMs, ofGate),
      },
    });
  }
  return out;
}

/** Bypasses over the last 30 days are at least 1.5x the 30 days before, and at least 5. */
function risingTrend(bypasses: readonly CountedBypass[], samples: readonly BypassSample[], nowMs: number): Finding[] {
  const boundary = nowMs - TREND_WINDOW_DAYS * DAY_MS;
  const recentBypasses = bypasses.filter((b) => inTrailingWindow(b.atMs, nowMs, TREND_WINDOW_DAYS));
  const previousBypasses = bypasses.filter((b) => inTrailingWindow(b.atMs, boundary, TREND_WINDOW_DAYS));
  const recent = total(recentBypasses);
  const previous = total(previousBypasses);
  if (recent < TREND_MIN_RECENT || recent < TREND_FACTOR * previous) return [];
  const gates = [...new Set([...recentBypasses, ...previousBypasses].map((b) => b.gate))];
  const window = trailing(nowMs, TREND_WINDOW_DAYS);
  const byGate = gates
    .map((gate) => ({ gate, recent: total(recentBypasses.filter((b) => b.gate === gate)), previous: total(previousBypasses.filter((b) => b.gate === gate)) }))
    .sort((a, b) => b.recent - a.recent || b.previous - a.previous || a.gate.localeCompare(b.gate));
  const top = byGate[0]?.gate ?? 'none';
  return [
    {
      id: findingId('rising_trend', null, nowMs),
      kind: 'rising_trend',
      gate: null,
      action: FIX,
      title: `Bypasses are rising: ${recent} in the last ${TREND_WINDOW_DAYS} days vs ${previous} before`,
      message: `${recent} bypasses in the last ${TREND_WINDOW_DAYS} days against ${previous} in the ${TREND_WINDOW_DAYS} days before: the gates are drifting out of step with how the teams work. Review the gate set and fix the gates that are bypassed most (starting with ${top}); some may be theatre.`,
      evidence: {
        kind: 'rising_trend',
        recent: { from: iso(boundary), to: iso(nowMs), count: recent },
        previous: { from: iso(boundary - TREND_WINDOW_DAYS * DAY_MS), to: iso(boundary), count: previous },
        factor: TREND_FACTOR,
        minRecent: TREND_MIN_RECENT,
        byGate,
        requestIds: bypassIds(samples, window.from, window.to, nowMs),
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
  const bypasses = bypassesUpTo(input, nowMs);
  const samples = input.bypassSamples;
  return { now: iso(nowMs), findings: [...dominance(bypasses, samples, nowMs), ...everyWeek(bypasses, samples, nowMs), ...risingTrend(bypasses, samples, nowMs)] };
}
