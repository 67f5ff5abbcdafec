import type { DecisionTimeClass } from '../../shared/domain/reports';
import type { Digest } from '../../shared/domain/digest';
import { COLORS, SERIES, TEXT_ADVANCE, TEXT_HEIGHT, fit, type Scene, type Shape } from './chart-scene';

/** Width of every digest chart, CSS px: fits a 600 px email body with its padding. */
export const CHART_WIDTH = 560;
/** Gates drawn as their own series; the rest are summed as "other". */
const MAX_GATE_SERIES = 5;

/** The axis maximum: four gridlines at a round step (1, 2, 5, 10, 20, ...) covering `value`. */
function niceMax(value: number): number {
  const raw = Math.max(1, Math.ceil(value / 4));
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  return step * 4;
}

const text = (x: number, y: number, t: string, anchor: 'start' | 'middle' | 'end' = 'start', fill = COLORS.ink): Shape => ({ kind: 'text', x, y, text: t, anchor, fill });

/**
 * Bypasses per week, stacked by gate, for the four previous weeks and the digest's week (the
 * last bar, marked). The busiest gates over the five weeks get their own colour.
 */
export function weeklyBypassChart(digest: Digest): Scene {
  const weeks = [...digest.previousWeeks.map((w) => w.week), digest.week];
  const totals = (row: Digest['bypasses']['byGate'][number]) => [...row.previous, row.thisWeek];
  const active = digest.bypasses.byGate.filter((r) => totals(r).some((n) => n > 0));
  const ranked = [...active].sort((a, b) => totals(b).reduce((s, n) => s + n, 0) - totals(a).reduce((s, n) => s + n, 0) || a.key.localeCompare(b.key));
  const series = ranked.slice(0, MAX_GATE_SERIES).map((r, i) => ({ name: r.key, color: SERIES[i]!, values: totals(r) }));
  const rest = ranked.slice(MAX_GATE_SERIES);
  if (rest.length > 0) series.push({ name: `other (${rest.length})`, color: SERIES[SERIES.length - 1]!, values: weeks.map((_, i) => rest.reduce((s, r) => s + totals(r)[i]!, 0)) });
  const weekTotals = weeks.map((_, i) => series.reduce((s, ser) => s + ser.values[i]!, 0));

  const legendRows = Math.max(1, Math.ceil(series.length / 2));
  const left = 44;
  const top = 28;
  const plotH = 150;
  const plotW = CHART_WIDTH - left - 16;
  const height = top + plotH + 26 + legendRows * 18 + 8;
  const max = niceMax(Math.max(0, ...weekTotals));
  const shapes: Shape[] = [text(0, 4, `Bypasses per week (${digest.timeZone})`)];
  for (let i = 0; i <= 4; i++) {
    const value = (max / 4) * i;
    const y = top + plotH - (plotH * i) / 4;
    shapes.push({ kind: 'line', x1: left, y1: y, x2: left + plotW, y2: y, stroke: COLORS.grid });
    shapes.push(text(left - 6, y - TEXT_HEIGHT / 2, String(value), 'end', COLORS.muted));
  }
  const slot = plotW / weeks.length;
  const barW = Math.min(56, slot * 0.6);
  weeks.forEach((week, i) => {
    const x = left + slot * i + (slot - barW) / 2;
    let y = top + plotH;
    for (const ser of series) {
      const h = (plotH * ser.values[i]!) / max;
      if (h > 0) shapes.push({ kind: 'rect', x, y: y - h, w: barW, h, fill: ser.color });
      y -= h;
    }
    const current = i === weeks.length - 1;
    shapes.push(text(x + barW / 2, y - TEXT_HEIGHT - 3, String(weekTotals[i]), 'middle', current ? COLORS.highlight : COLORS.muted));
    shapes.push(text(x + barW / 2, top + plotH + 8, week.slice(5), 'middle', current ? COLORS.highlight : COLORS.muted));
    if (current) shapes.push({ kind: 'rect', x, y: top + plotH + 22, w: barW, h: 2, fill: COLORS.highlight });
  });
  const legendTop = top + plotH + 32;
  series.forEach((ser, i) => {
    const x = i % 2 === 0 ? 0 : CHART_WIDTH / 2;
    const y = legendTop + Math.floor(i / 2) * 18;
    shapes.push({ kind: 'rect', x, y: y + 1, w: 10, h: 10, fill: ser.color });
    shapes.push(text(x + 16, y, fit(ser.name, Math.floor((CHART_WIDTH / 2 - 24) / TEXT_ADVANCE))));
  });
  if (series.length === 0) shapes.push(text(left + plotW / 2, top + plotH / 2, 'no bypasses in these five weeks', 'middle', COLORS.muted));
  return { title: `Bypasses per week, ${weeks[0]} to ${digest.week}: ${weekTotals.join(', ')}`, width: CHART_WIDTH, height, background: COLORS.background, shapes };
}

function minutes(ms: number | null): string {
  if (ms === null) return '-';
  const m = Math.round(ms / 60_000);
  return m < 120 ? `${m}m` : `${Math.round(m / 60)}h`;
}

/**
 * Decision times as a share of their target (p50 and p90, incident: 15 minutes wall clock,
 * other: one business day), so both classes fit one axis with the target at 100%.
 */
export function decisionTimeChart(digest: Digest): Scene {
  const classes: Array<[string, DecisionTimeClass]> = [
    ['incident', digest.decisionTimes.week.incident],
    ['other', digest.decisionTimes.week.other],
  ];
  const bars = classes.flatMap(([name, c]) => [
    { label: `${name} p50`, value: c.p50Ms, target: c.targetMs },
    { label: `${name} p90`, value: c.p90Ms, target: c.targetMs },
  ]);
  const left = 13 * TEXT_ADVANCE;
  const right = 7 * TEXT_ADVANCE;
  const plotW = CHART_WIDTH - left - right;
  const top = 28;
  const rowH = 24;
  const scaleMax = 2; // 200% of the target
  const shapes: Shape[] = [text(0, 4, 'Decision time vs target (requests filed this week)')];
  const targetX = left + plotW / scaleMax;
  bars.forEach((bar, i) => {
    const y = top + i * rowH;
    shapes.push(text(left - 8, y + 4, bar.label, 'end', COLORS.muted));
    if (bar.value === null) {
      shapes.push(text(left + 4, y + 4, 'no decisions', 'start', COLORS.muted));
      return;
    }
    const share = bar.value / bar.target;
    const w = (plotW * Math.min(share, scaleMax)) / scaleMax;
    shapes.push({ kind: 'rect', x: left, y: y + 2, w: Math.max(w, 1), h: rowH - 8, fill: share <= 1 ? COLORS.good : COLORS.bad });
    shapes.push(text(left + Math.max(w, 1) + 6, y + 4, minutes(bar.value), 'start', COLORS.ink));
  });
  const bottom = top + bars.length * rowH;
  shapes.push({ kind: 'line', x1: targetX, y1: top, x2: targetX, y2: bottom, stroke: COLORS.target, dashed: true });
  shapes.push(text(targetX, bottom + 4, 'target', 'middle', COLORS.target));
  const title = bars.map((b) => `${b.label} ${minutes(b.value)} (target ${minutes(b.target)})`).join('; ');
  return { title: `Decision time vs target: ${title}`, width: CHART_WIDTH, height: bottom + 4 + TEXT_HEIGHT + 8, background: COLORS.background, shapes };
}

/** Each team's bypasses this quarter against its budget (100% line; over budget in red). */
export function budgetChart(digest: Digest): Scene {
  const teams = digest.budgets.teams;
  const left = Math.min(16, Math.max(6, ...teams.map((t) => t.team.length)) + 1) * TEXT_ADVANCE;
  const right = 9 * TEXT_ADVANCE;
  const plotW = CHART_WIDTH - left - right;
  const top = 28;
  const rowH = 22;
  const maxShare = Math.max(1.25, ...teams.map((t) => (t.budget ? t.used / t.budget : 0)));
  const scaleMax = Math.min(3, Math.ceil(maxShare * 4) / 4);
  const shapes: Shape[] = [text(0, 4, `Bypass budget used, ${digest.budgets.quarter}`)];
  teams.forEach((t, i) => {
    const y = top + i * rowH;
    shapes.push(text(left - 8, y + 3, fit(t.team, 16), 'end', COLORS.muted));
    const share = t.budget ? t.used / t.budget : t.used > 0 ? scaleMax : 0;
    const w = (plotW * Math.min(share, scaleMax)) / scaleMax;
    if (w > 0) shapes.push({ kind: 'rect', x: left, y: y + 2, w, h: rowH - 8, fill: t.overBudget ? COLORS.bad : share >= 0.8 ? COLORS.warn : COLORS.good });
    shapes.push(text(left + w + 6, y + 3, `${t.used}/${t.budget ?? '-'}`, 'start', t.overBudget ? COLORS.bad : COLORS.ink));
  });
  const bottom = top + Math.max(1, teams.length) * rowH;
  const fullX = left + plotW / scaleMax;
  shapes.push({ kind: 'line', x1: fullX, y1: top - 4, x2: fullX, y2: bottom, stroke: COLORS.target, dashed: true });
  shapes.push(text(fullX, bottom + 2, '100%', 'middle', COLORS.target));
  return {
    title: `Bypass budget used in ${digest.budgets.quarter}: ${teams.map((t) => `${t.team} ${t.used} of ${t.budget ?? 'no budget'}`).join(', ')}`,
    width: CHART_WIDTH,
    height: bottom + TEXT_HEIGHT + 10,
    background: COLORS.background,
    shapes,
  };
}

/** The digest's charts, in the order the email shows them. */
export function digestCharts(digest: Digest): Array<{ id: string; scene: Scene }> {
  return [
    { id: 'weekly-bypasses', scene: weeklyBypassChart(digest) },
    { id: 'decision-times', scene: decisionTimeChart(digest) },
    { id: 'budgets', scene: budgetChart(digest) },
  ];
}
